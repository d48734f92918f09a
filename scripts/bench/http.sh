#!/usr/bin/env bash
# Load test over HTTP: get-by-id, the household list filters and the workflow views (queue,
# reviews due), with 64 connections from wrk on this same machine, and workflow steps, against a release build serving 100,000 synthetic households, on SQLite and
# on PostgreSQL; then one what-if simulation over all of them. Each backend first serves the bare
# stack (crates/cli/examples/bare_stack.rs: actix-web + diesel + r2d2 reading and inserting one
# row of a table of as many rows, nothing else) under the same load, and get-by-id is printed as
# a ratio to it; the server's peak RSS closes each backend's report. Set BENCH_HOUSEHOLDS, BENCH_DURATION, BENCH_BACKENDS ("sqlite postgres") or
# JIEKUN_BENCH_POSTGRES_URL to change what runs. Both stacks reach PostgreSQL on this same host
# without TLS (BENCH_POSTGRES_PARAMS, default sslmode=disable), as docs/scale.md advises for a
# database on the same machine; set it empty to measure them over TLS.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${BENCH_HOUSEHOLDS:-100000}
DURATION=${BENCH_DURATION:-20s}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_URL=${JIEKUN_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/jiekun_bench}
PG_PARAMS=${BENCH_POSTGRES_PARAMS-sslmode=disable}
PORT=${BENCH_PORT:-18080}
WORK=target/bench
BIN=target/release/jiekun

if ! command -v wrk >/dev/null; then
  echo "wrk is needed (Debian: apt-get install wrk)" >&2
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get install -y wrk >/dev/null; else exit 1; fi
fi
cargo build --release -q -p jiekun-cli --bin jiekun --example bare_stack
BARE=target/release/examples/bare_stack
mkdir -p "$WORK"
export JIEKUN_JWT_SECRET=bench-secret-bench-secret-bench-secret-42
export JIEKUN_DATA_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
export JIEKUN_LOG=warn

# Requests per second from wrk's output.
rps() { grep -E "^Requests/sec" | awk '{print $2}'; }

# The bare stack on `url`: get-by-id over $N rows with the same wrk script; prints and keeps
# its requests per second in BARE_RPS.
bare_baseline() {
  local backend=$1 url=$2 out
  "$BARE" "$url" "127.0.0.1:$((PORT + 1))" "$N" "$WORK/bare-ids-$backend.txt" >"$WORK/bare-$backend.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$((PORT + 1))/api/v1/households/x" && break; sleep 0.2; done
  out=$(TOKEN=none IDS_FILE=$WORK/bare-ids-$backend.txt wrk -t2 -c64 -d"$DURATION" --latency -s scripts/bench/get_by_id.lua "http://127.0.0.1:$((PORT + 1))")
  kill $pid; wait $pid 2>/dev/null || true
  BARE_RPS=$(echo "$out" | rps)
  echo "-- bare stack get-by-id ($backend, baseline): $BARE_RPS req/s"
}

run_backend() {
  local backend=$1 url=$2
  echo "== $backend: $N households ($url)"
  bare_baseline "$backend" "$3"
  export JIEKUN_DATABASE_URL=$url
  "$BIN" migrate >/dev/null
  "$BIN" demo --households "$N" | tail -1
  "$BIN" serve --bind "127.0.0.1:$PORT" >"$WORK/serve-$backend.log" 2>&1 &
  local pid=$!
  trap 'kill $pid 2>/dev/null || true' RETURN
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done
  local token
  token=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/token" -H 'content-type: application/json' \
    -d '{"username": "xixiang.admin", "password": "Jiekun-demo-2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  python3 - "$PORT" "$token" "$WORK/ids-$backend.txt" <<'PY'
import json, sys, urllib.request
port, token, out = sys.argv[1:4]
ids, cursor = [], None
while len(ids) < 20000:
    url = f"http://127.0.0.1:{port}/api/v1/households?limit=200" + (f"&cursor={cursor}" if cursor else "")
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    page = json.load(urllib.request.urlopen(req))
    ids += [h["id"] for h in page["items"]]
    cursor = page.get("next_cursor")
    if not cursor:
        break
open(out, "w").write("\n".join(ids) + "\n")
print(f"{len(ids)} household ids sampled")
PY
  export TOKEN=$token IDS_FILE=$WORK/ids-$backend.txt
  echo "-- get-by-id ($backend)"
  local out
  out=$(wrk -t2 -c64 -d"$DURATION" --latency -s scripts/bench/get_by_id.lua "http://127.0.0.1:$PORT")
  echo "$out" | grep -E "Requests/sec|Latency|50%|99%|RESULT"
  python3 -c "import sys; j, b = float(sys.argv[1]), float(sys.argv[2]); t = {'sqlite': 0.5, 'postgres': 0.8}[sys.argv[3]]; print(f'get-by-id: {j:.0f} req/s = {j / b:.2f} of the bare stack (target {t:.2f}: {\"met\" if j / b >= t else \"not met\"})')" "$(echo "$out" | rps)" "$BARE_RPS" "$backend"
  echo "-- list with filters ($backend)"
  out=$(wrk -t2 -c64 -d"$DURATION" --latency -s scripts/bench/list.lua "http://127.0.0.1:$PORT")
  echo "$out" | grep -E "Requests/sec|Latency|50%|99%|RESULT"
  # wrk prints the 99th percentile as e.g. "99%   54.21ms" (or us / s).
  python3 - "$(echo "$out" | grep -E '^ +99%' | awk '{print $2}')" <<'PY'
import re, sys
m = re.fullmatch(r"([0-9.]+)(us|ms|s)", sys.argv[1])
if m is None:
    print(f"list with filters: no p99 in wrk's output ({sys.argv[1]!r})")
else:
    ms = float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)]
    print(f"list with filters: p99 {ms:.1f} ms with 64 connections (target < 50 ms: {'met' if ms < 50 else 'not met'})")
PY
  echo "-- work views: queue, reviews due, applications, notices ($backend, county reviewer)"
  local reviewer
  reviewer=$(curl -sf -X POST "http://127.0.0.1:$PORT/api/v1/auth/token" -H 'content-type: application/json' \
    -d '{"username": "xixiang.reviewer", "password": "Jiekun-demo-2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  TOKEN=$reviewer wrk -t2 -c64 -d"$DURATION" --latency -s scripts/bench/queue.lua "http://127.0.0.1:$PORT" | grep -E "Requests/sec|Latency|50%|99%|RESULT"
  echo "-- workflow steps: start_review on submitted applications, 16 at a time ($backend)"
  python3 - "$PORT" "$reviewer" <<'PY'
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, token = sys.argv[1:3]
base = f"http://127.0.0.1:{port}/api/v1"
def call(method, path, body=None, etag=None):
    req = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Bearer {token}", "content-type": "application/json"})
    if etag:
        req.add_header("If-Match", etag)
    with urllib.request.urlopen(req, json.dumps(body).encode() if body is not None else None) as r:
        return r.status, r.headers.get("ETag"), json.load(r)
ids, cursor = [], None
while True:
    _, _, page = call("GET", "/applications?state=submitted&limit=200" + (f"&cursor={cursor}" if cursor else ""))
    ids += [a["id"] for a in page["items"]]
    cursor = page.get("next_cursor")
    if not cursor:
        break
def step(i):
    _, etag, _ = call("GET", f"/applications/{i}")
    status, _, _ = call("POST", f"/applications/{i}/actions", {"action": "start_review"}, etag)
    return status
started = time.time()
with ThreadPoolExecutor(16) as pool:
    statuses = list(pool.map(step, ids))
took = time.time() - started
print(f"{len(ids)} steps (read + step) in {took:.2f} s: {len(ids) / took:.0f} steps/s; statuses {sorted(set(statuses))}")
PY
  echo "-- writes: household create (baseline) and assistance with Idempotency-Key, 16 clients ($backend)"
  python3 scripts/bench/assistance.py "$PORT" "${BENCH_ASSISTANCE:-10000}" "${BENCH_CREATES:-2000}"
  echo "-- what-if simulation over every household ($backend)"
  curl -sf -o "$WORK/simulation-$backend.json" -w "simulation took %{time_total} s\n" -X POST "http://127.0.0.1:$PORT/api/v1/policy/simulations" \
    -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d '{"parameters": {"dibao_standard_fen": 80000}, "sample": 5}'
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print('households simulated:', r['households'])" "$WORK/simulation-$backend.json"
  echo "-- reports over every household, as the county reviewer ($backend; target < 1 s at 100,000 on SQLite, < 2 s at 1,000,000 on PostgreSQL)"
  for report in roster flows assistance campaigns accountability timeliness coverage exceptions; do
    for format in json csv; do
      curl -sf -o "$WORK/report-$report.$format" -w "$report ($format): %{time_total} s, %{size_download} bytes\n" \
        -H "Authorization: Bearer $reviewer" "http://127.0.0.1:$PORT/api/v1/reports/$report?format=$format"
    done
  done
  # On SQLite the resident size includes the database file's pages read through the memory map
  # (RssFile: the kernel's page cache, shared and reclaimable); RssAnon is the server's own heap.
  echo "server peak RSS: $(grep VmHWM /proc/$pid/status | awk '{print $2 / 1024 " MB"}')" \
    "(now: $(grep -E 'RssAnon|RssFile' /proc/$pid/status | awk '{printf "%s %.0f MB ", $1, $2 / 1024}'))"
  kill $pid; wait $pid 2>/dev/null || true
}

for b in $BACKENDS; do
  case $b in
    # Each run starts from empty databases: the workflow steps and the writes change the data.
    sqlite)
      rm -f "$WORK"/bench.db* "$WORK"/bare.db*
      run_backend sqlite "sqlite://$WORK/bench.db" "sqlite://$WORK/bare.db" ;;
    postgres)
      base=${PG_URL%/*}
      db=${PG_URL##*/}
      for d in "$db" "${db}_bare"; do
        psql "$base/postgres" -qc "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" -c "CREATE DATABASE \"$d\"" >/dev/null
      done
      q=${PG_PARAMS:+?$PG_PARAMS}
      run_backend postgres "$PG_URL$q" "$base/${db}_bare$q" ;;
  esac
done
