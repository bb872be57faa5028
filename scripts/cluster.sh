#!/usr/bin/env bash
# Runs Dropwatch as several instances on one SurrealDB server, on this machine:
#
#   scripts/cluster.sh 3            a SurrealDB server (its data in data/cluster/db)
#                                   and 3 instances on ports 3000, 3001, 3002
#   scripts/cluster.sh 3 --memory   the same with the server's data in memory
#
# The instances share the server and one secret key (data/cluster/secret.key,
# made on first start); the first also runs the built-in demo store, which
# they all poll. Sign in as "admin" with the password in
# data/cluster/admin-password. Ctrl-C stops everything.
#
# DROPWATCH_BIN names a built `dropwatch` to run instead of building the
# release one; DROPWATCH_CLUSTER_PORT and DROPWATCH_CLUSTER_DB_PORT move the
# first instance's port (3000) and the server's (8000).
set -euo pipefail
cd "$(dirname "$0")/.."

n="${1:-3}"
[[ "$n" =~ ^[1-9][0-9]?$ ]] || { echo "usage: scripts/cluster.sh N [--memory] (N from 1 to 99)" >&2; exit 2; }
store=file
[[ "${2:-}" == "--memory" ]] && store=memory
base="${DROPWATCH_CLUSTER_PORT:-3000}"
db_port="${DROPWATCH_CLUSTER_DB_PORT:-8000}"
dir=data/cluster
mkdir -p "$dir"

scripts/setup.sh --cluster
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/dropwatch/target}"
bin="${DROPWATCH_BIN:-}"
if [ -z "$bin" ]; then
  echo "==> building Dropwatch, release (the first time about 26 minutes on 2 cores)"
  RUSTFLAGS="--cfg erase_components" cargo leptos build --release
  bin="$CARGO_TARGET_DIR/release/dropwatch"
  export LEPTOS_ENV=PROD
fi
export LEPTOS_SITE_ROOT="$PWD/target/site"

# Secrets made once and kept beside the data (not on command lines).
secret() { [ -s "$1" ] || (umask 077; head -c "$2" /dev/urandom | base64 | tr -d '\n' >"$1"); cat "$1"; }
export DROPWATCH_SECRET_KEY="$(secret "$dir/secret.key" 32)"
export DROPWATCH_ADMIN_PASSWORD="$(secret "$dir/admin-password" 15)"
export DROPWATCH_DB_USER=root DROPWATCH_DB_PASS="$(secret "$dir/db-password" 15)"

pids=()
stop() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

wait_port() { # PORT PID WHAT LOG
  for _ in $(seq 1 240); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || { echo "$3 exited:"; tail -n 20 "$4"; exit 1; }
    sleep 0.5
  done
  echo "$3 did not start (log: $4)"; exit 1
}

case "$store" in
  memory) where=memory ;;
  file) where="surrealkv://$PWD/$dir/db" ;;
esac
echo "==> SurrealDB server on 127.0.0.1:$db_port ($store)"
surreal start --user root --pass "$DROPWATCH_DB_PASS" --log warn \
  --bind "127.0.0.1:$db_port" "$where" >"$dir/surreal.log" 2>&1 &
pids+=($!)
wait_port "$db_port" "$!" "surreal" "$dir/surreal.log"

for i in $(seq 1 "$n"); do
  port=$((base + i - 1))
  extra=()
  # The demo store runs in the first instance; the others may reach it.
  [ "$i" -gt 1 ] && extra+=(--no-demo --trust-url "http://127.0.0.1:$base/demo")
  RUST_LOG="${RUST_LOG:-info}" "$bin" serve --addr "127.0.0.1:$port" \
    --db "ws://127.0.0.1:$db_port" "${extra[@]}" >"$dir/instance-$i.log" 2>&1 &
  pids+=($!)
  wait_port "$port" "$!" "instance $i" "$dir/instance-$i.log"
  echo "==> instance $i: http://127.0.0.1:$port/  (log: $dir/instance-$i.log)"
done
echo "==> sign in as admin with the password in $dir/admin-password; /status lists the instances"
echo "==> Ctrl-C stops the instances and the server"
wait -n "${pids[@]}" || true
echo "==> a process stopped; stopping the rest"
