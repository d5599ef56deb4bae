# okta-relay: every command a developer or CI needs. Each target installs what it uses.
#   make test   the full suite CI runs (fmt, clippy, unit, integration against moto)
#   make demo   the main job, locally
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV  := .local/venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat tests/local/requirements.txt | cksum | cut -d' ' -f1)
CARGO_TEST := $(shell if cargo nextest --version >/dev/null 2>&1; then echo "cargo nextest run --profile ci"; else echo "cargo test"; fi)

.PHONY: help venv up down build lint test unit demo clean fuzz crash-suite load

help:
	@echo "make test   full suite (fmt, clippy, unit and integration tests against moto)"
	@echo "make demo   run the relay locally against moto and show what the SIEM receives"
	@echo "make up / make down   start / stop the local AWS stack (moto) by PID"
	@echo "make fuzz         the hostile-input properties at 1 000 000 cases each (release build)"
	@echo "make crash-suite  50 000 events, 100 random SIGKILLs of the real poller (see RELIABILITY.md)"
	@echo "make load         10 000 partner events at once through the events function (see RELIABILITY.md)"

# Python venv with moto (local AWS) and cargo-lambda, pinned in tests/local/requirements.txt.
$(STAMP): tests/local/requirements.txt
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/local/requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

up: venv
	$(PY) tests/local/stack.py up

down:
	@if [ -x $(PY) ]; then $(PY) tests/local/stack.py down; fi

build:
	cargo build --workspace --all-targets --locked

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

test: venv lint build
	tests/local/with-stack.sh $(CARGO_TEST) --workspace --locked

fuzz:
	OKTA_RELAY_FUZZ_CASES=1000000 cargo test --release --locked -p okta-relay --test hostile_input

crash-suite: venv build
	OKTA_RELAY_CRASH_BACKLOG=50000 OKTA_RELAY_CRASHES=100 tests/local/with-stack.sh \
	  cargo nextest run --profile ci --locked --workspace --no-capture -E 'test(/^crash_suite::/)'

load: venv build
	OKTA_RELAY_LOAD_EVENTS=10000 tests/local/with-stack.sh \
	  cargo nextest run --profile ci --locked --workspace --no-capture -E 'test(/^load::/)'

demo: venv
	cargo build --locked -p okta-relay-events -p okta-relay-poller
	tests/local/with-stack.sh tests/local/demo.sh

clean: down
	rm -rf .local target
