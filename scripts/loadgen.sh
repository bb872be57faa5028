#!/usr/bin/env bash
# Builds the release binary and one load generator of loadgen/src/bin, then
# runs it against that binary: what every scripts/bench-*.sh against the real
# server does.   scripts/loadgen.sh NAME   (e.g. pages, catalogue, live_storm)
set -euo pipefail
cd "$(dirname "$0")/.."
name="$1"
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
echo "==> building the release binary"
cargo leptos build --release 2>&1 | tail -n 2
export DW_BIN="$CARGO_TARGET_DIR/release/dropwatch" LEPTOS_SITE_ROOT="$PWD/target/site"
# Many sockets at once (bench-load's 1,000 clients).
ulimit -n 20000 2>/dev/null || true
echo "==> building the load generator (release, a few minutes the first time)"
cargo build --release -p loadgen --bin "$name" 2>&1 | tail -n 1
"$CARGO_TARGET_DIR/release/$name"
