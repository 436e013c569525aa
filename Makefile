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
# Migrations run as the owner of the tables when MIGRATE_DATABASE_URL is set; the app itself
# connects (DATABASE_URL) as a role that may only append to the audit log (docs/security.md).
MIGRATE = $(if $(MIGRATE_DATABASE_URL),DATABASE_URL="$(MIGRATE_DATABASE_URL)" )$(BIN)/python manage.py migrate --noinput

.PHONY: run test test-sqlite test-postgres lint format demo worker bench install system-deps \
	messages lock clean audit-verify mail openapi backup restore serve

$(INSTALLED): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

install: $(INSTALLED)

system-deps:
	@scripts/system-deps

run: install
	$(MIGRATE)
	$(BIN)/python manage.py load_demo --if-empty
	$(BIN)/python manage.py demo_logins --url http://$(HOST):$(PORT)/
	$(BIN)/python manage.py runserver $(HOST):$(PORT) --insecure

# Production: gunicorn (gunicorn.conf.py) behind a TLS proxy, static files by WhiteNoise, DEBUG
# off, the deploy checks first (docs/deploy.md). `make serve HTTPS=0` tries it on loopback
# without TLS; the checks' TLS warnings are then printed, not fatal. Not collected: the static
# files of DRF's browsable API (not offered) and django-htmx's htmx (static/vendor has ours).
serve: HTTPS ?= true
serve: SERVE_ENV = DEBUG=false SAMPLAN_SERVE_STATIC=true HTTPS=$(HTTPS)
serve: install
	$(SERVE_ENV) $(BIN)/python manage.py check --deploy \
		--fail-level $(if $(filter 1 true yes on,$(HTTPS)),WARNING,ERROR)
	$(SERVE_ENV) $(MIGRATE)
	$(SERVE_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0 \
		--ignore rest_framework --ignore django_htmx
	$(SERVE_ENV) exec $(BIN)/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT)

demo: install
	$(MIGRATE)
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

# The scheduler (enqueues SAMPLAN_SCHEDULE's tasks once per slot) and the worker (runs them),
# together: when one stops, or on Ctrl-C, both stop.
worker: install
	$(MIGRATE)
	@$(BIN)/python manage.py scheduler & scheduler=$$!; \
	$(BIN)/python manage.py db_worker & worker=$$!; \
	trap 'kill $$scheduler $$worker 2>/dev/null' INT TERM EXIT; \
	wait -n $$scheduler $$worker; status=$$?; \
	kill $$scheduler $$worker 2>/dev/null; wait; exit $$status

# A local SMTP server on 127.0.0.1:1025 that prints what arrives: the worker sends there unless
# EMAIL_HOST/EMAIL_PORT say otherwise.
mail: install
	$(BIN)/python manage.py mailserver

# The pages under load (bench/run.py), then one plan PDF, a busy unit's contingency pack, and
# the statistics page with a million SIPs' figures.
bench: install
	$(BIN)/python bench/run.py
	$(BIN)/python bench/pdf.py
	$(BIN)/python bench/contingency.py
	$(BIN)/python bench/statistics_page.py

# The API's OpenAPI schema, committed as docs/openapi.yaml (tests/test_openapi.py keeps it true).
openapi: install
	$(BIN)/python manage.py spectacular --lang en --validate --fail-on-warn --file docs/openapi.yaml

# The whole database in one new file (mode 0600): pg_dump's custom format, or SQLite's backup API
# while the app runs. `make restore FILE=…` puts one into a new, empty database, never over data
# (docs/operations.md). Both as the owner of the tables when MIGRATE_DATABASE_URL is set.
AS_OWNER = $(if $(MIGRATE_DATABASE_URL),DATABASE_URL="$(MIGRATE_DATABASE_URL)" )
backup: install
	@mkdir -p -m 700 "$(dir $(or $(FILE),var/backups/x))"
	$(AS_OWNER)$(BIN)/python manage.py backup --out "$(or $(FILE),var/backups/samplan-$(shell date -u +%Y%m%dT%H%M%SZ).backup)"

restore: install
	@test -n "$(FILE)" || { echo "make restore FILE=path/to/backup" >&2; exit 2; }
	$(AS_OWNER)$(BIN)/python manage.py restore "$(FILE)"

# Walks the audit log's hash chain; exit 1 names the first changed, deleted or inserted row.
audit-verify: install
	$(BIN)/python manage.py audit_verify

messages: install
	$(BIN)/python manage.py makemessages -l sv --no-obsolete --add-location file
	$(BIN)/python manage.py compilemessages -l sv

lock: install
	$(BIN)/python -m pip freeze --exclude-editable --exclude samplan > requirements.lock

clean:
	rm -rf $(VENV) var
