#!/usr/bin/env bash
# Sets up and runs every test: unit and integration tests of every crate
# (engine against the demo store over real HTTP, real SurrealDB, embedded and
# a `surreal` server for several instances), then the end-to-end tests in
# Debian's Chromium against a real running server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests --cluster
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"

echo "==> building the site (debug)"
cargo leptos build

echo "==> cargo test"
# The same RUSTFLAGS as cargo-leptos's debug builds, so both share one build
# of the dependencies (SurrealDB alone takes ~20 minutes on 2 cores).
# Not `--workspace`: that would build the UI crate with both its server and
# its browser features at once; the wasm entry crate is cargo-leptos's job.
# (--lib --bins --tests: there are no doc tests, and their empty runs would
# end the output with "0 passed".)
results="$(mktemp -t dropwatch-tests.XXXXXX)"
# LEPTOS_OUTPUT_NAME too: Leptos reads it at compile time, and the server's
# integration tests build the same `dropwatch` binary the end-to-end tests run.
LEPTOS_OUTPUT_NAME=dropwatch RUSTFLAGS="--cfg erase_components" cargo test -p model -p monitor -p app -p server \
  --lib --bins --tests 2>&1 | tee "$results"
rust_passed=$(grep -o '[0-9]* passed' "$results" | awk '{s+=$1} END {print s+0}')

port="${E2E_PORT:-3300}"
log="$(mktemp -t dropwatch-e2e.XXXXXX.log)"
echo "==> starting Dropwatch on 127.0.0.1:$port (log: $log)"
LEPTOS_SITE_ROOT="$PWD/target/site" "$CARGO_TARGET_DIR/debug/dropwatch" serve \
  --addr "127.0.0.1:$port" --db mem:// --demo-interval 1s --demo-change-every off \
  --demo-products 600 --admin-password e2e-admin-password \
  --notify-endpoint "discord=http://127.0.0.1:$((port + 1))/api/webhooks/" \
  --trust-url "http://127.0.0.1:$((port + 2))/" \
  >"$log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  kill -0 $server 2>/dev/null || { echo "Dropwatch exited:"; cat "$log"; exit 1; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null || { echo "Dropwatch did not start:"; cat "$log"; exit 1; }

echo "==> end-to-end tests (Playwright, /usr/bin/chromium)"
(cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test) 2>&1 | tee -a "$results" \
  || { echo "--- server log ---"; tail -n 50 "$log"; exit 1; }
e2e_passed=$(grep -o '^ *[0-9]* passed (' "$results" | grep -o '[0-9]*' | tail -n 1)
echo "tests: $((rust_passed + ${e2e_passed:-0})) passed, 0 failed"
