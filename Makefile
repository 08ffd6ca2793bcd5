# Two commands on a fresh machine: `make demo` and `make test`. Everything else is a step of theirs.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HOPEN_SHARED_DIR ?= $(abspath ../shared)
PYTEST_WORKERS ?= 2

.PHONY: install demo test test-long fuzz bench agreement lint fhir-packages system-deps node-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(STAMP) fhir-packages system-deps node-deps

# HL7 base packages through `npm pack` (hl7.fhir.r4.core#4.0.1 comes from hl7.fhir.r4.examples@4.0.1),
# the French packages from ../shared and their dependencies. Idempotent: a second run only reads the cache.
fhir-packages: $(STAMP)
	$(BIN)/conformance packages install -q hl7.fhir.r4.core#4.0.1 hl7.fhir.r4.examples#4.0.1 \
		$(sort $(wildcard $(HOPEN_SHARED_DIR)/fhir-packages/*.tgz))

# Debian packages the tests use: chromium renders the HTML report headless; dovecot is the MSSanté IMAP side, msmtp a third-party MSSanté client.
system-deps:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@fc-list 2>/dev/null | grep -qi dejavu || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null; }
	@test -x /usr/sbin/dovecot || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; }
	@command -v msmtp >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq msmtp >/dev/null; }

node-deps:
	@command -v npm >/dev/null || exit 0; test tests/thirdparty/node_modules/.package-lock.json -nt tests/thirdparty/package-lock.json || (cd tests/thirdparty && npm ci --no-audit --no-fund --loglevel=error)
	@test -d reports/allure/node_modules/allure || { cd reports/allure && npm ci --silent --no-audit --no-fund; }

# The whole campaign against the embedded reference endpoints (started in-process, stopped at the end);
# exit 1 (some tests failed) still shows the summary and the report; exit 2 (harness broken) fails the target.
demo: install
	$(BIN)/conformance run --reference --output runs/demo-$$(date -u +%Y%m%dT%H%M%SZ) || test $$? -eq 1

test: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q

test-long: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m slow

# Longer fuzzing: the slow ("long" hypothesis profile) variants of tests/fuzz; HOPEN_FUZZ_EXAMPLES per target (3000).
fuzz: install
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) -q -m slow tests/fuzz

bench: install
	$(BIN)/python tools/bench.py

# FHIR validator verdicts against the HL7 Java validator's on ../shared/fhir-test-cases-dev, per module.
agreement: install
	$(BIN)/python tools/bench_agreement.py

# ruff; the import layers (pyproject's [tool.importlinter]) and module cycles; the type checker (strict on the SDK).
lint: $(STAMP)
	$(BIN)/ruff check conformance tests tools
	$(BIN)/ruff format --check conformance tests tools
	$(BIN)/lint-imports --no-cache
	$(BIN)/python tools/import_cycles.py
	$(BIN)/mypy

clean:
	rm -rf $(VENV) build *.egg-info
