# Developer commands. `make run` serves the CRM on SQLite; `make test` runs every check CI runs.
# DATABASE_URL / REDIS_URL from the environment (or .env) switch to PostgreSQL / Redis.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-installed
# Extra pytest arguments, e.g. `make test PYTEST_ARGS="-k pool -x"` or `PYTEST_ARGS="-n auto"`.
PYTEST_ARGS ?=
BENCH_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv run test lint fmt mypy pytest migrations-check check-deploy messages bench

help:
	@echo "make run           migrate, seed demo data, serve http://127.0.0.1:8000 (SQLite unless DATABASE_URL)"
	@echo "make test          lint, format check, migrations check, mypy, check --deploy, pytest"
	@echo "make lint | fmt    ruff check / ruff format"
	@echo "make messages      makemessages (zh_Hans, en) and compilemessages"
	@echo "make check-deploy  Django deploy checks in production mode"
	@echo "make bench         million-customer benchmark in database crm_bench (docs/benchmarks.md)"

venv: $(STAMP)

# Re-installs only when a requirements file is newer than the stamp.
$(STAMP): requirements/dev.txt requirements/base.txt
	@if [ ! -x $(PY) ]; then \
		$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
			{ echo "Python >= 3.11 is required: '$(PYTHON)' is $$($(PYTHON) --version 2>&1). Use 'make PYTHON=python3.11 ...'."; exit 1; }; \
		$(PYTHON) -m venv $(VENV); \
	fi
	$(PY) -m pip install --disable-pip-version-check -q -r requirements/dev.txt
	@touch $@

run: venv
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo
	$(PY) manage.py runserver 127.0.0.1:8000

test: venv lint migrations-check mypy check-deploy pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: venv
	$(PY) manage.py makemigrations --check --dry-run

mypy: venv
	$(BIN)/mypy

# Random key per run: deploy checks reject short or "django-insecure-" keys. System checks do
# not connect to the database, so the placeholder DATABASE_URL is never used.
check-deploy: venv
	DJANGO_ENV=production \
	SECRET_KEY="$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')" \
	DATABASE_URL=postgres://x@localhost/x \
	ALLOWED_HOSTS=crm.example.com \
	$(PY) manage.py check --deploy --fail-level WARNING

# Serial by default: `-n auto` works (SQLite and PostgreSQL, browser tests included: one test
# database per worker) but on a 2-core CI machine it has not been faster yet.
pytest: venv
	$(BIN)/pytest $(PYTEST_ARGS)

messages: venv
	$(PY) manage.py makemessages -l zh_Hans -l en --ignore=.venv
	$(PY) manage.py compilemessages --ignore=.venv

# A database of its own (never the one DATABASE_URL names): bench_pool refuses any database
# whose name does not start with crm_bench.
BENCH_DB ?= crm_bench
BENCH_URL ?= postgres://postgres@127.0.0.1:5432/$(BENCH_DB)
bench: venv
	createdb -h 127.0.0.1 -U postgres $(BENCH_DB) 2>/dev/null || true
	DATABASE_URL=$(BENCH_URL) $(PY) manage.py migrate --no-input
	DATABASE_URL=$(BENCH_URL) $(PY) manage.py bench_pool --reset --keep $(BENCH_ARGS)
	DATABASE_URL=$(BENCH_URL) $(PY) manage.py bench_import --rows 10000
