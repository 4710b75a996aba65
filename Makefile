# takedown-dynamics: one command per job. `make` lists them.
# Only python3 and make are assumed; everything else comes from PyPI, pinned in requirements.lock.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONHASHSEED := 0
export MPLBACKEND := agg

.DEFAULT_GOAL := help
.PHONY: help all env data validate figures test test-slow lint lab bench clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

all: env data figures ## set up, build the dataset, run every notebook, write the figures

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

env: $(STAMP) ## create .venv with the pinned dependencies and the package

data: env ## rebuild data/processed from data/raw (byte-identical; atomic)
	$(BIN)/takedowns etl

validate: env ## check data/raw and that data/processed is up to date
	$(BIN)/takedowns validate

figures: env ## execute every notebook into reports/figures, reports/numbers, reports/html
	$(BIN)/takedowns figures

test: env ## lint, then the test suite (fast; slow validations excluded)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -n 2 -q

test-slow: env ## the slow validations too (CI coverage simulations)
	$(BIN)/python -m pytest -q -m slow

lint: env ## ruff
	$(BIN)/ruff check src tests benchmarks

lab: env ## open JupyterLab on notebooks/ with the project kernel registered
	$(BIN)/python -m ipykernel install --sys-prefix --name takedown-dynamics --display-name "Python (takedown-dynamics)"
	$(BIN)/jupyter lab notebooks/

bench: env ## benchmarks, printed as ratios against named baselines
	@for f in benchmarks/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean: ## remove generated reports and caches (keeps .venv and data/processed)
	rm -rf reports .pytest_cache .ruff_cache benchmarks/.cache
	find . -name __pycache__ -type d -prune -not -path './$(VENV)/*' -exec rm -rf {} +
