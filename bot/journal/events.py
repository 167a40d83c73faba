"""The journal as one time-ordered list of events, for `hedgebot journal`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.journal.journal import Journal

KINDS = ("snapshot", "decision", "order", "fill", "funding", "transaction", "alert")
# Snapshots come every block: opt in. Transactions are the guardian's on-chain defenses.
DEFAULT_KINDS = ("decision", "order", "fill", "funding", "transaction", "alert")


@dataclass(frozen=True, slots=True)
class JournalEvent:
    ts_ms: int
    kind: str
    text: str
    data: Mapping[str, Any]


def _num(value: float | None, fmt: str = ",.1f") -> str:
    return "-" if value is None else format(value, fmt)


def _snapshot(r: Mapping[str, Any]) -> str:
    return (
        f"HF {r['health_factor']:.3f}, {r['collateral_asset']} {_num(r['collateral_price_usd'])} "
        f"(liquidation {_num(r['liquidation_price_usd'])}), BTC {_num(r['btc_price'])}, "
        f"hedge {r['hedge_contracts']} contracts"
    )


def _decision(r: Mapping[str, Any]) -> str:
    return f"#{r['seq']} {r['strategy']} -> {r['contracts']} contracts: {r['reason']}"


def _order(r: Mapping[str, Any]) -> str:
    req = json.loads(r["request_json"])
    at = req["price"] if req["price"] is not None else req["trigger_price"]
    where = f" @ {_num(at)}" if at is not None else ""
    flags = " reduce-only" if req["reduce_only"] else ""
    origin = f" (decision #{r['decision_seq']})" if r["decision_seq"] is not None else ""
    detail = f": {r['detail']}" if r["detail"] else ""
    return (
        f"{r['client_id']} {req['side']} {req['type']} {req['contracts']}{where}{flags} [{r['state']}]{origin}{detail}"
    )


def _fill(r: Mapping[str, Any]) -> str:
    return f"{r['client_id']} {r['side']} {r['contracts']} @ {_num(r['price'])}, fee {r['fee_btc']:.8f} BTC"


def _funding(r: Mapping[str, Any]) -> str:
    verb = "received" if r["amount_btc"] >= 0 else "paid"
    return f"{verb} {abs(r['amount_btc']):.8f} BTC at rate {r['rate_8h']:.6f} on {r['contracts']} contracts"


def _transaction(r: Mapping[str, Any]) -> str:
    what = f"{r['kind']} {r['amount']} units of {r['asset_symbol']} (~{_num(r['amount_usd'], ',.2f')} USD)"
    if r["kind"] != "approve":
        what += f" for {r['borrower']}"
    hf = ""
    if r["health_factor_after"] is not None:
        hf = f", HF {_num(r['health_factor_before'], '.3f')} -> {r['health_factor_after']:.3f}"
    tx = f" {r['tx_hash']}" if r["tx_hash"] else ""
    nonce = f" nonce {r['nonce']}" if r["nonce"] is not None else ""
    detail = f": {r['detail']}" if r["detail"] else ""
    return f"{what} [{r['state']}]{tx}{nonce}{hf}{detail}"


def _alert(r: Mapping[str, Any]) -> str:
    return f"[{r['severity']}] {r['message']} ({r['outcome']})"


_QUERIES: dict[str, tuple[str, str, Callable[[Mapping[str, Any]], str]]] = {
    # kind: (SELECT ..., its timestamp column, text)
    "snapshot": ("SELECT * FROM snapshots", "ts_ms", _snapshot),
    "decision": ("SELECT seq, ts_ms, strategy, reason, contracts, snapshot_id FROM decisions", "ts_ms", _decision),
    "order": ("SELECT * FROM orders", "created_ms", _order),
    "fill": ("SELECT * FROM fills", "ts_ms", _fill),
    "funding": ("SELECT * FROM funding", "ts_ms", _funding),
    "transaction": ("SELECT * FROM transactions", "created_ms", _transaction),
    "alert": ("SELECT * FROM alerts", "ts_ms", _alert),
}


def events(
    journal: Journal, since_ms: int = 0, kinds: Iterable[str] = DEFAULT_KINDS, limit: int | None = None
) -> list[JournalEvent]:
    """Events at or after `since_ms`, oldest first; with `limit`, only the newest `limit` of them."""
    found: list[JournalEvent] = []
    if journal.schema_version() < 4:  # a journal from before the guardian, opened read-only
        kinds = [k for k in kinds if k != "transaction"]
    for kind in kinds:
        sql, ts_col, text = _QUERIES[kind]
        query = f"{sql} WHERE {ts_col} >= ? ORDER BY {ts_col} DESC, rowid DESC"
        params: list[Any] = [since_ms]
        if limit is not None:
            query += " LIMIT ?"
            params.append(limit)
        for row in reversed(journal.rows(query, params)):  # newest-first for LIMIT; back to oldest-first
            raw = dict(zip(row.keys(), tuple(row), strict=True))
            data = dict(raw)
            if "request_json" in data:
                data["request"] = json.loads(data.pop("request_json"))
            if "kind" in data:  # a transaction's own kind (approve, repay, supply): "kind" is the event's
                data["action"] = data.pop("kind")
            if kind == "snapshot" and data.get("matches_chain") is not None:  # SQLite's 0/1, as JSON's boolean
                data["matches_chain"] = bool(data["matches_chain"])
            if "ack_json" in data:
                ack = data.pop("ack_json")
                data["ack"] = json.loads(ack) if ack else None
            found.append(JournalEvent(int(raw[ts_col]), kind, text(raw), data))
    found.sort(key=lambda e: (e.ts_ms, KINDS.index(e.kind)))
    return found[-limit:] if limit is not None else found
