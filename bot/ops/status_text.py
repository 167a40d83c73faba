"""The status document as lines for a person: `hedgebot status` prints them, Telegram answers with them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.ops.output import format_value

Rows = list[tuple[str, str]]


def iso_ms(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _f(value: Any, fmt: str = ",.2f") -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = format(value, fmt)
        # A value that rounds to zero prints as zero, not "-0.00000000" (B19).
        return text[1:] if text.startswith("-") and not any(c in "123456789" for c in text) else text
    return "∞" if value == "Infinity" else format_value(value)


def control_rows(doc: dict[str, Any]) -> Rows:
    """Halted, killed, paused: what holds the bot back, if anything."""
    rows: Rows = []
    if doc.get("halted") is not None:
        rows.append(("halted", f"yes: {doc.get('halt_reason')}" if doc["halted"] else "no"))
    if doc.get("kill_requested"):
        kill = doc.get("kill") or {}
        detail = f": by {kill['source']}, {kill['reason']} (clear: hedgebot kill --clear)" if kill else ""
        rows.append(("kill", "in force" + detail))
    if doc.get("paused"):
        pause = doc.get("pause") or {}
        detail = f": by {pause['source']}, {pause['reason']}" if pause else ""
        rows.append(("paused", f"yes{detail} (no new orders, stops kept; resume: hedgebot resume)"))
    return rows


def position_rows(doc: dict[str, Any]) -> Rows:
    pos = doc.get("position")
    if not pos:
        return []
    distance = pos["distance_to_liquidation"]
    away = f"{distance * 100:.1f} % away" if isinstance(distance, int | float) else "no debt"
    rows: Rows = [
        ("health factor", _f(pos["health_factor"], ".3f")),
        (
            "liquidation price",
            f"{_f(pos['liquidation_price_usd'])} USD ({pos['collateral_asset']} at "
            f"{_f(pos['collateral_price_usd'])}; {away})",
        ),
    ]
    rows += account_rows(pos)
    matches = pos.get("matches_chain")
    if matches is not None:
        rows.append(
            (
                "matches_chain",
                "yes: the exact replica"
                if matches
                else "NO: the replica disagrees with the Pool; the price above is the bound price / HF",
            )
        )
    return rows


def account_rows(pos: dict[str, Any]) -> Rows:
    """The whole account: each asset with its beta, the net delta hedged, the market-wide fall, hedgeable."""
    rows: Rows = []
    for side in ("collateral", "debt"):
        legs = [a for a in pos.get("assets") or [] if a["side"] == side]
        if legs:
            parts = []
            for a in legs:
                liq = a["liquidation_price_usd"]
                own = f", liquidation {_f(liq)}" if isinstance(liq, int | float) and side == "collateral" else ""
                parts.append(f"{a['symbol']} {_f(a['usd'], ',.0f')} USD (beta {_f(a['beta'])} {a['beta_source']}{own})")
            rows.append((side + ("s" if len(legs) > 1 else ""), "; ".join(parts)))
    if pos.get("net_delta_usd") is not None:
        rows.append(
            ("net delta", f"{_f(pos['net_delta_usd'], ',.0f')} USD of BTC (collaterals minus volatile debts, by beta)")
        )
    fall = pos.get("market_wide_fall")
    if isinstance(fall, int | float):
        rows.append(("market-wide fall", f"{fall * 100:.2f} % of BTC, every asset with its beta, takes HF to 1"))
    if pos.get("hedgeable") is False:
        rows.append(("hedgeable", "NO: collateral and debt move together (the peg is the risk): no BTC short is held"))
    return rows


def hedge_rows(doc: dict[str, Any]) -> Rows:
    """The futures leg: side and size, PnL, funding, stops."""
    hedge = doc.get("hedge")
    if not hedge:
        return [("hedge", "none recorded yet")]
    side = "short" if hedge["contracts"] < 0 else ("long" if hedge["contracts"] > 0 else "flat")
    stops = ", ".join(f"buy {s['contracts']} @ {_f(s['price'], ',.1f')}" for s in hedge["stops"]) or "none"
    return [
        (
            "hedge",
            f"{side} {abs(hedge['contracts'])} contracts @ {_f(hedge['entry_price'], ',.1f')}, "
            f"mark {_f(hedge['mark_price'], ',.1f')}",
        ),
        ("hedge PnL", f"{_f(hedge['pnl_btc'], '.8f')} BTC ({_f(hedge['pnl_usd'])} USD)"),
        ("funding paid", f"{_f(hedge['funding_paid_btc'], '.8f')} BTC"),
        ("stops", stops),
    ]


def defense_rows(doc: dict[str, Any]) -> Rows:
    """The guardian: on or off (and why), its reserve, what it spent today against the limit, the next defense."""
    d = doc.get("defense")
    if not d:
        return []
    if not d.get("enabled") and "reserve" not in d:
        return [("defense", f"off: {d.get('problem')}")]
    state = "on" if d["enabled"] else f"NOT ABLE TO DEFEND: {d.get('problem')}"
    asset = d["asset_symbol"]
    rows: Rows = [
        (
            "defense",
            f"{state}; {d['action']} {asset} from {d['address']} when HF < {_f(d['trigger_health_factor'], '.2f')}, "
            f"to {_f(d['target_health_factor'], '.2f')}",
        ),
        ("reserve", f"{_f(d['reserve'])} {asset} ({_f(d['reserve_usd'])} USD)"),
        (
            "defended today",
            f"{_f(d['spent_today_usd'])} of {_f(d['max_usd_per_day'])} USD a day (HEDGEBOT_DEFENSE__MAX_USD_PER_DAY)",
        ),
    ]
    price = d.get("next_defense_price_usd")
    collateral = (doc.get("position") or {}).get("collateral_asset", "the collateral")
    covered = "the reserve covers it" if d["reserve_covers_next"] else "RESERVE TOO LOW for it"
    if isinstance(price, int | float):
        rows.append(
            (
                "next defense",
                f"at {collateral} {_f(price)} USD (HF {_f(d['trigger_health_factor'], '.2f')}): "
                f"~{_f(d['next_defense_usd'])} USD; {covered}",
            )
        )
    else:
        rows.append(("next defense", "none: no debt"))
    return rows


def status_rows(doc: dict[str, Any]) -> Rows:
    """Every row of `hedgebot status`, in its order."""
    rows = control_rows(doc) + position_rows(doc) + defense_rows(doc)
    if doc.get("hedge"):
        rows += hedge_rows(doc)
    decision = doc.get("last_decision")
    if decision:
        rows.append(
            (
                "last decision",
                f"#{decision['seq']} at {iso_ms(decision['ts_ms'])}, {decision['strategy']} -> "
                f"{decision['target_contracts']} contracts: {decision['reason']}",
            )
        )
    feeds = doc.get("feeds") or {}
    if feeds:
        parts = []
        for name, feed in feeds.items():
            limit = f", limit {_f(feed['max_age_s'], 'g')} s" if feed["max_age_s"] != "Infinity" else ""
            parts.append(f"{name} {_f(feed['age_s'], '.1f')} s ago{limit}{' STALE' if feed['stale'] else ''}")
        rows.append(("feeds", "; ".join(parts)))
    if not doc.get("position") and not decision:
        rows.append(("journal", "nothing recorded yet"))
    return rows


def format_rows(rows: Rows) -> str:
    """Two aligned columns, indented."""
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"  {key:<{width}}  {value}" for key, value in rows)
