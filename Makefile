# jiekun — the two commands that matter are `make run` and `make test`.
CARGO ?= cargo
JIEKUN_DATABASE_URL ?= sqlite://./data/jiekun.db
JIEKUN_BIND ?= 127.0.0.1:8080
JIEKUN_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
export JIEKUN_DATABASE_URL JIEKUN_BIND JIEKUN_TEST_POSTGRES_URL

BIN := ./target/debug/jiekun

.PHONY: run build test lint fmt openapi clean-data

## run: build, migrate, load the demo organisation tree and serve on an embedded SQLite database
run: build
	mkdir -p data
	$(BIN) migrate
	$(BIN) demo
	$(BIN) serve

build:
	$(CARGO) build -p jiekun-cli

## test: formatting, lints, then every test on SQLite and PostgreSQL
test: lint
	$(CARGO) test --workspace --all-targets --locked --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## openapi: rewrite openapi/openapi.json from the routes
openapi:
	$(CARGO) run -q -p jiekun-cli -- openapi --output openapi/openapi.json

clean-data:
	rm -rf data
