"""layered-stop: a base hedge plus conditional shorts that arm as the collateral nears liquidation.

Each layer rests on the exchange as a stop-market sell at the BTC price expected when the
collateral is `distance` away from its liquidation price (through beta). Once the mark crosses it the
layer is armed: counted in the target, protected by its own buy-stop `layer_stop_pct` above the price
it armed at. A layer whose stop is hit is disarmed and rests again below the market.

Every stop here only moves down: the base's follows the mark down from `stop_pct` above it, and an armed
layer's is re-armed from the current price whenever that is lower, so a layer armed during a spike does
not keep its stop at the spike once prices return.

Capital: the base follows `Strategy.plan`'s rules (sized on the account's equity, out for a while after a
stop-out); a stopped layer re-enters only where it armed the first time, below the market; and each
layer is sized so that its own stop costs at most `max_stop_loss` / (number of layers) of the equity.
"""

from __future__ import annotations

import math

from pydantic import Field, field_validator

from strategies.base import (
    ConditionalEntry,
    HedgePlan,
    Snapshot,
    StopTranche,
    Strategy,
    StrategyParams,
)


class LayeredStopParams(StrategyParams):
    # Defaults not searched: scored at them by walk-forward (`python benchmarks/walk_forward.py`).
    base_ratio: float = Field(0.2, ge=0, le=1.5, description="share of the collateral hedged at all times")
    layer_distances: tuple[float, ...] = Field(
        (0.25, 0.15, 0.08), description="distances to liquidation (fractions) at which layers arm, far to near"
    )
    layer_ratio: float = Field(0.25, gt=0, le=1.0, description="share of the collateral each layer adds")
    layer_stop_pct: float = Field(0.04, gt=0, lt=1, description="each layer's stop above its trigger (fraction)")
    leverage: float = Field(8.0, gt=0, le=15, description="leverage of the short (x)")

    @field_validator("layer_distances", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(float(v) for v in value.split(",") if v.strip())
        return value

    @field_validator("layer_distances")
    @classmethod
    def _valid(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or any(not 0 < d < 1 for d in value):
            raise ValueError("each layer distance must be a fraction between 0 and 1")
        return tuple(sorted(value, reverse=True))


class LayeredStop(Strategy[LayeredStopParams]):
    name = "layered-stop"
    summary = "Base hedge plus conditional shorts that arm near the liquidation price, each with its own stop."
    risk_class = "medium"
    Params = LayeredStopParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        p = self.params
        lending = snapshot.lending
        beta = self.beta(snapshot)
        size = snapshot.instrument.contract_size_usd
        base_stop = self._base_stop(snapshot)
        # Each layer's share of the loss budget: all of them stopped together cost at most max_stop_loss.
        layer_budget_usd = p.max_stop_loss * max(0.0, snapshot.hedge_equity_usd) / len(p.layer_distances)
        layer_cap_usd = layer_budget_usd / p.layer_stop_pct if layer_budget_usd > 0 else math.inf  # 0: unknown
        base = self.plan(
            snapshot,
            p.base_ratio * self.exposure_usd(snapshot),
            reason=f"base {p.base_ratio:.0%}",
            stop_price=base_stop,
        )
        contracts = base.contracts
        stops = list(base.stops)
        conditional: list[ConditionalEntry] = []
        state: dict[str, float | None] = {}
        armed_count = 0
        stopped_layers = 0
        liq = lending.liquidation_price_usd
        for i, distance in enumerate(p.layer_distances):
            key, rearm_key = f"armed_{i}", f"rearm_{i}"
            armed_at = snapshot.state.get(key)
            last_rearm = snapshot.state.get(rearm_key)  # after a stop: the layer re-arms only below this BTC price
            rearm = float(last_rearm) if isinstance(last_rearm, int | float) else None
            if armed_at is not None and snapshot.btc_price >= float(armed_at) * (1 + p.layer_stop_pct):
                rearm, armed_at = float(armed_at), None  # its stop was hit: disarm, and re-arm where it first did
            if not math.isfinite(liq) or liq <= 0:
                state[key] = state[rearm_key] = None
                continue
            collateral_trigger = liq / (1.0 - distance)
            if lending.collateral_price_usd > collateral_trigger:
                rearm = None  # the collateral is back above the layer's trigger: the layer starts afresh
            layer_usd = min(p.layer_ratio * lending.collateral_amount * collateral_trigger * beta, layer_cap_usd)
            layer_contracts = round(layer_usd / size)
            if layer_contracts < 1:
                state[key], state[rearm_key] = None, rearm  # the account's equity no longer carries a layer
                continue
            btc_trigger = self.btc_price_for_collateral_move(snapshot, collateral_trigger, beta)
            if rearm is not None:
                btc_trigger = min(btc_trigger, rearm)
            crossed = lending.collateral_price_usd <= collateral_trigger
            if armed_at is None and crossed and (rearm is None or snapshot.btc_price <= rearm):
                armed_at = snapshot.btc_price  # crossed since the last decision: arm at the mark
                rearm = None
            if armed_at is not None:
                armed_at = min(float(armed_at), snapshot.btc_price)  # re-armed lower: its stop moves down only
                contracts += layer_contracts
                stops.append(StopTranche(float(armed_at) * (1 + p.layer_stop_pct), layer_contracts, f"layer{i}"))
                armed_count += 1
            else:
                stopped_layers += rearm is not None
                conditional.append(
                    ConditionalEntry(btc_trigger, layer_contracts, btc_trigger * (1 + p.layer_stop_pct), f"layer{i}")
                )
            state[key] = None if armed_at is None else float(armed_at)
            state[rearm_key] = None if rearm is None else rearm
        state["base_stop"] = base_stop if base.contracts else None
        notes = [base.reason, f"{armed_count}/{len(p.layer_distances)} layers armed"]
        if layer_cap_usd < p.layer_ratio * lending.collateral_usd * beta:
            notes.append(f"layers sized on equity: each stop costs at most {layer_budget_usd:,.0f} USD")
        if stopped_layers:
            notes.append(f"{stopped_layers} stopped layer(s) re-arm only below where they first armed")
        notes.append(f"distance to liquidation {lending.distance_to_liquidation:.1%}")
        return HedgePlan(
            hedge_usd=base.hedge_usd,
            contracts=contracts,
            leverage=base.leverage,
            stops=tuple(stops),
            conditional=tuple(conditional),
            reason="; ".join(notes),
            state={**base.state, **state},
        )

    def _base_stop(self, snapshot: Snapshot) -> float:
        """The base tranche's stop: `stop_pct` above the mark (inside the liquidation price), then lowered only
        while the short is held."""
        wanted = self.stop_above(snapshot.btc_price, self.stop_distance(snapshot))
        last = snapshot.state.get("base_stop")
        if snapshot.hedge.short_contracts > 0 and isinstance(last, int | float) and last > snapshot.btc_price:
            return min(last, wanted)
        return wanted
