# Inlet's commands. `make test` is what CI runs (.ci/run); `make dev` runs the pipeline locally.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
# This file's directory: `sam build` runs the build-<Function> targets from elsewhere.
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))

CARGO ?= cargo
PYTHON ?= python3
VENV := .venv
# cfn-lint and the SAM CLI pin versions that moto's do not agree with: they get a venv of their own.
LINT_VENV := .venv-lint
# Lambda's arm64 (Graviton) target, for `make build`.
LAMBDA_TARGET := aarch64-unknown-linux-gnu
# `make coldstart`: processes started per binary, and invocations served to each.
COLDSTART_RUNS ?= 5
COLDSTART_INVOCATIONS ?= 200
# Benchmarks sample for this long per case (seconds); raise for steadier figures.
BENCH_TIME ?= 3
# `make dev` (and `make invoke`): the config and the file its `env:` secrets come from, so
# `make dev CONFIG=mine.toml ENV_FILE=mine.env` runs another config without editing the tracked
# inlet.toml (ENV_FILE= reads none: the environment alone). LISTEN is where POST /webhooks/{source}
# is served. INSPECT is the inspector page's address, or `off` for none (--no-inspect): 5056, beside
# the emulator's port, because ngrok's own inspector holds 4040 and a tunnel is how real providers
# reach `make dev`. EMULATOR_PORT is moto's port (scripts/with-emulator.sh); a free one when taken.
CONFIG ?= inlet.toml
ENV_FILE ?= local.env
LISTEN ?= 127.0.0.1:3000
INSPECT ?= 127.0.0.1:5056
EMULATOR_PORT ?= 5055
# inlet's options for the above: an empty ENV_FILE or INSPECT passes nothing (inlet's default).
DEV_GLOBALS = --config "$(CONFIG)" $(if $(ENV_FILE),--env-file "$(ENV_FILE)")
DEV_INSPECT = $(if $(filter off,$(INSPECT)),--no-inspect,$(if $(INSPECT),--inspect $(INSPECT)))

.PHONY: help venv dev test fmt-check lint tests browser bench build lambda build-IngestFunction build-ProcessFunction clean build-tools lint-tools template-lint coldstart soak fuzz invoke sam-build sam-invoke

# Each target, then the variables it reads (`make dev LISTEN=127.0.0.1:8080`), with their values.
help:
	@echo "make dev     run the whole pipeline locally against an AWS emulator (Ctrl-C stops it)"
	@echo "               CONFIG=$(CONFIG) ENV_FILE=$(ENV_FILE)   the config, and the file its env: secrets come from"
	@echo "               LISTEN=$(LISTEN)   where POST /webhooks/{source} is served"
	@echo "               INSPECT=$(INSPECT)   the inspector page; INSPECT=off for none"
	@echo "               EMULATOR_PORT=$(EMULATOR_PORT)   the emulator's port (a free one if taken)"
	@echo "make test    format check, clippy (-D warnings) and every test tier"
	@echo "               CHROMIUM=/path/to/chromium   for the inspector's browser tests (default /usr/bin/chromium)"
	@echo "make bench   criterion benchmarks, compared with openssl on this machine, then make coldstart"
	@echo "               BENCH_TIME=$(BENCH_TIME)   seconds measured per case"
	@echo "make build   the functions as Lambda arm64 zips, each with its inlet.toml (cargo lambda), and the CLI"
	@echo "               DEPLOY_CONFIG=file.toml   package another config as inlet.toml"
	@echo "make invoke  both functions under cargo lambda watch, invoked with events/, against the emulator"
	@echo "               INGEST_EVENT=$(INGEST_EVENT)  PROCESS_EVENT=$(PROCESS_EVENT)"
	@echo "               FORWARD_URL=http://...   where GitHub events go (default: a target of its own)"
	@echo "               CONFIG, ENV_FILE, EMULATOR_PORT   as for make dev"
	@echo "make sam-build  sam build (.aws-sam/build) with the pinned SAM CLI"
	@echo "make sam-invoke sam build, then sam local invoke of both functions with events/, checked (Docker: set up if missing)"
	@echo "make coldstart  init time, CPU and memory of the release functions against a local Runtime API"
	@echo "               COLDSTART_RUNS=$(COLDSTART_RUNS) COLDSTART_INVOCATIONS=$(COLDSTART_INVOCATIONS)"
	@echo "make soak    10,000+ signed deliveries through the local stack: nothing lost, nothing twice"
	@echo "               SOAK_DELIVERIES=$(SOAK_DELIVERIES) SOAK_SECONDS=$(SOAK_SECONDS)"
	@echo "make fuzz    the header-parser property tests with many more cases than make test runs"
	@echo "               FUZZ_CASES=$(FUZZ_CASES)"

# The emulator (moto server) lives in a project venv, pinned.
$(VENV)/.installed: tools/requirements-emulator.txt tools/constraints-emulator.txt
	@echo "installing the AWS emulator (moto, pinned) into $(VENV): first run only, about 30 s"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check \
		-r tools/requirements-emulator.txt -c tools/constraints-emulator.txt
	touch $@

venv: $(VENV)/.installed

# The emulator listens on 127.0.0.1:5055 (`make dev EMULATOR_PORT=N` for another), or on a free
# port when that one is taken; the stack's addresses go to .inlet/stack.json for the other commands.
dev: venv
	@[ -x target/debug/inlet ] || echo "compiling the inlet CLI: the first build takes a few minutes"
	$(CARGO) build --locked -p inlet-cli
	EMULATOR_PORT=$(EMULATOR_PORT) scripts/with-emulator.sh \
		./target/debug/inlet $(DEV_GLOBALS) dev --listen $(LISTEN) $(DEV_INSPECT)

test: fmt-check lint template-lint sam-invoke tests

fmt-check:
	$(CARGO) fmt --all -- --check
	# Provider files are modules only through build.rs's generated list, which rustfmt does not follow.
	rustfmt --edition 2024 --check shared/signature/src/providers/*.rs

lint:
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# cfn-lint and the SAM CLI, pinned, for `template-lint`; no AWS account or network needed to run.
$(LINT_VENV)/.installed: tools/requirements-lint.txt tools/constraints-lint.txt
	$(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install --quiet --disable-pip-version-check \
		-r tools/requirements-lint.txt -c tools/constraints-lint.txt
	touch $@

lint-tools: $(LINT_VENV)/.installed

template-lint: lint-tools
	$(LINT_VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(LINT_VENV)/bin/sam validate --lint --region us-east-1 --template-file template.yaml

# The inspector's browser tests (tests/tests/stack/inspector.rs) drive headless Chromium: Debian's
# chromium at /usr/bin/chromium, or the one CHROMIUM names. Installed here when missing and make
# runs as root; otherwise the recipe stops and says how, before any test runs.
browser:
	@if [ -n "$${CHROMIUM:-}" ]; then \
		[ -x "$$CHROMIUM" ] || { echo "CHROMIUM=$$CHROMIUM is not an executable" >&2; exit 1; }; \
		exit 0; \
	fi; \
	chromium=/usr/bin/chromium; \
	if [ -x "$$chromium" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "$$chromium is missing: installing Debian's chromium for the browser tests (apt-get install -y chromium)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y chromium \
			|| { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium; }; \
	else \
		echo "$$chromium is missing: the browser tests need Chromium. Install it with" \
			"\`sudo apt-get install chromium\` (or run make as root, which installs it)," \
			"or set CHROMIUM=/path/to/chromium." >&2; \
		exit 1; \
	fi

# Unit, adapter and events tiers need nothing; integration and end-to-end tests start their own
# emulators from the venv (each on a free port, stopped when the test ends) and run the built CLI.
# No separate `cargo build -p inlet-cli`: the CLI's own integration tests make cargo build the
# `inlet` binary first, with the features the tests' build already has, where a separate build
# would compile the AWS SDK a second time with other features. The doc test is the signature
# crate's usage example. Last, inlet-core alone, as the default ingest build has it (without the
# `schemas` feature the workspace turns on): a config naming schemas is refused.
tests: venv browser
	$(CARGO) test --workspace --all-targets --locked
	$(CARGO) test --locked --doc -p inlet-signature
	$(CARGO) test --locked -p inlet-core --lib config::schemas

bench:
	$(CARGO) bench --locked -p inlet-signature -p inlet-aws --bench verify --bench ingest --bench process -- \
		--warm-up-time 1 --measurement-time $(BENCH_TIME)
	openssl speed -evp sha256 -mr -bytes 1048576 -seconds $(BENCH_TIME) 2>/dev/null \
		| $(PYTHON) scripts/bench_report.py target/criterion
	$(MAKE) --no-print-directory coldstart

# The release functions (native x86-64) and an empty Rust Lambda, each started against a local
# Lambda Runtime API with the AWS calls going to moto: init time, CPU per invocation, peak RSS.
coldstart: venv
	$(CARGO) build --release --locked -p inlet-ingest -p inlet-process --bins --example empty_lambda
	$(CARGO) build --locked -p inlet-tests --bin coldstart
	./target/debug/coldstart --runs $(COLDSTART_RUNS) --invocations $(COLDSTART_INVOCATIONS)

# The local stack (release `inlet dev` against moto) under load, with resends and forgeries;
# bounded by SOAK_DELIVERIES and SOAK_SECONDS.
SOAK_DELIVERIES ?= 10000
SOAK_SECONDS ?= 900
soak: venv
	$(CARGO) build --release --locked -p inlet-cli -p inlet-tests --bin inlet --bin soak
	./target/release/soak --deliveries $(SOAK_DELIVERIES) --max-seconds $(SOAK_SECONDS)

# The parser properties `make test` runs with proptest's default case count, many times over.
FUZZ_CASES ?= 50000
fuzz:
	PROPTEST_CASES=$(FUZZ_CASES) $(CARGO) test --locked -p inlet-signature -p inlet-core \
		--test signature --test core -- props:: header_fuzz::

# cargo-lambda and zig (its cross linker) live in the project venv, pinned.
$(VENV)/.build-installed: tools/requirements-build.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tools/requirements-build.txt
	touch $@

build-tools: $(VENV)/.build-installed

# The functions' packages, target/lambda/{ingest,process}/bootstrap.zip for provided.al2023 on
# arm64 (bootstrap and inlet.toml), then the release CLI.
build: lambda
	$(CARGO) build --release --locked -p inlet-cli

# The config each package carries: inlet.toml, or `make build DEPLOY_CONFIG=prod.toml` (also read
# from the environment, so `DEPLOY_CONFIG=prod.toml sam build` works); it is packaged as inlet.toml.
DEPLOY_CONFIG ?=
PACKAGED_CONFIG := $(or $(DEPLOY_CONFIG),inlet.toml)
# The functions `lambda` packages, and where it unpacks them too (sam build's ARTIFACTS_DIR).
LAMBDAS ?= ingest process
UNPACK_INTO ?=

# Ingest is built with its `schemas` feature (JSON Schema checks, about 0.5 MB more) only when the
# packaged config names schemas.
# One cargo lambda run per package: only then does it read the package's
# [package.metadata.lambda.build] (zip format, `include` inlet.toml). lambda_zip.py then checks each
# zip holds the config it should and rewrites it reproducibly; a package without it fails the build.
lambda: build-tools
	rustup target list --installed | grep -x $(LAMBDA_TARGET) >/dev/null || rustup target add $(LAMBDA_TARGET)
	for function in $(LAMBDAS); do \
		features=; \
		if [ $$function = ingest ]; then \
			named=0; $(PYTHON) scripts/lambda_zip.py --names-schemas "$(PACKAGED_CONFIG)" || named=$$?; \
			case $$named in 0) features="--features schemas" ;; 1) ;; *) exit $$named ;; esac; \
		fi; \
		PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(CARGO) lambda build --release --arm64 --locked -p inlet-$$function $$features \
			$(if $(DEPLOY_CONFIG),--include "inlet.toml:$(DEPLOY_CONFIG)"); \
	done
	$(VENV)/bin/python scripts/lambda_zip.py --config "$(PACKAGED_CONFIG)" \
		$(if $(UNPACK_INTO),--into "$(UNPACK_INTO)") $(LAMBDAS)

# `cargo lambda watch` (the Lambda Runtime API emulator) serving both functions, and `cargo lambda
# invoke` of each with a committed event, against the local stack (provisioned as `inlet dev` does)
# on the emulator: its own, or the one AWS_ENDPOINT_URL names (a running `make dev`'s). Everything
# it starts is stopped when it ends. `make invoke INGEST_EVENT=events/ingest/stripe-invoice-paid.json`
# FORWARD_URL: where the config's GitHub route forwards (empty: a target scripts/invoke.sh starts).
INGEST_EVENT ?= events/ingest/github-push.json
PROCESS_EVENT ?= events/process/standard-mixed-sources.json
FORWARD_URL ?=
invoke: venv build-tools
	INGEST_EVENT="$(INGEST_EVENT)" PROCESS_EVENT="$(PROCESS_EVENT)" FORWARD_URL="$(FORWARD_URL)" \
		CONFIG="$(CONFIG)" ENV_FILE="$(ENV_FILE)" EMULATOR_PORT=$(EMULATOR_PORT) \
		scripts/with-emulator.sh scripts/invoke.sh

# `sam build` with the pinned SAM CLI from the lint venv; it runs the build-<Function> targets below.
sam-build: lint-tools build-tools
	SAM_CLI_TELEMETRY=0 $(LINT_VENV)/bin/sam build

# `sam build`, then `sam local invoke` of both functions in Lambda's container image with committed
# events/ against the emulator (its own, AWS_ENDPOINT_URL's, or a running `make dev`'s), every answer
# checked by scripts/sam_invoke.py (SAM exits 0 even when a function never answered). Docker: the
# engine that answers, else (as root) Debian's docker.io and a dockerd of its own, with no bridge
# (scripts/with-docker.sh); the base image is built from Debian packages, never pulled. The
# template's architecture (arm64) runs under qemu-user-static on other machines.
LAMBDA_ARCH := $(shell sed -n 's/^ *Architectures: *\[\([a-z0-9_]*\)\].*/\1/p' "$(ROOT)/template.yaml" | head -n 1)
sam-invoke: venv lint-tools build-tools
	LAMBDA_ARCH=$(LAMBDA_ARCH) scripts/with-docker.sh scripts/with-emulator.sh \
		$(VENV)/bin/python scripts/sam_invoke.py --sam-python $(LINT_VENV)/bin/python

# `sam build` (template.yaml: BuildMethod makefile, ContextPath .) runs these with ARTIFACTS_DIR set,
# from a scratch copy of the function's directory: the package is built here, then unpacked there.
build-IngestFunction:
	$(MAKE) --no-print-directory -C "$(ROOT)" lambda LAMBDAS=ingest UNPACK_INTO="$(ARTIFACTS_DIR)"

build-ProcessFunction:
	$(MAKE) --no-print-directory -C "$(ROOT)" lambda LAMBDAS=process UNPACK_INTO="$(ARTIFACTS_DIR)"

clean:
	$(CARGO) clean
	rm -rf $(VENV) $(LINT_VENV)
