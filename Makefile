# okta-relay: every command a developer or CI needs. Each target installs what it uses.
#   make test   the full suite CI runs (fmt, clippy, unit, integration against moto)
#   make demo   the main job, locally
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV  := .local/venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat tests/local/requirements.txt | cksum | cut -d' ' -f1)
CARGO_TEST := $(shell if cargo nextest --version >/dev/null 2>&1; then echo "cargo nextest run --profile ci"; else echo "cargo test"; fi)

.PHONY: help venv up down build lint test audit cargo-deny unit demo clean fuzz crash-suite fault-suite load \
	awscli infra-deps infra-test infra-test-synth dashboard-picture moto-race package release bench-build bench-orgs bench-process bench-budget bench-startup bench-throughput bench-slow-bus

help:
	@echo "make test   full suite (fmt, clippy, unit and integration tests against moto)"
	@echo "make audit  cargo-deny: advisories (vendored database), licenses, bans, sources"
	@echo "make demo   run the relay locally against moto and show what the SIEM receives"
	@echo "make up / make down   start / stop the local AWS stack (moto) by PID"
	@echo "make fuzz         the hostile-input properties at 1 000 000 cases each (release build)"
	@echo "make crash-suite  50 000 events, 100 random SIGKILLs of the real poller (see RELIABILITY.md)"
	@echo "make fault-suite  20 000 events, 100 runs under random AWS faults and SIGKILLs, with pushed events (RELIABILITY.md)"
	@echo "make load         10 000 partner events at once through the events function (see RELIABILITY.md)"
	@echo "make moto-race    shows the moto SQS delete race the harness patches (tests/local/sqs_race.py)"
	@echo "make infra-test   CDK assertions, cdk synth, cfn-lint, checkov, terraform fmt, contract parity"
	@echo "make dashboard-picture   redraw docs/dashboard.svg from the synthesized dashboard"
	@echo "make package      the two arm64 Lambda zips (cargo lambda build --release --arm64)"
	@echo "make release      dist/okta-relay-<version>/: the zips, okta-relay-ctl, SBOM, release notes, SHA256SUMS"
	@echo "make bench-process / bench-budget / bench-startup / bench-throughput / bench-orgs   whole-process benchmarks (BENCHMARKS.md)"

# Python venv with moto (local AWS) and cargo-lambda, pinned in tests/local/requirements.txt.
$(STAMP): tests/local/requirements.txt
	@command -v python3 >/dev/null || { echo "python3 is required"; exit 1; }
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/local/requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

venv: $(STAMP)

# The AWS CLI for the documentation walkthrough (tests/e2e/tests/it/walkthrough.rs).
AWSCLI_VENV  := .local/awscli-venv
AWSCLI_STAMP := $(AWSCLI_VENV)/.installed-$(shell cat tests/local/awscli-requirements.txt | cksum | cut -d' ' -f1)
$(AWSCLI_STAMP): tests/local/awscli-requirements.txt
	python3 -m venv $(AWSCLI_VENV)
	$(AWSCLI_VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/local/awscli-requirements.txt
	rm -f $(AWSCLI_VENV)/.installed-*
	touch $@

awscli: $(AWSCLI_STAMP)

up: venv
	$(PY) tests/local/stack.py up

down:
	@if [ -x $(PY) ]; then $(PY) tests/local/stack.py down; fi

build:
	cargo build --workspace --all-targets --locked

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

# cargo-deny builds (about 3.5 CPU-minutes, mostly on one core) beside the checks and the
# build, at a lower priority, so the audit adds little to the wall time.
test:
	@mkdir -p .local; nice -n 10 $(MAKE) --no-print-directory cargo-deny > .local/cargo-deny-install.log 2>&1 & deny=$$!; \
	  $(MAKE) --no-print-directory venv awscli lint infra-test build || { wait $$deny; exit 1; }; \
	  wait $$deny || { cat .local/cargo-deny-install.log; exit 1; }
	$(MAKE) --no-print-directory audit
	tests/local/with-stack.sh $(CARGO_TEST) --workspace --locked

# Supply chain (supply-chain/audit.sh, deny.toml): advisories from the vendored RustSec
# database, licenses, bans (one HTTP/TLS stack, no ring), sources. No network but crates.io.
CARGO_DENY_VERSION := 0.20.2
CARGO_DENY := .local/cargo-deny/bin/cargo-deny
$(CARGO_DENY):
	cargo install --locked --quiet --root .local/cargo-deny cargo-deny@$(CARGO_DENY_VERSION)
cargo-deny: $(CARGO_DENY)

audit: $(CARGO_DENY)
	CARGO_DENY=$(CARGO_DENY) supply-chain/audit.sh

# Infrastructure checks. Node packages pinned by infra/cdk/package-lock.json; cfn-lint and
# python-hcl2 in one venv, checkov (which pins its own boto3 and hcl2) in another.
CDK        := infra/cdk
CDK_STAMP  := $(CDK)/node_modules/.installed-$(shell cat $(CDK)/package-lock.json | cksum | cut -d' ' -f1)
INFRA_VENV := .local/infra-venv
INFRA_STAMP := $(INFRA_VENV)/.installed-$(shell cat infra/tests/requirements.txt | cksum | cut -d' ' -f1)
CHECKOV_VENV := .local/checkov-venv
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cat infra/tests/checkov-requirements.txt | cksum | cut -d' ' -f1)
TEMPLATE   := .local/cdk.out/OktaRelayExample.template.json

$(CDK_STAMP): $(CDK)/package-lock.json
	@command -v npm >/dev/null || { echo "node and npm are required for the CDK checks"; exit 1; }
	cd $(CDK) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(INFRA_STAMP): infra/tests/requirements.txt
	python3 -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/tests/requirements.txt
	rm -f $(INFRA_VENV)/.installed-*
	touch $@

$(CHECKOV_STAMP): infra/tests/checkov-requirements.txt
	python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/tests/checkov-requirements.txt
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $@

infra-deps: $(CDK_STAMP) $(INFRA_STAMP) $(CHECKOV_STAMP)

# The template checks synthesize with empty placeholder zips (the template is under test, not
# the code); deploy with the real ones from make package.
infra-test: venv infra-test-synth
	$(INFRA_VENV)/bin/cfn-lint --config-file infra/.cfnlintrc $(TEMPLATE)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f $(TEMPLATE)
	$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework terraform -d infra/terraform
	@if command -v terraform >/dev/null; then terraform fmt -check -recursive infra/terraform && echo "terraform fmt: clean"; \
	  else echo "NOTICE: terraform is not installed: fmt -check not run (python-hcl2 still parses the module)"; fi
	$(INFRA_VENV)/bin/python infra/tests/parity.py $(TEMPLATE)
	$(INFRA_VENV)/bin/python infra/tests/dashboard_picture.py $(TEMPLATE) docs/dashboard.svg --check
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH $(INFRA_VENV)/bin/python infra/tests/release_check.py

# The construct built as it is published (jsii: the package, its assembly, its declarations),
# its assertion tests, the package as a consumer installs it, then the example app synthesized
# into $(TEMPLATE) by docs/deploy.md's own CDK command (infra/tests/walkthrough_cdk.py).
# Debian's Node is 20, past jsii's support window; the build on it is what this target checks,
# so its end-of-life banner is silenced for 20 only.
infra-test-synth: infra-deps
	cd $(CDK) && JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 npx jsii --silence-warnings=reserved-word
	cd $(CDK) && npx tsc -p tsconfig.dev.json && node --test dist/test/
	python3 infra/tests/cdk_package_check.py
	for b in okta-relay-events okta-relay-poller; do mkdir -p .local/cdk-code/$$b; \
	  python3 -c "import zipfile,sys; zipfile.ZipFile(sys.argv[1],'w').close()" .local/cdk-code/$$b/bootstrap.zip; done
	python3 infra/tests/walkthrough_cdk.py .local/cdk.out .local/cdk-code

# The README's picture of the dashboard, drawn from the synthesized template.
dashboard-picture: infra-test-synth
	$(INFRA_VENV)/bin/python infra/tests/dashboard_picture.py $(TEMPLATE) docs/dashboard.svg

moto-race: venv
	$(PY) tests/local/sqs_race.py
	$(PY) tests/local/sqs_race.py --unpatched && { echo "unpatched moto lost nothing this time (the race is timing-dependent)"; } || echo "unpatched moto lost messages, as expected"

# A release (infra/release/release.sh): versioned arm64 zips in the layout every deploy path
# takes, the okta-relay-ctl binary, a CycloneDX SBOM, the release notes and SHA256SUMS.
release: venv $(CDK_STAMP)
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH infra/release/release.sh

package: venv
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH cargo lambda build --release --arm64 --output-format zip --locked \
	  -p okta-relay-events -p okta-relay-poller
	@ls -l target/lambda/*/bootstrap.zip

# Whole-process benchmarks (BENCHMARKS.md): release binaries against moto and the simulator.
bench-build:
	cargo build --release --locked -p okta-sim -p okta-relay-poller -p okta-relay-events -p okta-relay-ctl

bench-process: venv bench-build
	tests/local/with-stack.sh $(PY) tests/bench/poller_run.py process --events 100000

bench-budget: venv bench-build
	tests/local/with-stack.sh $(PY) tests/bench/poller_run.py budget
	tests/local/with-stack.sh $(PY) tests/bench/poller_run.py budget --other 10
	tests/local/with-stack.sh $(PY) tests/bench/poller_run.py budget --other 40

# Issue 20: orgs per deployment and cost per org per month, the release poller per org.
bench-orgs: venv bench-build
	tests/local/with-stack.sh $(PY) tests/bench/orgs.py --orgs 10

bench-startup: bench-build
	python3 tests/bench/startup.py

# Issue 19: against a latency stub of AWS (tests/bench/aws_stub.py), the relay beside a plain
# Python poller in the same run, and the events function on SQS batches.
bench-throughput: venv bench-build
	tests/local/with-stack.sh $(PY) tests/bench/throughput.py pull --events 100000 --rounds 3
	tests/local/with-stack.sh $(PY) tests/bench/throughput.py push --events 1000 --batch 100

# A bus answering every PutEvents in 5 s: duplicates and the run's wall time, with the former
# PutEvents attempt timeout and the current one (BENCHMARKS.md, "A slow bus").
bench-slow-bus: venv bench-build
	tests/local/with-stack.sh $(PY) tests/bench/throughput.py slow-bus --events 1500 --latency 5 --seconds 300

fuzz:
	OKTA_RELAY_FUZZ_CASES=1000000 cargo test --release --locked -p okta-relay --test hostile_input

crash-suite: venv build
	OKTA_RELAY_CRASH_BACKLOG=50000 OKTA_RELAY_CRASHES=100 tests/local/with-stack.sh \
	  cargo nextest run --profile ci --locked --workspace --no-capture -E 'test(/^crash_suite::/)'

fault-suite: venv build
	OKTA_RELAY_FAULT_BACKLOG=20000 OKTA_RELAY_FAULT_RUNS=100 OKTA_RELAY_FAULT_PUSHED=2000 \
	  tests/local/with-stack.sh \
	  cargo nextest run --profile ci --locked --workspace --no-capture -E 'test(/^fault_suite::/)'

load: venv build
	OKTA_RELAY_LOAD_EVENTS=10000 tests/local/with-stack.sh \
	  cargo nextest run --profile ci --locked --workspace --no-capture -E 'test(/^load::/)'

demo: venv
	cargo build --locked -p okta-relay-events -p okta-relay-poller -p okta-relay-ctl -p okta-sim
	tests/local/with-stack.sh tests/local/demo.sh

clean: down
	rm -rf .local target
