#!/usr/bin/env bash
# `make load`: the realistic mix of scripts/bench/mix.py (frontends, departments with
# Idempotency-Key, staff steps, auditors' reports) for a fixed time (BENCH_MIX_SECONDS, 300 by
# default) against a release build serving BENCH_HOUSEHOLDS (100,000) demo households, on SQLite
# and on PostgreSQL (BENCH_BACKENDS). Prints each endpoint's throughput, p50, p99 and errors, and
# the server's resident memory every 30 s, after the first minute, at the end and at its peak. Fails when a
# request failed or memory was not flat.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${BENCH_HOUSEHOLDS:-100000}
SECONDS_RUN=${BENCH_MIX_SECONDS:-300}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_URL=${JIEKUN_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/jiekun_bench}
PORT=${BENCH_PORT:-18095}
WORK=target/bench
BIN=target/release/jiekun

cargo build --release -q -p jiekun-cli --bin jiekun
mkdir -p "$WORK"
export JIEKUN_JWT_SECRET=bench-secret-bench-secret-bench-secret-42
export JIEKUN_DATA_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
export JIEKUN_LOG=warn

run_backend() {
  local backend=$1 url=$2
  echo "== $backend: $N households, the mix for $SECONDS_RUN s"
  export JIEKUN_DATABASE_URL=$url
  "$BIN" migrate >/dev/null
  "$BIN" demo --households "$N" | tail -1
  # Metrics on, as in production, and never scraped: the recorder must drain itself.
  JIEKUN_METRICS_BIND="127.0.0.1:$((PORT + 1))" \
    "$BIN" serve --bind "127.0.0.1:$PORT" >"$WORK/mix-serve-$backend.log" 2>&1 &
  local pid=$!
  trap 'kill $pid 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  local status=0
  python3 scripts/bench/mix.py "$PORT" "$pid" "$SECONDS_RUN" || status=$?
  kill $pid; wait $pid 2>/dev/null || true
  return $status
}

failed=0
for b in $BACKENDS; do
  case $b in
    sqlite)
      rm -f "$WORK"/mix.db*
      run_backend sqlite "sqlite://$WORK/mix.db" || failed=1 ;;
    postgres)
      base=${PG_URL%/*}
      db=${PG_URL##*/}_mix
      psql "$base/postgres" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" -c "CREATE DATABASE \"$db\"" >/dev/null
      run_backend postgres "$base/$db" || failed=1 ;;
  esac
done
exit $failed
