# Two commands matter: `make run` and `make test`. Both start from a fresh clone.
PYTHON_BIN ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

.PHONY: run test install lint format check bench clean-var

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

run: install
	@$(PY) -m config.devstack run

test: install
	@$(PY) -m config.devstack test $(ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

check: lint
	DJANGO_SETTINGS_MODULE=config.settings.production DJANGO_SECRET_KEY=$$(head -c 48 /dev/urandom | base64) \
	DJANGO_ALLOWED_HOSTS=example.com DATABASE_URL=postgres://localhost/x $(PY) manage.py check --deploy --fail-level WARNING

# Each benchmark runs on a PostgreSQL and Redis of its own (var/bench) and prints its figures.
bench: install
	@for b in bench/bench_*.py; do echo "== $$b"; $(PY) -m config.devstack bench $$b || exit 1; done

clean-var:
	rm -rf var/test
