#!/usr/bin/env bash
# A backlog storm (issue 23): 100 live clients ask for all of 25,000 events
# at once (half never read); prints change-detection latency and /healthz
# time before and during, and the server's RSS. Targets: within 2x of
# normal, RSS under 150 MB. Release build (about 40 minutes the first time).
#   scripts/bench-storm.sh      (DW_STORM_CLIENTS, DW_STORM_EVENTS change the load)
set -euo pipefail
exec "$(dirname "$0")/loadgen.sh" live_storm
