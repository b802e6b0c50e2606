# The README's commands. `make run` serves on SQLite + the in-memory channel layer with demo data;
# `make test` runs the suite (set DATABASE_URL / REDIS_URL to run it on PostgreSQL and Redis).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2

$(BIN)/daphne: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

.PHONY: install run test serve bench
install: $(BIN)/daphne

run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/daphne -b $(HOST) -p $(PORT) config.asgi:application

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python -m bench
