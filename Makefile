PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 5000
export INVESTFLOW_DEMO ?= 1
DATABASE_URL ?= sqlite:///$(CURDIR)/instance/investflow.db
export DATABASE_URL

.PHONY: run test lint bench install assets migrate deploy demo clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

assets: $(STAMP)
	$(BIN)/investflow assets fetch

migrate: $(STAMP)
	mkdir -p instance
	$(BIN)/investflow db upgrade

deploy: migrate
	$(BIN)/investflow deploy processes/ --author setup

demo: deploy
	$(BIN)/investflow demo load --if-empty

run: assets demo
	$(BIN)/investflow serve --host 127.0.0.1 --port $(PORT)

# the suite runs on TEST_WORKERS processes (pytest-xdist; each has its own SQLite files and PostgreSQL
# database); TEST_WORKERS=0 runs it in this process
TEST_WORKERS ?= 2

test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) instance .pytest_cache
