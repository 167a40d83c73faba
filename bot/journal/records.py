"""The journal's records: the frozen values Journal writes and reads back."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from enum import StrEnum

from bot.domain import inverse

# FundingPayment is the venue's value, journaled as it comes; re-exported for the journal's callers.
from bot.domain.orders import FundingPayment as FundingPayment
from bot.domain.orders import OrderRequest
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import Snapshot, StrategyState
from bot.journal.codec import request_from_dict


class OrderState(StrEnum):
    INTENT = "intent"  # recorded before sending; may or may not have reached the venue
    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    NOT_SENT = "not_sent"  # looked up after a crash: the venue never got it

    @property
    def live(self) -> bool:
        return self in (OrderState.INTENT, OrderState.OPEN)


@dataclass(frozen=True, slots=True)
class SnapshotSummary:
    """The figures of a snapshot worth keeping: what `hedgebot status` shows when the bot is down."""

    ts_ms: int
    health_factor: float
    liquidation_price_usd: float
    distance_to_liquidation: float
    collateral_asset: str
    collateral_price_usd: float
    debt_usd: float
    btc_price: float
    hedge_contracts: int  # signed: negative is short
    hedge_entry_price: float
    hedge_equity_btc: float
    funding_rate_8h: float
    hedge_pnl_btc: float = 0.0  # unrealised, at btc_price
    # Whether the exact replica matched Pool.getUserAccountData on the reading decided on (False: the
    # liquidation price is the bound price / HF); None: not known (no chain reading, or a row from before).
    matches_chain: bool | None = None

    @classmethod
    def of(cls, snap: Snapshot, matches_chain: bool | None = None) -> SnapshotSummary:
        lending, hedge = snap.lending, snap.hedge
        return cls(
            ts_ms=snap.now_ms,
            health_factor=lending.health_factor,
            liquidation_price_usd=lending.liquidation_price_usd,
            distance_to_liquidation=lending.distance_to_liquidation,
            collateral_asset=lending.collateral_asset,
            collateral_price_usd=lending.collateral_price_usd,
            debt_usd=lending.debt_usd,
            btc_price=snap.btc_price,
            hedge_contracts=hedge.contracts,
            hedge_entry_price=hedge.entry_price,
            hedge_equity_btc=hedge.equity_btc,
            funding_rate_8h=snap.funding_rate_8h,
            hedge_pnl_btc=inverse.pnl_btc(
                hedge.contracts, snap.instrument.contract_size_usd, hedge.entry_price, snap.btc_price
            )
            if hedge.contracts
            else 0.0,
            matches_chain=matches_chain,
        )


SNAPSHOT_COLUMNS = tuple(f.name for f in fields(SnapshotSummary))


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    seq: int
    ts_ms: int
    strategy: str
    plan: HedgePlan
    snapshot_id: int | None

    @property
    def reason(self) -> str:
        return self.plan.reason


@dataclass(frozen=True, slots=True)
class SavedStrategyState:
    decision_seq: int
    strategy: str
    state: StrategyState


@dataclass(frozen=True, slots=True)
class OrderIntent:
    """An order recorded before it was sent and never acknowledged: look it up by client id."""

    client_id: str
    decision_seq: int | None
    request: OrderRequest
    recorded_ms: int


@dataclass(frozen=True, slots=True)
class OrderRecord:
    client_id: str
    decision_seq: int | None
    request: OrderRequest
    state: OrderState
    venue_id: str | None
    filled_contracts: int
    average_price: float | None
    detail: str
    created_ms: int
    updated_ms: int


ORDER_COLUMNS = (
    "client_id, decision_seq, request_json, state, venue_id, filled_contracts, average_price, detail, "
    "created_ms, updated_ms"
)


def order_record_from_row(row: sqlite3.Row) -> OrderRecord:
    return OrderRecord(
        client_id=row["client_id"],
        decision_seq=row["decision_seq"],
        request=request_from_dict(json.loads(row["request_json"])),
        state=OrderState(row["state"]),
        venue_id=row["venue_id"],
        filled_contracts=row["filled_contracts"],
        average_price=row["average_price"],
        detail=row["detail"],
        created_ms=row["created_ms"],
        updated_ms=row["updated_ms"],
    )


def nan_if_null(value: float | None) -> float:
    # SQLite stores NaN as NULL; read it back as NaN so a summary round-trips.
    return float("nan") if value is None else float(value)


@dataclass(frozen=True, slots=True)
class ControlRequest:
    """A person's (or the engine's) request to kill or pause the bot, as journaled."""

    action: str  # "kill", "clear_kill", "pause", "resume"
    source: str  # "cli", "http", "file", "telegram", "dashboard", "engine"
    reason: str
    ts_ms: int


@dataclass(frozen=True, slots=True)
class ControlState:
    """What the controls in force are: the last kill not cleared since, the last pause not resumed since."""

    killed: ControlRequest | None = None
    paused: ControlRequest | None = None


class TxState(StrEnum):
    """Where one of the guardian's transactions is. Written before each step, so a crash leaves the truth."""

    INTENT = "intent"  # about to be signed; nothing can have left
    SIGNED = "signed"  # signed, hash known, about to be broadcast: may or may not have left
    SENT = "sent"  # a node accepted it; waiting for the receipt
    CONFIRMED = "confirmed"  # mined, status 1
    REVERTED = "reverted"  # mined, status 0: an alert and a re-plan, never a resend
    NOT_SENT = "not_sent"  # looked up after a crash: never reached the chain (its nonce is unused)
    DROPPED = "dropped"  # looked up after a crash: its nonce was used by another transaction
    REFUSED = "refused"  # never signed: the simulation reverted, or the gas price was above the cap
    SIMULATED = "simulated"  # dry-run: what would have been sent, simulated with eth_call, never signed

    @property
    def unresolved(self) -> bool:
        """It may be on its way: look it up before sending anything else."""
        return self in (TxState.INTENT, TxState.SIGNED, TxState.SENT)


@dataclass(frozen=True, slots=True, kw_only=True)
class TxIntent:
    """A transaction the guardian is about to sign (or, in dry-run, would send)."""

    defense_id: str  # groups an approve with the repay or supply it allows
    mode: str
    kind: str  # "approve", "repay", "supply"
    chain_id: int
    sender: str
    to_address: str
    borrower: str
    asset_symbol: str
    asset: str
    amount: int  # the token's smallest unit
    amount_usd: float
    target_health_factor: float | None
    reason: str
    nonce: int | None
    health_factor_before: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TxRecord:
    """A journaled transaction of the guardian, as it stands."""

    id: int
    intent: TxIntent
    state: TxState
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    health_factor_after: float | None
    detail: str
    created_ms: int
    updated_ms: int


TX_INTENT_COLUMNS = (
    "defense_id", "mode", "kind", "chain_id", "sender", "to_address", "borrower", "asset_symbol", "asset", "amount",
    "amount_usd", "target_health_factor", "reason", "nonce", "health_factor_before",
)  # fmt: skip


def tx_record_from_row(row: sqlite3.Row) -> TxRecord:
    values = {c: row[c] for c in TX_INTENT_COLUMNS}
    values["amount"] = int(values["amount"])
    return TxRecord(
        id=row["id"],
        intent=TxIntent(**values),
        state=TxState(row["state"]),
        tx_hash=row["tx_hash"],
        block_number=row["block_number"],
        gas_used=row["gas_used"],
        health_factor_after=row["health_factor_after"],
        detail=row["detail"],
        created_ms=row["created_ms"],
        updated_ms=row["updated_ms"],
    )
