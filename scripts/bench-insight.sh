#!/usr/bin/env bash
# Deal scores and restock outlooks at 10,000 products with a year of history
# each, against the release binary (issue 20): full recompute time, the
# per-change update, dashboard SSR with the badges. loadgen/src/bin/insight.rs.
#   scripts/bench-insight.sh          (DW_INSIGHT_PRODUCTS=10000)
set -euo pipefail
exec "$(dirname "$0")/loadgen.sh" insight
