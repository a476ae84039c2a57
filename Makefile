# phasectl developer tasks. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv demo test lint ci-lint typecheck check bench wheel-smoke clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv with phasectl (editable) and the test tools

demo: $(STAMP) ## Build a sample repository in a temporary folder and run phasectl on it
	@$(BIN)/python tests/support/sample_repo.py --demo

test: $(STAMP) ## Run the whole test suite
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

ci-lint: $(STAMP) ## Schema checks of action.yml and docs/ci/*.yml; actionlint on the GitHub workflows
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows docs/ci/github-*.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.gitlab-ci docs/ci/gitlab-ci.yml
	$(BIN)/actionlint docs/ci/github-*.yml

typecheck: $(STAMP) ## mypy strict on phasectl/
	$(BIN)/mypy

check: lint ci-lint typecheck test ## Everything CI runs, except the wheel smoke test

bench: $(STAMP) ## Benchmarks (slow the first time: they build cached repositories)
	$(BIN)/python bench/diff_bench.py
	$(BIN)/python bench/report_bench.py
	$(BIN)/python bench/real_bench.py
	$(BIN)/python bench/tests_bench.py
	$(BIN)/python bench/memory_bench.py

wheel-smoke: $(STAMP) ## Build the wheel, install it in a clean venv, check templates ship
	bash .ci/wheel-smoke

clean: ## Remove the venv and caches
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .coverage
