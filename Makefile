# Samplan: `make run` serves the demo county, `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)
POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2

.PHONY: run test test-sqlite test-postgres lint format demo worker bench install system-deps \
	messages lock clean

$(INSTALLED): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(INSTALLED)

system-deps:
	@scripts/system-deps

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo --if-empty
	$(BIN)/python manage.py demo_logins --url http://$(HOST):$(PORT)/
	$(BIN)/python manage.py runserver $(HOST):$(PORT) --insecure

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo

test: install system-deps test-sqlite test-postgres

test-sqlite: install
	$(BIN)/pytest -q -n $(PYTEST_WORKERS)

# Runs when PostgreSQL answers; under CI it must answer.
test-postgres: install
	@if $(BIN)/python scripts/postgres-answers "$(POSTGRES_URL)"; then \
		echo "== PostgreSQL: $(POSTGRES_URL)"; \
		DATABASE_URL="$(POSTGRES_URL)" $(BIN)/pytest -q -n $(PYTEST_WORKERS); \
	elif [ -n "$${CI:-}" ]; then \
		echo "PostgreSQL does not answer at $(POSTGRES_URL), and CI must test on it" >&2; exit 1; \
	else \
		echo "== PostgreSQL does not answer at $(POSTGRES_URL): tested on SQLite only"; \
	fi

lint: install system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check --deploy --fail-level ERROR
	scripts/check-translations

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py db_worker

bench: install
	$(BIN)/python bench/run.py

messages: install
	$(BIN)/python manage.py makemessages -l sv --no-obsolete --add-location file
	$(BIN)/python manage.py compilemessages -l sv

lock: install
	$(BIN)/python -m pip freeze --exclude-editable --exclude samplan > requirements.lock

clean:
	rm -rf $(VENV) var
