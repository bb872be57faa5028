#!/usr/bin/env bash
# A 10,000-product catalogue and the server's memory, against the release
# binary on the default on-disk database (issue 17): RSS idle with the
# default demo (target 40 MB), RSS with 10,000 products (65,000 sizes) and
# 100 live clients after 2 minutes of polling (target 80 MB), CPU per poll
# cycle on a quiet catalogue and with 1 % of the sizes changing per cycle
# (target 0.3 s). loadgen/src/bin/catalogue.rs says how each is measured.
#   scripts/bench-catalogue.sh   (DW_CAT_PRODUCTS, DW_CAT_CLIENTS, DW_CAT_SECS; ~6 min)
# The in-process variant (first import, steady and unchanged cycles on
# mem:// and a file): cargo bench -p monitor --bench poll_cycle.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
echo "==> building the release binary"
cargo leptos build --release 2>&1 | tail -n 2
export DW_BIN="$CARGO_TARGET_DIR/release/dropwatch" LEPTOS_SITE_ROOT="$PWD/target/site"
echo "==> building the load generator (release, a few minutes the first time)"
cargo build --release -p loadgen --bin catalogue 2>&1 | tail -n 1
"$CARGO_TARGET_DIR/release/catalogue"
