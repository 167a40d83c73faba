"""The journal's JSON forms of plans, order requests and orders, and back. Pure.

Hand-written rather than `dataclasses.asdict`: a plan's strategy state is a read-only mapping that
`asdict` cannot copy, and reading a row back must give the same frozen value types the engine uses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from bot.domain.orders import Order, OrderRequest, OrderType, Side
from bot.domain.plan import ConditionalEntry, EntryStyle, HedgePlan, StopTranche
from bot.domain.snapshot import StateValue, StrategyState


def dumps(obj: Any) -> str:
    """Compact JSON; non-finite floats are kept (Python's json reads them back)."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


def state_to_dict(state: StrategyState) -> dict[str, StateValue]:
    return dict(state)


def state_from_dict(data: Mapping[str, Any]) -> StrategyState:
    for key, value in data.items():
        if not (value is None or isinstance(value, float | int | str | bool)):
            raise ValueError(f"strategy state {key!r} holds a {type(value).__name__}, not a plain value")
    return MappingProxyType(dict(data))


def plan_to_dict(plan: HedgePlan) -> dict[str, Any]:
    return {
        "hedge_usd": plan.hedge_usd,
        "contracts": plan.contracts,
        "leverage": plan.leverage,
        "stops": [{"price": s.price, "contracts": s.contracts, "label": s.label} for s in plan.stops],
        "entry": plan.entry.value,
        "limit_offset_bps": plan.limit_offset_bps,
        "max_step_contracts": plan.max_step_contracts,
        "conditional": [
            {"trigger_price": c.trigger_price, "contracts": c.contracts, "stop_price": c.stop_price, "label": c.label}
            for c in plan.conditional
        ],
        "reason": plan.reason,
        "state": state_to_dict(plan.state),
    }


def plan_from_dict(data: Mapping[str, Any]) -> HedgePlan:
    return HedgePlan(
        hedge_usd=float(data["hedge_usd"]),
        contracts=int(data["contracts"]),
        leverage=float(data["leverage"]),
        stops=tuple(StopTranche(float(s["price"]), int(s["contracts"]), str(s["label"])) for s in data["stops"]),
        entry=EntryStyle(data["entry"]),
        limit_offset_bps=float(data["limit_offset_bps"]),
        max_step_contracts=None if data["max_step_contracts"] is None else int(data["max_step_contracts"]),
        conditional=tuple(
            ConditionalEntry(float(c["trigger_price"]), int(c["contracts"]), float(c["stop_price"]), str(c["label"]))
            for c in data["conditional"]
        ),
        reason=str(data["reason"]),
        state=state_from_dict(data["state"]),
    )


def request_to_dict(order: OrderRequest) -> dict[str, Any]:
    return {
        "client_id": order.client_id,
        "side": order.side.value,
        "type": order.type.value,
        "contracts": order.contracts,
        "price": order.price,
        "trigger_price": order.trigger_price,
        "reduce_only": order.reduce_only,
    }


def request_from_dict(data: Mapping[str, Any]) -> OrderRequest:
    return OrderRequest(
        client_id=str(data["client_id"]),
        side=Side(data["side"]),
        type=OrderType(data["type"]),
        contracts=int(data["contracts"]),
        price=None if data["price"] is None else float(data["price"]),
        trigger_price=None if data["trigger_price"] is None else float(data["trigger_price"]),
        reduce_only=bool(data["reduce_only"]),
    )


def order_to_dict(order: Order) -> dict[str, Any]:
    return {
        "client_id": order.client_id,
        "venue_id": order.venue_id,
        "side": order.side.value,
        "type": order.type.value,
        "contracts": order.contracts,
        "filled_contracts": order.filled_contracts,
        "status": order.status.value,
        "price": order.price,
        "trigger_price": order.trigger_price,
        "reduce_only": order.reduce_only,
        "average_price": order.average_price,
    }
