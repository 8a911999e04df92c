# Kalkula: `make run` serves the embedded default; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

# requirements.txt is what production installs; requirements-dev.txt adds tests, linters, type
# checking and docs. Both are compiled from their .in files by `make lock` (pinned, with hashes).
RUNTIME_REQS := requirements.txt
DEV_REQS := requirements.txt requirements-dev.txt
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes
# One stamp names the files that were installed and their contents: a changed requirements file
# changes the name, so the next make installs again. A development install covers the runtime one.
RUNTIME_STAMP := $(VENV)/.installed-runtime-$(shell cat $(RUNTIME_REQS) | sha1sum | cut -c1-12)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat $(DEV_REQS) | sha1sum | cut -c1-12)
# `make lock LOCK_FLAGS=--upgrade` moves every unpinned dependency to its newest release.
LOCK_FLAGS ?=
PIP_COMPILE := CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
	--strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links $(LOCK_FLAGS)

.PHONY: install install-runtime run test lint format migrate lock

$(RUNTIME_STAMP): $(RUNTIME_REQS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	test -f $(DEV_STAMP) || { \
	  $(PIP_INSTALL) $(addprefix -r ,$(RUNTIME_REQS)) && \
	  rm -f $(VENV)/.installed-* && touch $@; }

$(DEV_STAMP): $(DEV_REQS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP_INSTALL) $(addprefix -r ,$(DEV_REQS))
	rm -f $(VENV)/.installed-*
	touch $@

# runtime only (what `make run` and production need)
install-runtime: $(RUNTIME_STAMP)

# runtime and development (tests, linters, type checking, docs)
install: $(DEV_STAMP)

migrate: install-runtime
	$(BIN)/python manage.py migrate --noinput

run: migrate
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	@# X-Forwarded-For is Kalkula's to trust (TRUSTED_PROXY_COUNT), not uvicorn's.
	@echo "Kalkula on http://$(HOST):$(PORT)/  (admin: /admin/, API docs: /api/docs/)"
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(PORT) --lifespan on --no-proxy-headers

# pytest's exit 5 (no test collected, e.g. a PYTEST_ARGS=-k that matches nothing) is no failure.
test: install
	$(BIN)/pytest $(PYTEST_ARGS) || test $$? -eq 5

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python manage.py check
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy | $(BIN)/mypy-baseline filter
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir var/site

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Recompile requirements.txt, then requirements-dev.txt (constrained by it), from the .in files.
lock: install
	$(PIP_COMPILE) --output-file requirements.txt requirements.in
	$(PIP_COMPILE) --output-file requirements-dev.txt requirements-dev.in
