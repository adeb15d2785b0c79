# Inlet's commands. `make test` is what CI runs (.ci/run); `make dev` runs the pipeline locally.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
# Benchmarks sample for this long per case (seconds); raise for steadier figures.
BENCH_TIME ?= 3
# `make dev LISTEN=127.0.0.1:8080` serves elsewhere.
LISTEN ?= 127.0.0.1:3000

.PHONY: help venv dev test fmt-check lint tests bench build clean

help:
	@echo "make dev     run the whole pipeline locally against an AWS emulator (Ctrl-C stops it)"
	@echo "make test    format check, clippy (-D warnings) and every test tier"
	@echo "make bench   criterion benchmarks, compared with openssl on this machine"
	@echo "make build   release build of the functions and the CLI"

# The emulator (moto server) lives in a project venv, pinned.
$(VENV)/.installed: tools/requirements-emulator.txt tools/constraints-emulator.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
		-r tools/requirements-emulator.txt -c tools/constraints-emulator.txt
	touch $@

venv: $(VENV)/.installed

dev: venv
	$(CARGO) build --locked -p inlet-cli
	scripts/with-emulator.sh ./target/debug/inlet --config inlet.toml --env-file local.env dev --listen $(LISTEN)

test: fmt-check lint tests

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# Unit, adapter and events tiers need nothing; integration and end-to-end tests start their own
# emulators from the venv (each on a free port, stopped when the test ends) and run the built CLI.
tests: venv
	$(CARGO) build --locked -p inlet-cli
	$(CARGO) test --workspace --all-targets --locked

bench:
	$(CARGO) bench --locked -p inlet --bench verify --bench ingest --bench process -- \
		--warm-up-time 1 --measurement-time $(BENCH_TIME)
	openssl speed -evp sha256 -mr -bytes 1048576 -seconds $(BENCH_TIME) 2>/dev/null \
		| $(PYTHON) scripts/bench_report.py target/criterion

build:
	$(CARGO) build --release --locked -p inlet-ingest -p inlet-process -p inlet-cli

clean:
	$(CARGO) clean
	rm -rf $(VENV)
