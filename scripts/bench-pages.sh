#!/usr/bin/env bash
# CPU time per product-page check (monitor/benches/page_check.rs): 1,000 demo
# product pages, each a "page" source, checked on loopback (fetch + extract +
# diff, and the write when a size was repriced). Target: <= 2 ms per check.
#
# Runs on the debug build the tests use (the same four packages and flags as
# scripts/test.sh, so nothing is built twice); `--release` builds and runs it
# optimised instead (about 25 minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
if [ "${1:-}" = "--release" ]; then
  cargo bench -p model -p monitor -p app -p server --lib --bins --benches -- page_check 2>&1 | grep -E '^page check|error'
else
  cargo test -p model -p monitor -p app -p server --lib --bins --tests --benches -- page_check 2>&1 | grep -E '^page check|error'
fi
