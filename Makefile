# One command per chore. CI calls the same targets.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
VENDOR := src/civitas/web/static/vendor
PYTEST_ARGS ?=
export CIVITAS_DEBUG ?= 1

.PHONY: install demo test test-fast lint bench messages browser clean

$(STAMP): pyproject.toml constraints.txt package.json
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is needed ($(PY) not found)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	npm install --no-audit --no-fund --silent
	mkdir -p $(VENDOR)
	cp node_modules/htmx.org/dist/htmx.min.js node_modules/echarts/dist/echarts.min.js $(VENDOR)/
	cd src/civitas && ../../$(BIN)/django-admin compilemessages --ignore=.venv >/dev/null
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/civitas demo

# Browser tests drive Debian's Chromium; install it when it is missing (needs root or sudo).
browser:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -qq && \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; }

test: install browser
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

test-fast: install
	$(BIN)/pytest -m "not e2e" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy src
	$(BIN)/lint-imports
	$(BIN)/civitas makemigrations --check --dry-run >/dev/null

bench: install
	$(BIN)/python bench/locate_bench.py
	$(BIN)/python bench/import_bench.py

messages: install
	cd src/civitas && ../../$(BIN)/django-admin makemessages -l zh_Hans --no-obsolete --ignore=migrations
	cd src/civitas && ../../$(BIN)/django-admin compilemessages

clean:
	rm -rf $(VENV) node_modules $(VENDOR) var .pytest_cache .mypy_cache .ruff_cache
