# Kalkula: `make run` serves the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format migrate

$(INSTALLED): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(INSTALLED)

migrate: install
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@# X-Forwarded-For is Kalkula's to trust (TRUSTED_PROXY_COUNT), not uvicorn's.
	@echo "Kalkula on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --lifespan on --no-proxy-headers

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
