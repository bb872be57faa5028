#!/usr/bin/env bash
# Several instances on one SurrealDB server (issue 18): events per second and
# change-to-browser latency (p50/p99) with one instance and with three, on
# the same workload of six loopback shops; latency is split into clients of
# the instance that polled the shop and clients of another one (target: that
# cross-instance p99 within 500 ms). Release build (about 40 minutes the
# first time) and the `surreal` server (about 50 minutes the first time).
#   scripts/bench-cluster.sh    (DW_CLUSTER_SHOPS, _PRODUCTS, _CHANGES, _SECS change the load)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --cluster
exec scripts/loadgen.sh cluster
