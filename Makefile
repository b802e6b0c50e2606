# The README's commands. `make run` serves on SQLite + the in-memory channel layer with demo data, with the
# background worker (`manage.py run_worker`: webhooks and emails, docs/integration.md) beside the server;
# `make test` runs the suite (set DATABASE_URL / REDIS_URL to run it on PostgreSQL and Redis);
# `make serve` is the production server: WORKERS uvicorn processes on one port (README, "Production");
# `make lint` checks formatting, lint rules and types (pyproject.toml). `make install` installs only what the product
# runs (requirements.txt); test, lint and bench also install requirements-dev.txt.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
# The largest WebSocket message the servers take: the application's frame limit (WS_MAX_FRAME_BYTES, whose
# default in config/settings.py this repeats), so a larger one is refused before it is buffered.
WS_MAX_FRAME_BYTES ?= 16384

$(BIN)/daphne: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

DEV_DEPS := $(VENV)/.dev-requirements-installed
$(DEV_DEPS): requirements-dev.txt requirements.txt $(BIN)/daphne
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

# The JavaScript test dependencies (socket.io-client for the Socket.IO end-to-end tests), from the lockfile.
NODE_DEPS := node_modules/.package-lock.json
$(NODE_DEPS): package-lock.json
	npm ci --no-audit --no-fund

.PHONY: install run test lint serve bench
install: $(BIN)/daphne

# The worker runs in the background of the same shell; the trap stops it when the server exits (or Ctrl-C).
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/daphne -b $(HOST) -p $(PORT) --websocket-max-message-size $(WS_MAX_FRAME_BYTES) \
		--websocket-max-frame-size $(WS_MAX_FRAME_BYTES) config.asgi:application

# Production whatever the shell says: with DEBUG off the settings refuse to start without real keys.
serve: export DEBUG = false

# websockets-sansio: a send waits while the client's transport is full, so a client that stops reading
# holds up only its own socket (docs/realtime.md, close code 4408). The graceful-shutdown bound keeps
# such a client from holding a restart. Django has no lifespan handler.
# The webhook worker is its own process beside uvicorn, stopped with it; on several machines run
# `manage.py run_worker` on each (claims with SKIP LOCKED keep them from making one attempt twice).
serve: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/python manage.py run_worker & worker=$$!; trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS) \
		--ws websockets-sansio --lifespan off --timeout-graceful-shutdown 10 --ws-max-size $(WS_MAX_FRAME_BYTES)

test: $(DEV_DEPS) $(NODE_DEPS)
	$(BIN)/python -m pytest

lint: $(DEV_DEPS)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

# Revisions for the bench's ablation table (docs/performance.md): commits that each add one change, oldest
# first, e.g. `make bench ABLATION=abc123,def456`. Empty: no ablation rows.
ABLATION ?=
bench: $(DEV_DEPS)
	$(BIN)/python -m bench $(if $(ABLATION),--ablation $(ABLATION))
