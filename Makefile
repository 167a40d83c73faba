# Two commands on a fresh machine: `make demo` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp
# The Aave v3.6 market compiled from its pinned sources (solc-js, ~15-40 s); cached by package-lock's hash.
AAVE_BUILD := build/aave-v3.6/artifacts.json

.PHONY: install test lint typecheck unit demo bench chaos clean

install: $(STAMP) $(NODE_STAMP) $(AAVE_BUILD)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The devnet's chain parts (anvil, the Aave V3.0 artifacts, the v3.6 sources and solc-js), pinned by package-lock.json.
$(NODE_STAMP): package-lock.json
	@# npm ci through a symlinked node_modules (a git worktree sharing another's) would empty the other's.
	@if [ -L node_modules ]; then echo "node_modules is a symlink: install it where it points" >&2; exit 1; fi
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# The script skips the compile when its build's key (package-lock.json and the script) is unchanged.
$(AAVE_BUILD): $(NODE_STAMP) bot/devnet/chain/compile_aave.mjs
	npm run --silent compile-aave
	touch $(AAVE_BUILD)

lint: $(STAMP)
	$(BIN)/ruff check bot strategies tests benchmarks chaos
	$(BIN)/ruff format --check bot strategies tests benchmarks chaos

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(NODE_STAMP) $(AAVE_BUILD)
	$(BIN)/ruff check bot strategies tests benchmarks chaos
	$(BIN)/ruff format --check bot strategies tests benchmarks chaos
	$(BIN)/mypy
	$(BIN)/pytest -q

# The main job on the embedded local setup: anvil + real Aave V3 + a liquidator + the local exchange, two bots
# in testnet mode (without and with the guardian), and the real May 2021 crash replayed into the oracles and
# the marks (about 2.5 minutes).
demo: $(STAMP) $(NODE_STAMP) $(AAVE_BUILD)
	$(BIN)/hedgebot demo

bench: $(STAMP) $(NODE_STAMP) $(AAVE_BUILD)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# The fault suite: the bot as a process on the devnet in testnet mode, every fault class injected for real
# (SIGKILLs, node, exchange, absurd data) over two strategies, judged from the exchange's order log and the
# chain; one row per fault class, exit 1 when a bad column is not 0 (about 30 minutes; README, Safety).
chaos: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m chaos --table docs/chaos-table.md

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build
