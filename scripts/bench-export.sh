#!/usr/bin/env bash
# Peak memory of exports ("Moving in and out"): 10,000 demo products with a
# year of price and stock changes polled in, then the products, history and
# events exports downloaded as CSV (products also as JSON) against the
# release binary: bytes, rows, time, and the server's RSS before and at its
# peak during each download. Streamed means the peak stays flat while the
# files grow.
#   scripts/bench-export.sh   (DW_EXPORT_PRODUCTS, DW_EXPORT_ROUNDS)
set -euo pipefail
exec "$(dirname "$0")/loadgen.sh" export_rss
