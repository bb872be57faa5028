#!/usr/bin/env bash
# 1,000 live WebSocket clients plus 200 HTTP requests a second for 60 s
# against the release binary (issue 22): HTTP p50/p99 and errors, whether
# every client got every event, RSS. Target: p99 < 100 ms.
#   scripts/bench-load.sh   (DW_LOAD_CLIENTS, DW_LOAD_RPS, DW_LOAD_SECS)
set -euo pipefail
exec "$(dirname "$0")/loadgen.sh" load
