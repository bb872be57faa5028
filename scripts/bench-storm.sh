#!/usr/bin/env bash
# A backlog storm (issue 23): 100 live clients ask for all of 25,000 events
# at once (half never read); prints change-detection latency and /healthz
# time before and during, and the server's RSS. Targets: within 2x of
# normal, RSS under 150 MB. Release build (about 40 minutes the first time).
#   scripts/bench-storm.sh      (DW_STORM_CLIENTS, DW_STORM_EVENTS change the load)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
echo "==> building the release binary"
cargo leptos build --release 2>&1 | tail -n 2
export DW_BIN="$CARGO_TARGET_DIR/release/dropwatch" LEPTOS_SITE_ROOT="$PWD/target/site"
echo "==> building the load generator (release, a few minutes the first time)"
cargo build --release -p loadgen --bin live_storm 2>&1 | tail -n 1
"$CARGO_TARGET_DIR/release/live_storm"
