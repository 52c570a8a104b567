# Everyday commands. `make run` and `make test` set everything up on a machine with only Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

.PHONY: install run test test-fast soak lint format check migrations seed bench clean-data

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

## Bring the whole app up on the embedded default (SQLite, local media, filesystem broker).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_model
	$(PY) manage.py seed_demo_readings
	$(PY) -m octclinic.devserver

## The whole suite (on PostgreSQL / Redis when DATABASE_URL / REDIS_URL are set).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

## Everything but the browser and real-worker tests.
test-fast: install
	$(PY) -m pytest -m "not browser and not worker and not slow" $(PYTEST_ARGS)

## The production-shape soak test alone, with its figures (docs/operations.md, "Soak"); a longer drive than in `make test`.
SOAK_SECONDS ?= 180
soak: install
	SOAK_SECONDS=$(SOAK_SECONDS) $(PY) -m pytest octclinic/tests/test_soak.py -m soak -s $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

check: install
	$(PY) manage.py check
	$(PY) manage.py makemigrations --check --dry-run

migrations: install
	$(PY) manage.py makemigrations

seed: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_demo_model
	$(PY) manage.py seed_demo_readings

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

## Forget the demo data (database, media, broker spool).
clean-data:
	rm -rf var/
