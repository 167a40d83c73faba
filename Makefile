# Two commands on a fresh machine: `make demo` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
NODE_STAMP := node_modules/.installed-stamp

.PHONY: install test lint typecheck unit demo bench clean

install: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The devnet's chain parts (anvil, the Aave V3 artifacts), pinned by package-lock.json.
$(NODE_STAMP): package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check bot strategies tests benchmarks
	$(BIN)/ruff format --check bot strategies tests benchmarks || true

typecheck: $(STAMP)
	$(BIN)/mypy

test: $(STAMP) $(NODE_STAMP)
	$(BIN)/ruff check bot strategies tests benchmarks
	$(BIN)/mypy
	$(BIN)/pytest -q

demo: $(STAMP) $(NODE_STAMP)
	$(BIN)/hedgebot plan --collateral-asset ETH --collateral-amount 3.3333333 --collateral-price 3000 \
	  --debt-usd 6000 --liquidation-threshold 0.825 --btc-price 60000 --exchange binancecoinm \
	  --strategy percentage --param hedge_ratio=0.5 --margin-btc 0 --beta 1

bench: $(STAMP) $(NODE_STAMP)
	@for script in benchmarks/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
