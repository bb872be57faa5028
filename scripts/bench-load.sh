#!/usr/bin/env bash
# 1,000 live WebSocket clients plus 200 HTTP requests a second for 60 s
# against the release binary (issue 22): HTTP p50/p99 and errors, whether
# every client got every event, RSS. Target: p99 < 100 ms.
#   scripts/bench-load.sh   (DW_LOAD_CLIENTS, DW_LOAD_RPS, DW_LOAD_SECS)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
echo "==> building the release binary"
cargo leptos build --release 2>&1 | tail -n 2
export DW_BIN="$CARGO_TARGET_DIR/release/dropwatch" LEPTOS_SITE_ROOT="$PWD/target/site"
ulimit -n 20000 2>/dev/null || true
echo "==> building the load generator (release, a few minutes the first time)"
cargo build --release -p loadgen --bin load 2>&1 | tail -n 1
"$CARGO_TARGET_DIR/release/load"
