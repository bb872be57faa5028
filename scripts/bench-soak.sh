#!/usr/bin/env bash
# 40 product-page sources checked every second for MINUTES (default 30)
# against the release binary (issue 22): RSS, CPU per check and the latency
# of the sources list, a product page and the dashboard every minute, and
# whether they stay flat (last 10 minutes vs minutes 10-20, within 10 %).
#   scripts/bench-soak.sh [MINUTES]
set -euo pipefail
export DW_SOAK_MINUTES="${1:-30}"
exec "$(dirname "$0")/loadgen.sh" soak
