# Plan Tracker: `make run` starts it, `make test` tests it. Both install what they need first.
SHELL := /bin/bash
# The first Python >= 3.11 that really runs (pyenv shims exist for versions that are not active).
PYTHON ?= $(shell for p in python3 python3.11 python3.12 python3.13; do $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint check-prereqs css clean bench drills

check-prereqs:
	@test -n "$(PYTHON)" || { echo "Plan Tracker needs Python 3.11 or newer: none of python3, python3.11, python3.12, python3.13 is (set PYTHON=/path/to/python3.11)."; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Plan Tracker needs Python 3.11 or newer: '$(PYTHON)' is $$($(PYTHON) -V 2>&1)."; exit 1; }
	@command -v npm >/dev/null 2>&1 || { echo "Plan Tracker needs Node.js and npm (for GOV.UK Frontend and the stylesheet): npm was not found."; exit 1; }

$(STAMP): pyproject.toml
	@$(MAKE) --no-print-directory check-prereqs
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

node_modules/.package-lock.json: package-lock.json
	@$(MAKE) --no-print-directory check-prereqs
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

static/build/app.css: assets/app.scss node_modules/.package-lock.json
	@mkdir -p static/build
	npx --no-install sass --quiet --load-path=node_modules --style=compressed --no-source-map assets/app.scss $@

css: static/build/app.css

install: $(STAMP) static/build/app.css

run: install
	@bin/dev-server

test: install
	@bin/run-tests

# Figures against the local PostgreSQL (127.0.0.1:5432) and gunicorn: prints a table, writes bench/RESULTS.md
# and docs/performance.md from it (python -m bench.report).
bench: install
	@$(PY) -m bench.run

# Fault drills against the local PostgreSQL and gunicorn; each prints what it proved.
drills: install
	@$(PY) -m bench.drills

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) node_modules static/build var
