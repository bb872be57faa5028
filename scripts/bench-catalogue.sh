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
exec "$(dirname "$0")/loadgen.sh" catalogue
