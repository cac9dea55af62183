# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

# anvil (the local dev chain) from npm, for `artforge chain up` and the chain tests.  Without npm the
# tests that need anvil are skipped with a reason; everything else runs.
ANVIL_DIR := tools/anvil
ANVIL     := $(ANVIL_DIR)/node_modules/.bin/anvil

.PHONY: demo test bench clean anvil chromium postgresql

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,chain,postgres]'
	touch $@

demo: $(VENV)/.installed
	PATH="$(abspath $(VENV))/bin:$$PATH" bash examples/demo.sh

anvil: $(ANVIL_DIR)/node_modules/.installed

$(ANVIL_DIR)/node_modules/.installed: $(ANVIL_DIR)/package.json $(ANVIL_DIR)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --prefix $(ANVIL_DIR) --no-audit --no-fund --loglevel=error && touch $@; \
	else echo "npm not found: the tests that need anvil will be skipped" >&2; fi

# Debian's chromium, for the real-browser tests of the HTML dispute report (tests/test_dispute_page.py, driven
# by Playwright through executable_path: no browser download).  Installed with apt when run as root (as CI
# is); elsewhere without it those tests are skipped with a reason.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "could not install chromium: the browser tests will be skipped" >&2; \
	else echo "chromium not found (Debian: apt-get install chromium): the browser tests will be skipped" >&2; fi

# Debian's PostgreSQL server programs, for the tests that run the registry on PostgreSQL (tests/pg_server.py
# starts a throwaway cluster with them).  Installed with apt when run as root (as CI is); elsewhere without
# them those tests are skipped with a reason (and fail under CI, which must run them).
postgresql:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
		|| echo "could not install postgresql: the PostgreSQL tests will fail under CI" >&2; \
	else echo "PostgreSQL not found (Debian: apt-get install postgresql): its tests will be skipped" >&2; fi

# The whole suite, then the core again with the chain extra (web3) absent, as after a plain `pip install artforge`.
CORE_TESTS := tests/test_optional_chain.py tests/test_cli.py tests/test_verify.py tests/test_registration.py \
	tests/test_audit.py tests/test_translog.py tests/test_licensing.py tests/test_integrity.py tests/test_api_docs.py

test: $(VENV)/.installed anvil chromium postgresql
	$(PY) -m pytest -q
	ARTFORGE_WITHOUT_CHAIN=1 $(PY) -m pytest -q -m "not slow" $(CORE_TESTS)

bench: $(VENV)/.installed
	$(PY) benchmarks/fingerprint_speed.py
	$(PY) benchmarks/register_speed.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache $(ANVIL_DIR)/node_modules
