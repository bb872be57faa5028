#!/usr/bin/env bash
# Installs what Dropwatch needs to build and test, and nothing that is already
# there. Safe to run again. Nothing is downloaded from GitHub: cargo-leptos
# finds wasm-bindgen and wasm-opt on PATH, and CSS is plain CSS.
#
#   scripts/setup.sh            tools to build and run
#   scripts/setup.sh --tests    also Chromium and the end2end npm packages
#   scripts/setup.sh --cluster  also the SurrealDB server (`surreal`) that
#                               several Dropwatch instances share
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=false
with_cluster=false
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=true ;;
    --cluster) with_cluster=true ;;
    *) echo "unknown option $arg (--tests, --cluster)" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32 target"
  rustup target add wasm32-unknown-unknown
fi

if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (about 17 minutes on 2 cores)"
  cargo install cargo-leptos --version 0.3.10 --locked
fi

# wasm-bindgen-cli must be exactly the version of the wasm-bindgen crate in Cargo.lock.
wb=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wb"; then
  say "installing wasm-bindgen-cli $wb (about 3 minutes)"
  # Not --locked: its lockfile names a crate version the registry lacks.
  cargo install wasm-bindgen-cli --version "=$wb"
fi

if ! wasm-opt --version 2>/dev/null | grep -q 'version 1[3-9][0-9]'; then
  say "installing wasm-opt (npm binaryen@132, under a minute)"
  npm install -g binaryen@132
fi

if $with_tests; then
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium from Debian"
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium chromium-driver
  fi
  if [ ! -d end2end/node_modules/@playwright/test ]; then
    say "installing the end2end npm packages"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
  fi
fi
if $with_cluster && ! surreal version 2>/dev/null | grep -q '^3\.3\.5 '; then
  say "building the SurrealDB server 3.3.5 from crates.io (memory and SurrealKV storage only)"
  # crates.io has the server as a library: tools/surreal is its upstream
  # main. Built where an interrupted install resumes.
  cargo install --path tools/surreal --locked \
    --target-dir "${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}/surreal-server"
fi

say "set-up complete"
