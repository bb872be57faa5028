#!/usr/bin/env bash
# The dashboard's figures, on a release build:
#   1. the wasm bundle's size, raw and brotli-compressed;
#   2. server-side render time of the dashboard with 10,000 products;
#   3. change -> DOM latency over 100 changes (end2end/bench/ui_latency.spec.ts);
#   4. source change -> repricing proposal on screen (end2end/bench/reprice_latency.spec.ts).
# Usage: scripts/bench-ui.sh      (needs scripts/setup.sh --tests first)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
export LEPTOS_SITE_ROOT="$PWD/target/site" LEPTOS_ENV=PROD
# Type-erased views (the flag cargo-leptos also uses for debug builds) on
# both sides: server and browser must agree for hydration, and erasure makes
# the wasm bundle about a sixth smaller (423 -> 352 KB brotli).
RUSTFLAGS="--cfg erase_components" cargo leptos build --release
bin="$CARGO_TARGET_DIR/release/dropwatch"
port="${BENCH_PORT:-3310}"

wasm=target/site/pkg/dropwatch.wasm
node -e '
  const fs = require("fs"), zlib = require("zlib");
  const raw = fs.readFileSync(process.argv[1]);
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } });
  console.log(`wasm bundle: ${(raw.length / 1024).toFixed(0)} KB raw, ${(br.length / 1024).toFixed(0)} KB brotli`);
' "$wasm"

serve() { # products
  "$bin" serve --addr "127.0.0.1:$port" --db mem:// --demo-products "$1" \
    --demo-interval 1s --demo-change-every off >/tmp/dropwatch-bench-ui.log 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  until curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null | grep -q "\"products\":$1"; do
    kill -0 $server 2>/dev/null || { cat /tmp/dropwatch-bench-ui.log; exit 1; }
    sleep 0.5
  done
}

serve 10000
for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$port/"; done
times=$(for _ in $(seq 1 20); do curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/"; done | sort -n)
echo "dashboard SSR with 10000 products: median $(echo "$times" | sed -n 10p) s, max $(echo "$times" | tail -n1) s (20 requests)"
kill $server; wait $server 2>/dev/null || true

serve 200
(cd end2end && BASE_URL="http://127.0.0.1:$port" npx playwright test --config playwright.bench.config.ts --reporter=line) \
  | grep -E 'ui latency|reprice latency'
