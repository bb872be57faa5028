#!/usr/bin/env bash
# 40 product-page sources checked every second for MINUTES (default 30)
# against the release binary (issue 22): RSS, CPU per check and the latency
# of the sources list, a product page and the dashboard every minute, and
# whether they stay flat (last 10 minutes vs minutes 10-20, within 10 %).
#   scripts/bench-soak.sh [MINUTES]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
echo "==> building the release binary"
cargo leptos build --release 2>&1 | tail -n 2
export DW_BIN="$CARGO_TARGET_DIR/release/dropwatch" LEPTOS_SITE_ROOT="$PWD/target/site"
export DW_SOAK_MINUTES="${1:-30}"
echo "==> building the load generator (release, a few minutes the first time)"
cargo build --release -p loadgen --bin soak 2>&1 | tail -n 1
"$CARGO_TARGET_DIR/release/soak"
