"""The strategy API sees the whole account; a plugin written for one collateral still runs on it.

The account here is real Aave math (`account_health`, the exact replica, fed integers as the chain gives
them): 2 WETH at 3,000 and 0.1 WBTC at 60,000 against 5,000 USDC, and the same with a WETH debt.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.domain.instruments import Instrument
from bot.domain.lending.aave_math import V3_6, ReserveBalance, account_data
from bot.domain.lending.account import (
    AccountHealth,
    ChainAccountData,
    EModeCategory,
    ReserveState,
    UserReserve,
    account_health,
)
from bot.domain.lending.betas import AssetBeta, AssetBetas, fallback_beta
from bot.domain.orders import FLAT_POSITION, AccountState
from bot.domain.risk import RiskLimits
from bot.domain.sizing import hedge_contracts
from bot.domain.snapshot import HedgeView, Snapshot
from bot.monitors.lending_feed import lending_view
from bot.plugins import loader as plugins
from bot.runtime.decision import DecisionStep
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.reconcile import ReconcileSettings

OLD_STYLE_PLUGIN = '''
"""A plugin written for one collateral (interface 2): it reads only the single-collateral fields."""
from pydantic import Field
from strategies.base import HedgePlan, Snapshot, Strategy, StrategyParams


class OldParams(StrategyParams):
    ratio: float = Field(0.5, ge=0, le=1)
    leverage: float = Field(5.0, gt=0, le=10)


class OldStyle(Strategy[OldParams]):
    name = "old-style"
    summary = "hedges a share of the collateral, more when liquidation is near"
    risk_class = "low"
    Params = OldParams
    interface_version = 2

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        lending = snapshot.lending
        near = lending.distance_to_liquidation < 0.3 or lending.health_factor < 1.2
        ratio = 1.0 if near else self.params.ratio
        seen = (
            f"{lending.collateral_asset} {lending.collateral_amount:g} @ {lending.collateral_price_usd:g} = "
            f"{lending.collateral_usd:g}; liq {lending.liquidation_price_usd:.2f} "
            f"LT {lending.liquidation_threshold:g}; total {lending.total_collateral_usd:g} debt {lending.debt_usd:g}"
        )
        return self.plan(snapshot, ratio * lending.collateral_usd * self.beta(snapshot), reason=seen)
'''

WETH = ReserveState("0xW", "WETH", 18, 3_000 * 10**8, 8050, 8300, 0, reserve_id=0)
WBTC = ReserveState("0xB", "WBTC", 8, 60_000 * 10**8, 7300, 7800, 0, reserve_id=1)
USDC = ReserveState("0xU", "USDC", 6, 10**8, 7500, 7800, 0, reserve_id=2)


def beta_of(betas: dict[str, AssetBeta] | None) -> Callable[[str], float]:
    """The betas the lending feed hands the monitor: the measured ones, the class fallback for the rest."""
    return lambda symbol: (betas or {}).get(symbol.upper(), fallback_beta(symbol)).beta


def account(weth_debt: float = 0.0, betas: dict[str, AssetBeta] | None = None) -> AccountHealth:
    """The account through the exact replica, as the lending feed reads it; the chain's figures are the
    replica's (as on v3.6)."""
    reserves = [WETH, WBTC, USDC]
    balances = [
        UserReserve(2 * 10**18, 0, round(weth_debt * 10**18), True),
        UserReserve(10**7, 0, 0, True),
        UserReserve(0, 0, 5_000 * 10**6, False),
    ]
    rows = [
        ReserveBalance(r.asset, r.price, r.decimals, r.liquidation_threshold_bps, b.collateral, b.variable_debt,
                       b.used_as_collateral)
        for r, b in zip(reserves, balances, strict=True)
    ]  # fmt: skip
    d = account_data(rows, V3_6)
    chain = ChainAccountData(
        d.total_collateral_base, d.total_debt_base, 0, d.current_liquidation_threshold_bps, 0, d.health_factor_wad
    )
    return account_health("0xA", reserves, balances, chain, None, 10**8, 1, 1, False, V3_6, beta_of(betas))


def snapshot_of(health: AccountHealth, betas: dict[str, AssetBeta] | None = None) -> Snapshot:
    return Snapshot(
        now_ms=0,
        btc_price=60_000.0,
        lending=lending_view(health, "WETH", betas),
        hedge=HedgeView(contracts=0, entry_price=60_000.0, equity_btc=0.1),
        instrument=builtin_instrument("binancecoinm"),
    )


def test_an_old_style_plugin_runs_on_the_whole_account_and_reads_the_hedged_collateral(tmp_path: Path) -> None:
    path = tmp_path / "old_style.py"
    path.write_text(OLD_STYLE_PLUGIN)
    strategy = plugins.load(str(path), {"ratio": 0.5})
    health = account()
    snap = snapshot_of(health)
    plan = strategy.decide(snap)
    weth = health.collaterals[0]
    assert weth.liquidation_price_usd is not None
    # Every single-collateral field is WETH's, derived from the whole account.
    assert plan.reason == (f"WETH 2 @ 3000 = 6000; liq {weth.liquidation_price_usd:.2f} LT 0.83; total 12000 debt 5000")
    assert snap.lending.distance_to_liquidation == pytest.approx(1 - weth.liquidation_price_usd / 3_000)
    assert plan.hedge_usd == 0.5 * 6_000.0  # its own sizing, on WETH alone: what it always did


def test_built_in_strategies_size_on_the_beta_weighted_net_delta() -> None:
    snap = snapshot_of(account())
    lending = snap.lending
    assert [c.symbol for c in lending.collaterals] == ["WETH", "WBTC"]
    assert [(d.symbol, d.beta) for d in lending.debts] == [("USDC", 0.0)]
    assert lending.net_delta_usd == pytest.approx(1.1 * 6_000 + 1.0 * 6_000)  # the class fallbacks
    # max_stop_loss 1: the account's 6,000 USD of equity does not cap the hedge (capital preservation would).
    whole = {"hedge_ratio": 1.0, "max_stop_loss": 1.0}
    plan = plugins.load("percentage", whole).decide(snap)
    assert plan.hedge_usd == pytest.approx(12_600.0)
    instrument: Instrument = snap.instrument
    assert plan.contracts == hedge_contracts(12_600.0, 0.1, 60_000.0, instrument) == 186

    # A WETH debt takes its own beta-weighted value off: 1.1 x (6,000 - 1,500) + 6,000.
    with_debt = snapshot_of(account(weth_debt=0.5))
    assert with_debt.lending.net_delta_usd == pytest.approx(1.1 * 4_500 + 6_000)
    assert plugins.load("percentage", whole).decide(with_debt).hedge_usd == pytest.approx(10_950.0)

    # Measured betas replace the fallbacks, for the net delta and the market-wide fall alike.
    measured = {"WETH": AssetBeta(1.3, "measured", 2_000, 0.9), "WBTC": AssetBeta(1.0, "measured", 2_000, 0.99)}
    assert snapshot_of(account(betas=measured), measured).lending.net_delta_usd == pytest.approx(1.3 * 6_000 + 6_000)


def test_dynamic_measures_the_distance_with_the_whole_market_falling() -> None:
    lending = snapshot_of(account()).lending
    fall = lending.market_wide_fall
    assert fall is not None and lending.hedgeable
    # Every asset down by its beta times the fall: HF reaches 1 there (the replica is exact to 1e-6).
    weighted = 2 * 3_000 * (1 - 1.1 * fall) * 0.83 + 0.1 * 60_000 * (1 - fall) * 0.78
    assert weighted / 5_000 == pytest.approx(1.0, abs=1e-4)
    # WETH's own fall then, with everything else falling too: nearer than WETH falling alone.
    assert lending.account_distance_to_liquidation == pytest.approx(1.1 * fall)
    assert lending.account_distance_to_liquidation < lending.distance_to_liquidation


def test_an_emode_loop_is_not_hedgeable_and_the_decision_step_holds_no_short() -> None:
    # 5 wstETH (3,600) against 5.5 WETH (3,000) in an e-mode at 95 %: no market-wide fall liquidates it.
    wsteth = ReserveState("0xS", "wstETH", 18, 3_600 * 10**8, 7500, 8100, 0, reserve_id=3)
    reserves = [WETH, wsteth]
    balances = [UserReserve(0, 0, 55 * 10**17, False), UserReserve(5 * 10**18, 0, 0, True)]
    rows = [
        ReserveBalance("0xW", 3_000 * 10**8, 18, 9500, debt=55 * 10**17, used_as_collateral=False),
        ReserveBalance("0xS", 3_600 * 10**8, 18, 9500, collateral=5 * 10**18),
    ]
    d = account_data(rows, V3_6)
    chain = ChainAccountData(d.total_collateral_base, d.total_debt_base, 0, 9500, 0, d.health_factor_wad)
    emode = EModeCategory(1, 9300, 9500, collateral_bitmap=1 << 3)
    health = account_health("0xL", reserves, balances, chain, emode, 10**8, 1, 1, False, V3_6, beta_of(None))
    snap = snapshot_of(health)
    assert 1.0 < snap.lending.health_factor < 1.2
    assert snap.lending.market_wide_fall is None and not snap.lending.hedgeable
    assert snap.lending.collateral_asset == "wstETH"  # no WETH collateral: the largest one
    # The strategy would short its net delta; the decision step holds none, and says why.
    strategy = plugins.load("percentage", {"hedge_ratio": 1.0})
    assert strategy.decide(snap).contracts > 0
    account_state = AccountState(0.1, FLAT_POSITION, (), 60_000.0)
    decision = DecisionStep(strategy, RiskLimits(), ReconcileSettings()).decide(snap, account_state)
    assert decision.plan is not None and decision.plan.contracts == 0
    assert decision.plan.reason.startswith("not hedgeable with a BTC short")


def test_asset_betas_are_measured_after_a_day_of_bars_and_fall_back_by_class_before() -> None:
    betas = AssetBetas(bar_ms=3_600_000)  # hourly bars: trusted from 24 returns, over a week of 168
    assert (betas.window_bars, betas.min_samples) == (168, 24)
    btc, eth = 60_000.0, 3_000.0
    for i in range(30):
        move = 0.01 * math.sin(i)
        btc *= 1 + move
        eth *= 1 + 1.3 * move
        betas.update(btc, {"WETH": eth, "USDC": 1.0, "wstETH": 3_600.0})
        if i == 10:
            assert betas.beta("WETH") == fallback_beta("WETH", 10)
    weth = betas.beta("WETH")
    assert weth.source == "measured" and weth.beta == pytest.approx(1.3, rel=0.02) and weth.samples == 29
    assert betas.beta("USDC").beta == 0.0  # a stablecoin is 0, not measured
    flat = betas.beta("wstETH")  # an oracle price that never moved: no correlation, the class fallback
    assert (flat.beta, flat.source) == (1.1, "fallback: eth class")
    assert betas.beta("WBTC") == AssetBeta(1.0, "fallback: btc class")  # never seen
