# jiekun — the two commands that matter are `make run` and `make test`.
CARGO ?= cargo
JIEKUN_DATABASE_URL ?= sqlite://./data/jiekun.db
JIEKUN_BIND ?= 127.0.0.1:8080
JIEKUN_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
export JIEKUN_DATABASE_URL JIEKUN_BIND JIEKUN_TEST_POSTGRES_URL

BIN := ./target/debug/jiekun

.PHONY: run build test fuzz lint deny audit fmt openapi clean-data bench load

## run: build, migrate, load the demo organisation tree and serve on an embedded SQLite database
run: build data/jwt.key data/data.key
	$(BIN) migrate
	JIEKUN_DATA_KEY_FILE=data/data.key $(BIN) demo --households 300
	@echo "Get a token:  curl -s -X POST http://$(JIEKUN_BIND)/api/v1/auth/token -H 'content-type: application/json' -d '{\"username\": \"xixiang.admin\", \"password\": \"Jiekun-demo-2026\"}'"
	JIEKUN_JWT_SECRET_FILE=data/jwt.key JIEKUN_DATA_KEY_FILE=data/data.key $(BIN) serve

## data/jwt.key, data/data.key: random secrets for the demo server (kept across restarts; the
## data key encrypts personal data, so losing it loses that data)
data/jwt.key:
	mkdir -p data
	umask 077 && od -An -N48 -tx1 /dev/urandom | tr -d ' \n' > $@

data/data.key:
	mkdir -p data
	umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > $@

build:
	$(CARGO) build -p jiekun-cli

## test: formatting, lints, every test on SQLite and PostgreSQL, then contract fuzzing of the real
## server (schemathesis, fixed seed, every operation as three roles, a department key and nobody,
## on both backends). When no PostgreSQL answers at JIEKUN_TEST_POSTGRES_URL,
## scripts/test/with-postgres.sh starts a throwaway one if initdb and pg_ctl are installed, and
## otherwise ends by saying how many PostgreSQL tests did not run.
test: lint deny
	scripts/test/with-postgres.sh sh -c '$(CARGO) test --workspace --all-targets --locked --no-fail-fast && scripts/fuzz/run.py'

## fuzz: the long contract-fuzzing run (400 generated cases per operation and caller; about an hour)
fuzz:
	scripts/test/with-postgres.sh scripts/fuzz/run.py --long

## deny: the licences, bans and sources of every dependency against deny.toml, offline
## (cargo-deny; on a machine without it, built from crates.io once into the user's cache,
## JIEKUN_TOOLS, where every clone on the machine finds it)
CARGO_DENY_VERSION := 0.18.4
JIEKUN_TOOLS ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/jiekun/tools
DENY_ROOT := $(JIEKUN_TOOLS)/cargo-deny-$(CARGO_DENY_VERSION)
DENY := $(or $(shell command -v cargo-deny 2>/dev/null),$(DENY_ROOT)/bin/cargo-deny)
deny: $(DENY)
	$(DENY) check licenses bans sources

# Built in a directory of its own and moved into place whole, so that an interrupted build
# never leaves a half-installed tool behind.
$(DENY_ROOT)/bin/cargo-deny:
	rm -rf $(DENY_ROOT).partial
	$(CARGO) install --locked --root $(DENY_ROOT).partial cargo-deny --version $(CARGO_DENY_VERSION)
	rm -rf $(DENY_ROOT) && mv $(DENY_ROOT).partial $(DENY_ROOT)

## audit: the RustSec advisories for every dependency (fetches the advisory database)
audit: $(DENY)
	$(DENY) check advisories

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## bench: the rules over 1,000,000 generated households (criterion), the import of a 100,000-row
## exchange answer file against a raw bulk insert (SQLite and PostgreSQL), then load tests over HTTP (get-by-id, list filters, workflow views and steps; 64 connections; household creates and
## assistance POSTs with Idempotency-Key from 16 department clients) on 100,000 households,
## SQLite and PostgreSQL; see scripts/bench/http.sh for the knobs;
## last, `jiekun demo` loading 1,000,000 households on both backends against a raw COPY / INSERT of
## the same rows (scripts/bench/load.sh; BENCH_LOAD_HOUSEHOLDS=0 skips it); then every report,
## cold and warm, JSON and CSV, at 100,000 households on SQLite and 1,000,000 on PostgreSQL
## against the database's own client counting the same register (scripts/bench/reports.sh)
bench:
	$(CARGO) bench -p jiekun-domain --bench rules
	JIEKUN_BENCH_POSTGRES_URL=$(JIEKUN_TEST_POSTGRES_URL) $(CARGO) bench -p jiekun-store --bench exchange
	scripts/bench/http.sh
	scripts/bench/reports.sh
	scripts/bench/load.sh

## load: the realistic mix (frontends, departments, staff, auditors) for five minutes against
## 100,000 households on both backends: per-endpoint throughput, p50, p99 and errors, and whether
## the server's memory stayed flat (scripts/bench/mix.sh for the knobs)
load:
	scripts/bench/mix.sh

## openapi: rewrite openapi/openapi.json from the routes (the build shows its progress: on a fresh
## clone it takes minutes)
openapi: build
	$(BIN) openapi --output openapi/openapi.json
	@echo "wrote openapi/openapi.json"

clean-data:
	rm -rf data
