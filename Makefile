# Inlet's commands. `make test` is what CI runs (.ci/run); `make bench` reports performance.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# Benchmarks sample for this long per case (seconds); raise for steadier figures.
BENCH_TIME ?= 3

.PHONY: help test fmt-check lint unit bench build clean

help:
	@echo "make test    format check, clippy (-D warnings) and every test"
	@echo "make bench   criterion benchmarks, compared with openssl on this machine"
	@echo "make build   release build of the functions and the CLI"

test: fmt-check lint unit

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --workspace --all-targets --locked

bench:
	$(CARGO) bench --locked -p inlet --bench verify --bench ingest --bench process -- \
		--warm-up-time 1 --measurement-time $(BENCH_TIME)
	openssl speed -evp sha256 -mr -bytes 1048576 -seconds $(BENCH_TIME) 2>/dev/null \
		| python3 scripts/bench_report.py target/criterion

build:
	$(CARGO) build --release --locked -p inlet-ingest -p inlet-cli

clean:
	$(CARGO) clean
