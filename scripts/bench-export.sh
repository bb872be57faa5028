#!/usr/bin/env bash
# Peak memory of exports ("Moving in and out"): 10,000 demo products with a
# year of price and stock changes polled in, then the products, history and
# events exports downloaded as CSV (products also as JSON) against the
# release binary: bytes, rows, time, and the server's RSS before and at its
# peak during each download. Streamed means the peak stays flat while the
# files grow.
#   scripts/bench-export.sh   (DW_EXPORT_PRODUCTS, DW_EXPORT_ROUNDS)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
echo "==> building the release binary"
cargo leptos build --release 2>&1 | tail -n 2
export DW_BIN="$CARGO_TARGET_DIR/release/dropwatch" LEPTOS_SITE_ROOT="$PWD/target/site"
echo "==> building the load generator (release, a few minutes the first time)"
cargo build --release -p loadgen --bin export_rss 2>&1 | tail -n 1
"$CARGO_TARGET_DIR/release/export_rss"
