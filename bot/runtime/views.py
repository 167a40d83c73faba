"""How the engine presents the venue's account to a strategy."""

from __future__ import annotations

from bot.domain.orders import AccountState, is_protective_stop
from bot.domain.snapshot import HedgeView


def hedge_view(account: AccountState) -> HedgeView:
    """The futures leg as a strategy sees it, with the nearest resting protective stop."""
    stops = [
        o.trigger_price
        for o in account.open_orders
        if is_protective_stop(o.type, o.side, o.reduce_only) and o.trigger_price
    ]
    return HedgeView(
        contracts=account.position.contracts,
        entry_price=account.position.entry_price,
        equity_btc=account.equity_btc,
        stop_price=min(stops) if stops else None,
        liquidation_price=account.position.liquidation_price,
    )
