#!/usr/bin/env bash
# Alert latency: 100 price drops in the demo store (loopback), each polled,
# matched by a rule, queued and sent to a local fake Discord webhook; prints
# the median, p99 and max from the change being detected to the webhook
# receiving it (monitor/benches/alert_latency.rs). Target: within 1 s.
#
# Runs on the debug build the tests use (the same four packages and flags as
# scripts/test.sh, so nothing is built twice); `--release` builds and runs it
# optimised instead (about 25 minutes the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components"
if [ "${1:-}" = "--release" ]; then
  cargo bench -p model -p monitor -p app -p server --lib --bins --benches -- alert_latency 2>&1 | grep -E '^alert latency|error'
else
  cargo test -p model -p monitor -p app -p server --lib --bins --tests --benches -- alert_latency 2>&1 | grep -E '^alert latency|error'
fi
