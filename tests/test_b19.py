"""B19: the small things a new user tripped over: a default leverage the risk layer always clipped, a negative
zero, a file path where a strategy's name belongs, an internal name in the local exchange's answer."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import RiskSettings
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.ops.status_text import _f
from bot.paper import PaperEngine
from bot.paper.errors import PrecisionError
from bot.plugins import loader as plugins
from bot.venues.ccxt.registry import builtin_instrument


@pytest.mark.parametrize("name", sorted(plugins.available()))
def test_every_builtin_default_leverage_is_within_the_default_caps(name: str) -> None:
    """stop-hunt-scalp asked for 25x by default, and the 20x global cap clipped it on every decision."""
    strategy = plugins.load(name, {})
    assert strategy.params.leverage <= min(strategy.leverage_cap, RiskSettings().max_leverage)


def test_a_value_that_rounds_to_zero_prints_without_a_sign() -> None:
    assert _f(-1e-12, ".8f") == "0.00000000"
    assert _f(-0.0, ",.2f") == "0.00"
    assert _f(-0.5, ".8f") == "-0.50000000"


def test_the_trades_csv_names_a_file_strategy_by_its_name(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin = tmp_path / "my_hedge.py"
    plugin.write_text(
        "from strategies.percentage import Percentage\n\n\nclass MyHedge(Percentage):\n    name = 'my-hedge'\n"
    )
    args = ["backtest", "--btc-data", str(shared_data / "binance_BTCUSDT_1h.csv.gz"), "--collateral-data",
            str(shared_data / "binance_ETHUSDT_1h.csv.gz"), "--start", "2021-05-12", "--end", "2021-05-15",
            "--strategy", str(plugin), "--report", str(tmp_path / "rep"), "--json"]  # fmt: skip
    assert main(args) == 0
    capsys.readouterr()
    with (tmp_path / "rep" / "trades.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {r["strategy"] for r in rows} == {"my-hedge"}


def test_an_off_tick_price_is_refused_in_the_exchanges_words() -> None:
    engine = PaperEngine(builtin_instrument("binancecoinm"))
    engine.move(60_000.0)
    with pytest.raises(PrecisionError) as refused:
        engine.submit(OrderRequest("x", Side.SELL, OrderType.LIMIT, 1, price=60_000.05))
    assert "Instrument" not in refused.value.message and "multiple of 0.1" in refused.value.message
