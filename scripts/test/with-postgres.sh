#!/usr/bin/env bash
# Runs a command (the tests) with a PostgreSQL for the PostgreSQL variants of the tests.
#
#   scripts/test/with-postgres.sh cargo test --workspace --all-targets --locked --no-fail-fast
#
# 1. If PostgreSQL answers at JIEKUN_TEST_POSTGRES_URL (default
#    postgres://postgres@127.0.0.1:5432/test), the command runs against it.
# 2. If not, and initdb and pg_ctl are installed (on PATH, in /usr/lib/postgresql/*/bin, or in
#    JIEKUN_TEST_PG_BINDIR when that is set), a throwaway cluster is started in target/pg-test/ on
#    a free port with a database `test`, JIEKUN_TEST_POSTGRES_URL points at it for the command, and
#    it is stopped and removed afterwards (also when the command fails or is interrupted).
# 3. If neither, the command runs anyway; each PostgreSQL test that could not run records itself in
#    the file named by JIEKUN_TEST_POSTGRES_SKIPS, and the last line printed says how many did not
#    run. (Under CI=true those tests fail instead.)
#
# The command's exit status is this script's exit status.
set -uo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$root/target/pg-test"
url="${JIEKUN_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
skips="$work/skipped-tests.txt"
cluster=""
run_as=()

say() { echo "with-postgres: $*" >&2; }

# Whether PostgreSQL answers at $1 (a connection URL).
answers() {
    if command -v psql >/dev/null 2>&1; then
        PGCONNECT_TIMEOUT=3 psql "$1" -Atqc 'SELECT 1' >/dev/null 2>&1
    elif command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -t 3 -d "$1" >/dev/null 2>&1
    else
        # No client at all: a TCP connection to host:port is the best we can check.
        local rest="${1#*://}"
        rest="${rest#*@}"
        rest="${rest%%/*}"
        rest="${rest%%\?*}"
        local host="${rest%%:*}" port=5432
        [[ "$rest" == *:* ]] && port="${rest##*:}"
        (exec 3<>"/dev/tcp/${host:-127.0.0.1}/$port") 2>/dev/null
    fi
}

# The folder holding initdb and pg_ctl, or nothing.
find_bindir() {
    local dirs=()
    if [[ -n "${JIEKUN_TEST_PG_BINDIR:-}" ]]; then
        dirs=("$JIEKUN_TEST_PG_BINDIR")
    else
        local initdb
        if initdb="$(command -v initdb 2>/dev/null)"; then
            dirs+=("$(dirname "$(readlink -f "$initdb")")")
        fi
        local d
        for d in $(ls -d /usr/lib/postgresql/*/bin /usr/local/pgsql/bin 2>/dev/null | sort -rV); do
            dirs+=("$d")
        done
    fi
    local d
    for d in "${dirs[@]}"; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

# A TCP port nothing listens on, from a random place in 20000–29999 (several checkouts may run
# their tests at once).
free_port() {
    local start=$((20000 + RANDOM % 10000)) p
    for ((p = start; p < start + 200; p++)); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

stop_cluster() {
    if [[ -n "$cluster" ]]; then
        "${run_as[@]}" "$bindir/pg_ctl" -D "$cluster" -m immediate -w stop >/dev/null 2>&1
        rm -rf "$cluster" "$work/sock"
        cluster=""
    fi
}

# Starts a throwaway cluster and points JIEKUN_TEST_POSTGRES_URL at its database `test`.
start_cluster() {
    # initdb refuses to run as root: the cluster then belongs to the `postgres` system user.
    if [[ "$(id -u)" == 0 ]]; then
        if ! id postgres >/dev/null 2>&1; then
            say "running as root and there is no 'postgres' user to own a throwaway cluster"
            return 1
        fi
        if command -v runuser >/dev/null 2>&1; then
            run_as=(runuser -u postgres --)
        else
            run_as=(su -s /bin/sh -c '"$0" "$@"' -- postgres)
        fi
    fi
    local port
    port="$(free_port)" || {
        say "no free port for a throwaway cluster"
        return 1
    }
    rm -rf "$work/data" "$work/sock"
    mkdir -p "$work/data" "$work/sock"
    chmod 0700 "$work/data"
    if [[ "$(id -u)" == 0 ]]; then
        chown postgres: "$work/data" "$work/sock"
    fi
    cluster="$work/data"
    say "no PostgreSQL answers at $url: starting a throwaway cluster in target/pg-test/ on port $port"
    if ! "${run_as[@]}" "$bindir/initdb" -D "$cluster" -U postgres -A trust -E UTF8 --no-locale \
        --no-sync >"$work/initdb.log" 2>&1; then
        say "initdb failed (see target/pg-test/initdb.log)"
        return 1
    fi
    # Durability does not matter for a database thrown away after the run; connections do (every
    # test opens a small pool of its own, many tests run at once).
    if ! "${run_as[@]}" "$bindir/pg_ctl" -D "$cluster" -w -t 60 -l "$cluster/server.log" \
        -o "-p $port -c listen_addresses=127.0.0.1 -k $work/sock -c max_connections=400 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null 2>&1; then
        say "the throwaway cluster did not start (see target/pg-test/data/server.log)"
        cp "$cluster/server.log" "$work/server.log" 2>/dev/null
        return 1
    fi
    local base="postgres://postgres@127.0.0.1:$port"
    if ! "${run_as[@]}" "$bindir/psql" "$base/postgres" -Atqc 'CREATE DATABASE test' >/dev/null 2>&1 &&
        ! "${run_as[@]}" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres test >/dev/null 2>&1; then
        say "could not create database 'test' in the throwaway cluster"
        return 1
    fi
    url="$base/test"
    export JIEKUN_TEST_POSTGRES_URL="$url"
}

mkdir -p "$work"
: >"$skips"
export JIEKUN_TEST_POSTGRES_SKIPS="$skips"
trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

why=""
if answers "$url"; then
    export JIEKUN_TEST_POSTGRES_URL="$url"
elif bindir="$(find_bindir)"; then
    if ! start_cluster; then
        stop_cluster
        why="no PostgreSQL at $url and the throwaway cluster could not be started"
    fi
else
    why="no PostgreSQL at $url and no initdb/pg_ctl to start one"
fi

"$@"
status=$?

skipped="$(sort -u "$skips" | grep -c . || true)"
if [[ "$skipped" -gt 0 ]]; then
    echo "WARNING: $skipped PostgreSQL tests did not run (${why:-PostgreSQL at $url stopped answering}; they are listed in target/pg-test/skipped-tests.txt)"
fi
exit "$status"
