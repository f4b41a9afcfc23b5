# Two commands do all set-up: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
DAYS ?= 7
OUT ?= out/default

.PHONY: run test test-all lint bench year system-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || (apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV))
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

system-deps:
	@bash scripts/install_system_deps.sh

run: $(STAMP)
	$(BIN)/codispatch simulate --config config/default.toml --days $(DAYS) --out $(OUT) --policies agnostic,greedy,temporal,mpc --forecast as_issued

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

test: $(STAMP) system-deps lint
	$(BIN)/python -m pytest

test-all: $(STAMP) system-deps lint
	$(BIN)/python -m pytest -m ''

bench: $(STAMP)
	$(BIN)/codispatch bench --jobs 10000 --naive --json $(OUT)/bench_10k.json
	$(BIN)/codispatch bench --jobs 100000 --json $(OUT)/bench_100k.json

year: $(STAMP)
	$(BIN)/codispatch simulate --config config/default.toml --jobs data/jobs/year_jobs.csv --days 365 \
		--policies agnostic,mpc --out out/year

clean:
	rm -rf $(VENV) out
