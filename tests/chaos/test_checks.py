"""The chaos suite's measures, on plain records: what counts as a fresh decision, a duplicate, an orphan, an
order on bad data, a leaked secret, and which fault a finding is charged to."""

from __future__ import annotations

from typing import Any

from chaos import checks
from chaos.proxy import Record


def rpc(t: float, block: int, ok: bool = True) -> Record:
    return Record(t, "POST", "/", t_end=t + 0.01, status=200 if ok else 503, rpc_block=block, rpc_ok=ok)


def read(t: float, status: int | None = 200, path: str = checks.ACCOUNT_READ) -> Record:
    return Record(t, "GET", path, t_end=t + 0.01, status=status)


def order(*, cid: str, ts_ms: int, outcome: str = "accepted") -> dict[str, Any]:
    return {"client_id": cid, "ts_ms": ts_ms, "outcome": outcome}


def resting(*, cid: str, created_ms: int, contracts: int, stop: bool = True, status: str = "open") -> dict[str, Any]:
    return {
        "client_id": cid,
        "created_ms": created_ms,
        "type": "stop_market",
        "side": "buy" if stop else "sell",
        "reduce_only": stop,
        "status": status,
        "contracts": contracts,
        "filled_contracts": 0,
    }


def test_a_fresh_decision_reads_the_account_after_reading_the_chain_at_the_head_of_the_fault_end() -> None:
    chain = [rpc(1.0, 10), rpc(5.0, 10), rpc(12.0, 14)]
    exchange = [read(6.0), read(11.0), read(11.5, status=503), read(12.5), read(13.0)]
    # The fault ended at 10.0 with the head at 14: decisions at 11.0 still priced the block-10 view.
    assert checks.fresh_decision(10.0, 14, chain, exchange) == 12.5
    # An exchange fault with the chain current: the first good account read after the end is fresh.
    assert checks.fresh_decision(10.0, 10, chain, exchange) == 11.0
    assert checks.fresh_decision(10.0, 15, chain, exchange) is None  # never read the head: none yet


def test_a_chain_read_that_failed_does_not_make_a_decision_fresh() -> None:
    assert checks.fresh_decision(0.0, 3, [rpc(1.0, 3, ok=False)], [read(2.0)]) is None


def test_a_restarted_bot_is_back_at_its_first_account_read() -> None:
    records = [read(1.0), read(2.0, path="/dapi/v1/exchangeInfo"), read(3.0)]
    assert checks.first_account_read(1.5, records) == 3.0


def test_an_id_accepted_twice_is_one_duplicate_and_a_refused_resend_is_none() -> None:
    log = [
        order(cid="a", ts_ms=1),
        order(cid="a", ts_ms=2, outcome="rejected -4116"),
        order(cid="b", ts_ms=3),
        order(cid="b", ts_ms=4),
    ]
    assert [row["ts_ms"] for row in checks.duplicates(log)] == [4]


def test_orders_on_bad_data_are_those_answered_inside_the_window() -> None:
    log = [order(cid="a", ts_ms=999), order(cid="b", ts_ms=1_000), order(cid="c", ts_ms=2_500)]
    assert [r["client_id"] for r in checks.orders_between(log, 1.0, 2.0)] == ["b"]


def test_the_newest_stops_that_fit_the_short_are_needed_and_the_rest_are_orphans() -> None:
    orders = [
        resting(cid="old", created_ms=1, contracts=300),
        resting(cid="new", created_ms=2, contracts=300),
        resting(cid="entry", created_ms=3, contracts=50, stop=False),
        resting(cid="gone", created_ms=4, contracts=300, status="canceled"),
    ]
    end = checks.end_state(orders, contracts=-300)
    assert sorted(o["client_id"] for o in end.orphans) == ["entry", "old"]
    assert end.unprotected_contracts == 0


def test_a_stop_larger_than_the_short_protects_all_of_it() -> None:
    end = checks.end_state([resting(cid="s", created_ms=1, contracts=480)], contracts=-474)
    assert end.orphans == [] and end.unprotected_contracts == 0


def test_a_short_with_too_little_stop_is_reported_unprotected_and_a_stop_without_a_short_is_an_orphan() -> None:
    assert (
        checks.end_state([resting(cid="s", created_ms=1, contracts=200)], contracts=-300).unprotected_contracts == 100
    )
    flat = checks.end_state([resting(cid="s", created_ms=1, contracts=200)], contracts=0)
    assert [o["client_id"] for o in flat.orphans] == ["s"] and flat.unprotected_contracts == 0


def test_secrets_are_found_whatever_their_case_and_named_never_quoted() -> None:
    texts = [
        checks.Text("bot.log:1", 5.0, "GET http://127.0.0.1:9/v2/chaosrpcabcdef failed"),
        checks.Text("bot.log:2", 6.0, "url=http://127.0.0.1:9/V2/CHAOSRPCABCDEF"),
        checks.Text("GET /status", 7.0, '{"halted": false}'),
    ]
    found = checks.find_secrets(texts, {"RPC URL key": "chaosrpcabcdef", "HTTP token": "chaostoken123"})
    assert [(f.name, f.where) for f in found] == [("RPC URL key", "bot.log:1"), ("RPC URL key", "bot.log:2")]


def test_log_lines_take_their_time_and_a_traceback_line_the_one_before() -> None:
    content = '{"timestamp": "2026-01-01T00:00:01.500000Z", "event": "x"}\nTraceback (most recent call last):\n'
    lines = checks.log_texts("bot.log", content)
    assert [t.t for t in lines] == [1767225601.5, 1767225601.5]


def test_a_finding_is_charged_to_the_fault_last_injected_before_it() -> None:
    starts = [10.0, 20.0]
    assert checks.attribute(5.0, starts) is None
    assert checks.attribute(10.0, starts) == 0
    assert checks.attribute(25.0, starts) == 1
    assert checks.attribute(None, starts) is None
