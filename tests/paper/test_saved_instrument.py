"""A paper account saved before the instrument lost its constant fields (0.1) loads unchanged."""

from __future__ import annotations

import json

from bot.paper.engine import PaperEngine
from bot.paper.orders import EngineSettings
from bot.venues.ccxt.registry import builtin_instrument


def test_a_paper_state_saved_with_is_inverse_and_settle_currency_still_loads() -> None:
    engine = PaperEngine(builtin_instrument("binancecoinm"), EngineSettings(), 0.3, 60_000)
    saved = json.loads(json.dumps(engine.to_dict()))
    saved["instrument"] |= {"settle_currency": "BTC", "is_inverse": True}  # as 0.1 wrote every instrument
    restored = PaperEngine.from_dict(saved)
    assert restored.instrument == engine.instrument and restored.wallet_btc == 0.3
