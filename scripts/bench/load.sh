#!/usr/bin/env bash
# Bulk load at city scale: `jiekun demo --households N` (release build; 1,000,000 unless
# BENCH_LOAD_HOUSEHOLDS says otherwise) on SQLite and on PostgreSQL, against a raw baseline run
# right after it on the same machine: the very same rows, dumped as text, loaded into the same
# schema (indexes and constraints in place) by the database's own client: multi-row INSERTs of 500
# rows in one transaction through sqlite3, and COPY … FROM STDIN through psql. Prints both times
# and their ratio. BENCH_BACKENDS ("sqlite postgres") and JIEKUN_BENCH_POSTGRES_URL (a database
# this script may drop and create, and a second one of the same name with _raw appended) choose
# what runs; BENCH_LOAD_HOUSEHOLDS=0 skips it. Both loads reach PostgreSQL on this same host without
# TLS (BENCH_POSTGRES_PARAMS, default sslmode=disable), as scripts/bench/http.sh does.
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${BENCH_LOAD_HOUSEHOLDS:-1000000}
BACKENDS=${BENCH_BACKENDS:-"sqlite postgres"}
PG_URL=${JIEKUN_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/jiekun_load}
PG_PARAMS=${BENCH_POSTGRES_PARAMS-sslmode=disable}
WORK=target/bench/load
BIN=target/release/jiekun
TABLES="households household_members active_persons income_records expenditures household_lifecycle"

if [ "$N" = 0 ]; then
  echo "bulk load skipped (BENCH_LOAD_HOUSEHOLDS=0)"
  exit 0
fi
cargo build --release -q -p jiekun-cli
rm -rf "$WORK"
mkdir -p "$WORK"
export JIEKUN_JWT_SECRET=bench-secret-bench-secret-bench-secret-42
export JIEKUN_DATA_KEY=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff
export JIEKUN_LOG=warn

now() { date +%s.%N; }
secs() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$2"; }
# The whole `jiekun demo` command against its target (< 120 s on SQLite, < 180 s on PostgreSQL at
# 1,000,000 households; other sizes are printed without a verdict).
verdict() { # backend, seconds
  python3 -c "import sys; b, t, n = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]); lim = {'sqlite': 120, 'postgres': 180}[b]; print(f'(target < {lim} s at 1,000,000: ' + ('met' if t < lim else 'not met') + ')' if n == 1000000 else '')" "$1" "$2" "$N"
}
report() { # backend, load seconds, raw seconds, rows
  python3 -c "import sys; b, l, r, n = sys.argv[1:]; print(f'== {b}: {n} rows; jiekun demo (households) {float(l):.1f} s, raw {float(r):.1f} s: {float(l) / float(r):.2f}x the raw load')" "$@"
}
# The households step's own time, as `jiekun demo` prints it ("… in 12.3 s").
load_secs() { grep '^generated' "$1" | sed -E 's/.* in ([0-9.]+) s$/\1/'; }

sqlite_run() {
  local db=$WORK/load.db raw=$WORK/raw.db
  export JIEKUN_DATABASE_URL=sqlite://$db
  "$BIN" migrate >/dev/null
  "$BIN" demo >/dev/null
  cp "$db" "$raw"
  echo "-- sqlite: jiekun demo --households $N"
  local t0 t1
  t0=$(now)
  "$BIN" demo --households "$N" | tee "$WORK/sqlite.out" | tail -2
  t1=$(now)
  echo "   whole command $(secs "$t0" "$t1") s $(verdict sqlite "$(secs "$t0" "$t1")"); $("$BIN" audit verify | tail -1)"
  local sql=$WORK/raw.sql rows=0
  {
    echo "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;"
    echo "PRAGMA cache_size = -262144; BEGIN;"
    for t in $TABLES; do
      sqlite3 -batch "$db" ".mode insert $t" "SELECT * FROM $t" | awk -v t="$t" '
        { sub(/^INSERT INTO [^ ]+ VALUES/, ""); sub(/;$/, "");
          buf = (n ? buf "," : "INSERT INTO " t " VALUES") $0
          if (++n == 500) { print buf ";"; n = 0 } }
        END { if (n) print buf ";" }'
    done
    echo "COMMIT;"
  } >"$sql"
  for t in $TABLES; do rows=$((rows + $(sqlite3 "$db" "SELECT count(*) FROM $t"))); done
  t0=$(now)
  sqlite3 -batch "$raw" <"$sql" >/dev/null
  t1=$(now)
  report sqlite "$(load_secs "$WORK/sqlite.out")" "$(secs "$t0" "$t1")" "$rows"
  rm -f "$sql" "$raw" "$raw"-* "$db" "$db"-*
}

postgres_run() {
  local base=${PG_URL%/*} name=${PG_URL##*/}
  local q=${PG_PARAMS:+?$PG_PARAMS}
  local raw_url=$base/${name}_raw$q url=$PG_URL$q
  for d in "$name" "${name}_raw"; do
    psql -q "$base/postgres" -c "DROP DATABASE IF EXISTS \"$d\"" -c "CREATE DATABASE \"$d\"" >/dev/null
  done
  export JIEKUN_DATABASE_URL=$url
  "$BIN" migrate >/dev/null
  "$BIN" demo >/dev/null
  # The same schema and organisation tree for the raw load.
  psql -q "$base/postgres" -c "DROP DATABASE \"${name}_raw\"" \
    -c "CREATE DATABASE \"${name}_raw\" TEMPLATE \"$name\"" >/dev/null
  echo "-- postgres: jiekun demo --households $N"
  local t0 t1 rows=0
  t0=$(now)
  "$BIN" demo --households "$N" | tee "$WORK/postgres.out" | tail -2
  t1=$(now)
  echo "   whole command $(secs "$t0" "$t1") s $(verdict postgres "$(secs "$t0" "$t1")"); $("$BIN" audit verify | tail -1)"
  local script=$WORK/raw.psql
  : >"$script"
  for t in $TABLES; do
    psql -q "$url" -c "\\copy $t TO '$WORK/$t.copy'"
    echo "\\copy $t FROM '$WORK/$t.copy'" >>"$script"
    rows=$((rows + $(psql -At "$url" -c "SELECT count(*) FROM $t")))
  done
  t0=$(now)
  psql -q -1 -v ON_ERROR_STOP=1 "$raw_url" -f "$script"
  t1=$(now)
  report postgres "$(load_secs "$WORK/postgres.out")" "$(secs "$t0" "$t1")" "$rows"
  rm -f "$WORK"/*.copy "$script"
  for d in "$name" "${name}_raw"; do
    psql -q "$base/postgres" -c "DROP DATABASE \"$d\"" >/dev/null
  done
}

echo "bulk load of $N households (the machine's other load shows in both times alike)"
for b in $BACKENDS; do
  "${b}_run"
done
