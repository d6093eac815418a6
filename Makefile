# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app app
PG_BIN ?= $(shell ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
export KAIKU_ENV ?= development

.PHONY: messages run test test-sqlite test-postgres install install-dev translations system-packages migrate seed lint

run: install translations migrate seed
	$(PY) -m app.serve --host 127.0.0.1 --port 8000 --threads 8

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Compiled catalogues are build output: compile them from the committed .po files.
translations: | $(VENV)/.installed
	$(VENV)/bin/pybabel -q compile --use-fuzzy -d app/translations

migrate: install
	$(FLASK) db upgrade

seed: install
	$(FLASK) seed-demo

# Debian's Chromium drives the browser tests (Playwright's own browser download is not used);
# poppler-utils renders card PDFs so the tests can decode their QR and barcode; nginx is the
# reverse proxy (TLS in front of waitress) of tests/test_proxy.py (it lives in /usr/sbin).
SYSTEM_TOOLS := chromium:chromium pdftoppm:poppler-utils pdftotext:poppler-utils pdfinfo:poppler-utils \
  nginx:nginx
system-packages:
	@missing=""; for pair in $(SYSTEM_TOOLS); do tool=$${pair%%:*}; \
	  { command -v $$tool || [ -x /usr/sbin/$$tool ]; } >/dev/null 2>&1 || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	  else echo "missing Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

# The SQLite and the PostgreSQL runs share nothing (own databases, servers, browsers), so they
# run side by side on the two cores; each run's output is printed whole when it ends.
test: install-dev translations system-packages
	@$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

test-sqlite:
	@echo "== the suite on SQLite"
	KAIKU_ENV=testing $(PY) -m pytest -c tests/pytest.ini -q

# The same suite once more against a throwaway PostgreSQL cluster that the tests start and stop.
test-postgres:
	@if [ -n "$(PG_BIN)" ] && [ -x "$(PG_BIN)/initdb" ]; then \
	  echo "== the suite again on PostgreSQL ($(PG_BIN))"; \
	  KAIKU_ENV=testing KAIKU_TEST_DB=postgresql KAIKU_PG_BIN=$(PG_BIN) $(PY) -m pytest -c tests/pytest.ini -q; \
	else echo "== PostgreSQL binaries not found: the PostgreSQL run is left out"; fi

lint: install-dev
	$(VENV)/bin/ruff check app tests bench

# After changing user-facing text: extract it and merge it into the catalogues, then translate.
messages: install-dev
	$(VENV)/bin/pybabel extract -F app/translations/babel.cfg -k _l -k lazy_gettext --no-location \
	  --sort-output --omit-header -o app/translations/messages.pot .
	$(VENV)/bin/pybabel update -i app/translations/messages.pot -d app/translations --no-wrap \
	  --no-fuzzy-matching --omit-header --ignore-obsolete
