"""The guardian in `hedgebot status`, GET /status and /metrics: on or "no key: no defense", its reserve, what it
spent today against HEDGEBOT_DEFENSE__MAX_USD_PER_DAY, and the collateral price at which the next defense fires."""

from __future__ import annotations

import math

import pytest

from bot.domain.defense import DefensePolicy, defense_status, defense_trigger_price
from bot.ops.metrics import Metrics
from bot.ops.status import NO_DEFENSE, BotStatus
from bot.ops.status_text import status_rows
from tests.domain.test_defense import guardian, lending

NOW_MS = 1_800_000_000_000


def metric(text: str, name: str) -> float:
    """The value of the sample line starting with `name` (labels included) in the exposition."""
    lines = [line for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{")]
    assert len(lines) == 1, (name, lines)
    return float(lines[0].rsplit(" ", 1)[1])


def test_without_a_key_status_and_metrics_say_no_defense() -> None:
    board = BotStatus(mode="testnet", started_ms=NOW_MS)
    doc = board.to_json(NOW_MS)
    assert doc["defense"] == {"enabled": False, "problem": NO_DEFENSE}
    assert ("defense", "off: no key: no defense") in status_rows(doc)
    text = Metrics(board, lambda: NOW_MS).render().decode()
    assert metric(text, "hedgebot_defense_enabled") == 0
    assert "hedgebot_defense_reserve" not in text


def test_with_a_key_status_and_metrics_show_the_reserve_the_day_and_the_next_defense() -> None:
    policy = DefensePolicy(max_usd_per_day=5_000.0)
    loan = lending(price=2_600.0)  # HF 1.30: above the trigger
    board = BotStatus(mode="testnet", started_ms=NOW_MS, defense_configured=True)
    board.defense = defense_status(loan, policy, guardian(reserve_usdc=1_000.0, spent=1_234.5))
    doc = board.to_json(NOW_MS)

    d = doc["defense"]
    assert d["enabled"] is True and d["asset_symbol"] == "USDC"
    assert d["reserve"] == pytest.approx(1_000.0) and d["reserve_usd"] == pytest.approx(1_000.0)
    assert (d["spent_today_usd"], d["max_usd_per_day"]) == (1_234.5, 5_000.0)
    fires_at = defense_trigger_price(loan, policy.trigger_health_factor)
    assert d["next_defense_price_usd"] == pytest.approx(fires_at)
    # At the trigger price the HF is the trigger: 1.15 = 10 x price x 0.83 / 16,600.
    assert fires_at == pytest.approx(1.15 * 16_600 / (10 * 0.83))
    # Repaying from 1.15 to 1.35 takes 16,600 x (1 - 1.15 / 1.35) = 2,459 USD: more than the reserve.
    assert d["next_defense_usd"] == pytest.approx(16_600 * (1 - 1.15 / 1.35))
    assert d["reserve_covers_next"] is False

    rows = dict(status_rows({**doc, "position": {**_position(loan.collateral_price_usd)}}))
    assert rows["defense"].startswith("on; repay USDC from 0x9999")
    assert rows["reserve"] == "1,000.00 USDC (1,000.00 USD)"
    assert rows["defended today"] == "1,234.50 of 5,000.00 USD a day (HEDGEBOT_DEFENSE__MAX_USD_PER_DAY)"
    assert rows["next defense"] == f"at WETH {fires_at:,.2f} USD (HF 1.15): ~2,459.26 USD; RESERVE TOO LOW for it"

    text = Metrics(board, lambda: NOW_MS).render().decode()
    assert metric(text, "hedgebot_defense_enabled") == 1
    assert metric(text, 'hedgebot_defense_reserve{asset="USDC"}') == pytest.approx(1_000.0)
    assert metric(text, "hedgebot_defense_reserve_usd") == pytest.approx(1_000.0)
    assert metric(text, "hedgebot_defense_spent_today_usd") == 1_234.5
    assert metric(text, "hedgebot_defense_max_usd_per_day") == 5_000.0
    assert metric(text, "hedgebot_defense_next_price_usd") == pytest.approx(fires_at, rel=1e-9)
    assert metric(text, "hedgebot_defense_reserve_covers_next") == 0


def test_a_guardian_that_cannot_act_says_why() -> None:
    board = BotStatus(mode="testnet", defense_configured=True)
    board.defense = defense_status(
        None, DefensePolicy(), guardian(reserve_usdc=0.0, enabled=False, problem="the guardian 0x9 holds no USDC")
    )
    doc = board.to_json(NOW_MS)
    rows = dict(status_rows(doc))
    assert rows["defense"].startswith("NOT ABLE TO DEFEND: the guardian 0x9 holds no USDC")
    assert rows["next defense"] == "none: no debt"
    assert math.isnan(board.defense.next_defense_price_usd) and doc["defense"]["next_defense_price_usd"] is None


def _position(price: float) -> dict[str, object]:
    return {
        "health_factor": 1.3,
        "liquidation_price_usd": 2_000.0,
        "collateral_asset": "WETH",
        "collateral_price_usd": price,
        "distance_to_liquidation": 0.2,
        "debt_usd": 16_600.0,
    }
