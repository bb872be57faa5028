#!/usr/bin/env bash
# Repricing figures (monitor/benches/reprice_push.rs) against the fake
# Shopify Admin API on loopback with the Standard plan's bucket (1,000
# points, 100/s): source price change -> proposal stored (median, p99, max),
# and pushes per second sustained from an empty bucket, one variant per call
# and grouped by product in a bulk approval.
#
# Runs on the debug build the tests use (the same four packages and flags as
# scripts/test.sh, so nothing is built twice); `--release` builds and runs it
# optimised instead (about 25 minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
if [ "${1:-}" = "--release" ]; then
  cargo bench -p model -p monitor -p app -p server --lib --bins --benches -- reprice_push 2>&1 | grep -E '^reprice|error'
else
  cargo test -p model -p monitor -p app -p server --lib --bins --tests --benches -- reprice_push 2>&1 | grep -E '^reprice|error'
fi
