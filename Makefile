# The two commands of the README: `make demo` (the main job, offline, embedded defaults) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint bench clean sandbox-image chromium harbor-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e ".[dev,docker,openai,anthropic]"
	touch $(STAMP)

demo: $(STAMP)
	rm -rf runs/demo runs/demo-leaderboard  # the demo starts afresh each time (a real run refuses to overwrite itself)
	$(BIN)/asibench-env run --agent oracle --tasks all --levels B1,B2,B3,B4 --seeds 0-1 --concurrency 2 --out runs/demo
	$(BIN)/asibench-env leaderboard runs/demo --out runs/demo-leaderboard
	$(BIN)/asibench-env site build runs/demo --leaderboard runs/demo-leaderboard/leaderboard.json --out runs/demo-site  # prints its index page

test: $(STAMP) sandbox-image chromium harbor-venv lint
	bash .ci/pytest.sh

# For contributors: lint plus every test not marked slow (no Docker, calibration or validator runs).
test-fast: $(STAMP) harbor-venv lint
	bash .ci/pytest.sh -m "not slow"

# The Docker sandbox's image, built offline from Debian's packages when missing (the engine has no
# registry here). When it must be built and no bootstrap tool is installed, the script says it will
# apt-get install mmdebstrap and asks first when there is a terminal.
sandbox-image: $(STAMP)
	bash scripts/sandbox-image.sh $(BIN)

# Harbor 0.25.0 in its own environment (.venv-harbor, Python >= 3.12): the Harbor export's tests load
# the exported task folders with Harbor's own loader through it.
harbor-venv: $(STAMP)
	bash scripts/harbor-venv.sh $(BIN)

# Lint: ruff, the formatting, the layer contracts (pyproject's [tool.importlinter]), the types (mypy).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check asibench_env
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# Headless chromium, for the site's browser tests (never skipped), installed from Debian when missing.
# The script says so, and asks first when there is a terminal.
chromium:
	bash scripts/chromium.sh

bench: $(STAMP) sandbox-image
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) .venv-harbor runs .pytest_cache
