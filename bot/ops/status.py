"""The bot's status: a board the engine updates, and the one JSON shape `GET /status` and `hedgebot status` show.

The same shape is built from the journal when the bot is not running, so a person (or a script) reads
one format whichever source answered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.domain.defense import DefenseStatus
from bot.domain.orders import AccountState, is_protective_stop
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import Snapshot
from bot.journal.journal import Journal, OrderState
from bot.journal.records import ControlRequest
from bot.ops.kill import KillSwitch, read_kill_file
from bot.ops.output import jsonable
from bot.ops.pause import PauseSwitch


@dataclass(frozen=True, slots=True)
class AssetStatus:
    """One collateral or debt of the account, as the bot weighs it."""

    side: str  # "collateral" or "debt"
    symbol: str
    usd: float
    beta: float  # to BTC
    beta_source: str  # "measured", "fallback: eth class", "stablecoin", ...
    liquidation_price_usd: float  # a collateral's own (other prices held); NaN for a debt or without debt


@dataclass(frozen=True, slots=True)
class PositionStatus:
    """The lending position."""

    health_factor: float
    liquidation_price_usd: float  # of the hedged collateral
    collateral_asset: str
    collateral_price_usd: float
    distance_to_liquidation: float  # fractional fall of the collateral price to liquidation
    debt_usd: float
    # False: the replica disagreed with the Pool and liquidation_price_usd is the bound price / HF;
    # None: not known (no chain reading yet, or a journal row from before the journal kept it).
    matches_chain: bool | None = None
    # The whole account (None: not known, as read from the journal): every collateral and debt with its beta,
    # the beta-weighted net delta the hedge is sized on, the market-wide fall to HF 1, and whether a BTC short
    # protects it at all.
    net_delta_usd: float | None = None
    market_wide_fall: float | None = None
    hedgeable: bool | None = None
    assets: tuple[AssetStatus, ...] = ()


@dataclass(frozen=True, slots=True)
class StopStatus:
    price: float
    contracts: int


@dataclass(frozen=True, slots=True)
class HedgeStatus:
    """The futures leg."""

    contracts: int  # signed: negative is short
    entry_price: float
    mark_price: float
    pnl_btc: float  # unrealised
    funding_paid_btc: float  # positive: the short paid funding; negative: it received
    stops: tuple[StopStatus, ...] = ()

    @property
    def pnl_usd(self) -> float:
        return self.pnl_btc * self.mark_price


@dataclass(frozen=True, slots=True)
class DecisionStatus:
    seq: int
    ts_ms: int
    strategy: str
    target_contracts: int
    reason: str


@dataclass(frozen=True, slots=True)
class FeedStatus:
    last_update_ms: int
    max_age_s: float


NO_DEFENSE = "no key: no defense"  # the status of a bot without HEDGEBOT_DEFENSE__PRIVATE_KEY


def defense_document(configured: bool | None, defense: DefenseStatus | None) -> dict[str, Any] | None:
    """The status document's "defense": the guardian's status lines, or why there is no defense.

    `configured` None: not known (the journal does not say whether the bot had a key).
    """
    if configured is False:
        return {"enabled": False, "problem": NO_DEFENSE}
    if defense is None:
        return None
    return asdict(defense)


@dataclass
class BotStatus:
    """What the engine shows the world. The engine replaces whole frozen parts; readers never see half an update."""

    mode: str = "dry-run"
    started_ms: int = 0
    position: PositionStatus | None = None
    hedge: HedgeStatus | None = None
    last_decision: DecisionStatus | None = None
    feeds: dict[str, FeedStatus] = field(default_factory=dict)
    halted: bool = False
    halt_reason: str | None = None
    defense_configured: bool = False  # a guardian key is set
    defense: DefenseStatus | None = None  # the guardian's latest status (reserve, spent today, next defense)

    def feed_seen(self, name: str, ts_ms: int, max_age_s: float) -> None:
        self.feeds[name] = FeedStatus(ts_ms, max_age_s)

    def observe_snapshot(self, snap: Snapshot, matches_chain: bool | None = None) -> None:
        """Take the lending position from the snapshot a decision was made on (and whether its replica agreed
        with the Pool)."""
        lending = snap.lending
        self.position = PositionStatus(
            lending.health_factor,
            lending.liquidation_price_usd,
            lending.collateral_asset,
            lending.collateral_price_usd,
            lending.distance_to_liquidation,
            lending.debt_usd,
            matches_chain,
            lending.net_delta_usd if lending.whole_account else None,
            lending.market_wide_fall,
            lending.hedgeable,
            tuple(
                AssetStatus(side, a.symbol, a.value_usd, a.beta, a.beta_source, a.liquidation_price_usd)
                for side, legs in (("collateral", lending.collaterals), ("debt", lending.debts))
                for a in legs
            ),
        )

    def observe_account(self, account: AccountState, funding_paid_btc: float) -> None:
        """Take the hedge from the venue's account read: position, PnL and our resting protective stops."""
        stops = tuple(
            StopStatus(o.trigger_price, o.contracts - o.filled_contracts)
            for o in account.open_orders
            if is_protective_stop(o.type, o.side, o.reduce_only) and o.trigger_price is not None
        )
        pos = account.position
        self.hedge = HedgeStatus(
            pos.contracts, pos.entry_price, account.mark_price, pos.unrealized_pnl_btc, funding_paid_btc, stops
        )

    def observe_decision(self, seq: int, ts_ms: int, strategy: str, plan: HedgePlan) -> None:
        self.last_decision = DecisionStatus(seq, ts_ms, strategy, plan.contracts, plan.reason)

    def halt(self, reason: str) -> None:
        self.halted, self.halt_reason = True, reason

    def resume(self) -> None:
        self.halted, self.halt_reason = False, None

    def to_json(self, now_ms: int, source: str = "http") -> dict[str, Any]:
        """The status document at `now_ms` (feed ages are computed now, not when they were stored)."""
        return status_document(
            source=source,
            now_ms=now_ms,
            mode=self.mode,
            started_ms=self.started_ms,
            halted=self.halted,
            halt_reason=self.halt_reason,
            position=self.position,
            hedge=self.hedge,
            last_decision=self.last_decision,
            feeds=self.feeds,
            defense=defense_document(self.defense_configured, self.defense),
        )


def status_document(
    *,
    source: str,
    now_ms: int,
    mode: str | None,
    started_ms: int | None,
    halted: bool | None,
    halt_reason: str | None,
    position: PositionStatus | None,
    hedge: HedgeStatus | None,
    last_decision: DecisionStatus | None,
    feeds: Mapping[str, FeedStatus],
    defense: dict[str, Any] | None = None,
) -> dict[str, Any]:
    hedge_doc: dict[str, Any] | None = None
    if hedge is not None:
        hedge_doc = asdict(hedge)
        hedge_doc["pnl_usd"] = hedge.pnl_usd
    doc: dict[str, Any] = jsonable(
        {
            "source": source,
            "now_ms": now_ms,
            "mode": mode,
            "started_ms": started_ms,
            "halted": halted,
            "halt_reason": halt_reason,
            "position": None if position is None else asdict(position),
            "hedge": hedge_doc,
            "last_decision": None if last_decision is None else asdict(last_decision),
            "feeds": {
                name: {
                    "age_s": (now_ms - f.last_update_ms) / 1000,
                    "max_age_s": f.max_age_s,
                    "stale": (now_ms - f.last_update_ms) / 1000 > f.max_age_s,
                }
                for name, f in feeds.items()
            },
            "defense": defense,
        }
    )
    return doc


def live_status(board: BotStatus, kill: KillSwitch, pause: PauseSwitch, now_ms: int) -> dict[str, Any]:
    """The running bot's status document, with the kill and the pause in force (GET /status, Telegram)."""
    doc = board.to_json(now_ms)
    doc["kill_requested"] = kill.requested
    killed = kill.request
    doc["kill"] = None if killed is None else {"source": killed.source, "reason": killed.reason, "ts_ms": killed.ts_ms}
    doc["paused"] = pause.paused
    held = pause.request
    doc["pause"] = None if held is None else {"source": held.source, "reason": held.reason, "ts_ms": held.ts_ms}
    return doc


def status_from_journal(journal: Journal, now_ms: int, kill_file: Path | None = None) -> dict[str, Any]:
    """The status document as the journal last saw it: the bot's latest snapshot, decision, stops and funding,
    and the kill or pause in force (journaled, or a kill file a stopped bot has not read yet)."""
    snap = journal.latest_snapshot()
    decision = journal.latest_decision()
    position = hedge = None
    feeds: dict[str, FeedStatus] = {}
    if snap is not None:
        position = PositionStatus(
            snap.health_factor,
            snap.liquidation_price_usd,
            snap.collateral_asset,
            snap.collateral_price_usd,
            snap.distance_to_liquidation,
            snap.debt_usd,
            snap.matches_chain,
        )
        stops = tuple(
            StopStatus(o.request.trigger_price or math.nan, o.request.contracts - o.filled_contracts)
            for o in journal.orders(states=[OrderState.OPEN])
            if is_protective_stop(o.request.type, o.request.side, o.request.reduce_only)
        )
        hedge = HedgeStatus(
            contracts=snap.hedge_contracts,
            entry_price=snap.hedge_entry_price,
            mark_price=snap.btc_price,
            pnl_btc=snap.hedge_pnl_btc,
            funding_paid_btc=-journal.funding_total_btc(),
            stops=stops,
        )
        # With the bot down, the only freshness known is the journal's newest snapshot.
        feeds["journal snapshot"] = FeedStatus(snap.ts_ms, math.inf)
    last = (
        None
        if decision is None
        else DecisionStatus(decision.seq, decision.ts_ms, decision.strategy, decision.plan.contracts, decision.reason)
    )
    doc = status_document(
        source="journal",
        now_ms=now_ms,
        mode=None,
        started_ms=None,
        halted=None,
        halt_reason=None,
        position=position,
        hedge=hedge,
        last_decision=last,
        feeds=feeds,
    )
    controls = journal.control_state()
    killed = controls.killed
    if killed is None and kill_file is not None:
        from_file = read_kill_file(kill_file, now_ms)
        if from_file is not None:
            killed = ControlRequest("kill", from_file.source, from_file.reason, from_file.ts_ms)
    doc["kill_requested"] = killed is not None
    doc["kill"] = None if killed is None else {"source": killed.source, "reason": killed.reason, "ts_ms": killed.ts_ms}
    paused = controls.paused
    doc["paused"] = paused is not None
    doc["pause"] = None if paused is None else {"source": paused.source, "reason": paused.reason, "ts_ms": paused.ts_ms}
    return doc
