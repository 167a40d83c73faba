"""The live venue: the Venue interface on ccxt.async_support for the BTC inverse perpetual.

Every request goes through `_request`, which maps ccxt's exceptions to the VenueError that says what to
do (errors.classify). Each public operation is retried once, as a whole, by the one retry policy
(errors.with_retries); the private parts it is made of never retry, so retries never nest. `place` is
idempotent by client id: each attempt looks the id up before it sends, so a retry after a timeout, or
a restart, finds the order that already landed instead of doubling it. What differs between venues is
read from the venue's spec (bot.venues.ccxt.registry), never branched on here. Secrets never reach a
log line: only ccxt's messages (which carry no keys) and our own words are logged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

import ccxt.async_support as ccxt
import structlog

from bot.config import ExchangeSettings
from bot.domain.instruments import BTC_INVERSE_SYMBOL as SYMBOL
from bot.domain.instruments import Instrument, InstrumentError
from bot.domain.orders import (
    FLAT_POSITION,
    AccountState,
    Fill,
    FundingPayment,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from bot.errors import VenueError
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.errors import Answered, RetryPolicy, classify, is_gone, is_no_change, with_retries
from bot.venues.ccxt.funding import payments_from_raw
from bot.venues.ccxt.instruments import instrument_from_ccxt_market
from bot.venues.ccxt.params import VenueParams, order_from_ccxt
from bot.venues.ccxt.registry import venue_spec
from bot.venues.ccxt.spec import VenueSpec
from bot.venues.priority import Priority, current_priority, priority

DEFAULT_RETRY = RetryPolicy()
T = TypeVar("T")
log = structlog.get_logger(__name__)


class CcxtVenue:
    """One ccxt exchange, one instrument (BTC/USD:BTC), one account."""

    def __init__(
        self,
        settings: ExchangeSettings,
        *,
        testnet: bool = False,
        retry: RetryPolicy = DEFAULT_RETRY,
        exchange: Any = None,
        symbol: str = SYMBOL,
    ) -> None:
        self.settings = settings
        self.spec: VenueSpec = venue_spec(settings.id)
        self.params: VenueParams = self.spec.params
        self.exchange = exchange if exchange is not None else build_exchange(settings, testnet)
        self.symbol = symbol
        self.retry = retry
        self._instrument: Instrument | None = None
        self._known: dict[str, Order] = {}  # client id -> last seen, for cancel and fills
        self.answered = watch_answers(self.exchange)

    @property
    def instrument(self) -> Instrument:
        if self._instrument is None:
            raise VenueError("the venue is not connected: await connect() first")
        return self._instrument

    async def _request(self, action: str, fn: Callable[[], Awaitable[T]]) -> T:
        """fn(), once; a ccxt error is raised as the VenueError it means (RetryableVenueError: may be resent)."""
        try:
            return await fn()
        except ccxt.BaseError as exc:
            err = classify(exc, action)
            if isinstance(exc, ccxt.InvalidNonce):
                # Our clock drifted from the venue's: measure the offset now, so the resend is signed right.
                self.exchange.options["adjustForTimeDifference"] = True
                try:
                    await self.exchange.load_time_difference()
                except ccxt.BaseError as sync_exc:
                    log.warning("could not measure the venue's clock", err=str(sync_exc))
            raise err from exc

    async def _retried(self, action: str, operation: Callable[[], Awaitable[T]]) -> T:
        """operation(), under the one retry policy: the outermost step of a public method, never nested."""
        return await with_retries(action, operation, self.retry, self.answered)

    async def _call(self, action: str, fn: Callable[[], Awaitable[T]]) -> T:
        """fn(), an operation of one request, under the retry policy."""
        return await self._retried(action, lambda: self._request(action, fn))

    async def connect(self) -> Instrument:
        markets = await self._call("load markets", self.exchange.load_markets)
        if self.symbol not in markets:
            raise VenueError(
                f"{self.spec.name} ({self.settings.id}) lists no market {self.symbol}: hedgebot trades its BTC "
                "inverse perpetual; check HEDGEBOT_EXCHANGE__ID, and HEDGEBOT_EXCHANGE__API_URL if it is set"
            )
        try:
            self._instrument = instrument_from_ccxt_market(self.settings.id, markets[self.symbol])
        except InstrumentError as exc:
            raise VenueError(str(exc)) from exc
        return self._instrument

    async def configure(self, leverage: float, margin_mode: str) -> None:
        ex, p = self.exchange, self.params
        if p.sets_margin_mode:
            await self._setting("set margin mode", lambda: ex.set_margin_mode(margin_mode, self.symbol, {}))
        if p.sets_leverage:
            extra = {p.leverage_margin_mode_param: margin_mode} if p.leverage_margin_mode_param else {}
            await self._setting("set leverage", lambda: ex.set_leverage(leverage, self.symbol, extra))

    async def _setting(self, action: str, fn: Callable[[], Awaitable[Any]]) -> None:
        async def call() -> Any:
            try:
                return await fn()
            except ccxt.BaseError as exc:
                if is_no_change(exc):  # already set: the state we want
                    return None
                raise

        await self._call(action, call)

    async def _orders(self, method: str, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        fetch = getattr(self.exchange, method)
        result: list[dict[str, Any]] = await self._request(method, lambda: fetch(self.symbol, None, None, dict(query)))
        return result

    async def open_orders(self) -> list[Order]:
        """Every open order (plain and conditional) on the instrument."""
        return await self._retried("fetch open orders", self._open_orders)

    async def _open_orders(self) -> list[Order]:
        seen: dict[str, Order] = {}
        for query in self.params.open_order_queries:
            raws = await self._orders("fetch_open_orders", query)
            for raw in raws:
                order = order_from_ccxt(self.params, self.instrument, raw)
                seen[order.venue_id] = order
        for order in seen.values():
            if order.client_id:
                self._known[order.client_id] = order
        return list(seen.values())

    async def position(self) -> Position:
        return (await self._retried("fetch positions", self._position_and_mark))[0]

    async def _position_and_mark(self) -> tuple[Position, float | None]:
        """The position, and the mark price where the venue reports it with positions (Binance does)."""
        raws = await self._request("fetch positions", lambda: self.exchange.fetch_positions([self.symbol]))
        mark: float | None = None
        for raw in raws:
            if raw.get("symbol") != self.symbol:
                continue
            mark = float(raw["markPrice"]) if raw.get("markPrice") else mark
            if not raw.get("contracts"):
                continue
            # ccxt's position "contracts" is the venue's own amount: contracts, or USD on Deribit.
            contracts = self.instrument.contracts_from_venue_amount(float(raw["contracts"]))
            sign = -1 if raw.get("side") == "short" else 1
            liq = raw.get("liquidationPrice")
            return (
                Position(
                    contracts=sign * abs(contracts),
                    entry_price=float(raw.get("entryPrice") or 0.0),
                    unrealized_pnl_btc=float(raw.get("unrealizedPnl") or 0.0),
                    liquidation_price=float(liq) if liq else None,
                    leverage=float(raw["leverage"]) if raw.get("leverage") else None,
                ),
                mark,
            )
        return FLAT_POSITION, mark

    async def mark_price(self) -> float:
        with priority(Priority.MARK):
            return await self._retried("fetch mark price", self._mark_price)

    async def _mark_price(self) -> float:
        method = self.params.mark_price_method  # fetch_mark_price, or fetch_ticker where the ticker says it
        raw = await self._request(method, lambda: getattr(self.exchange, method)(self.symbol))
        mark = raw.get("markPrice") or (raw.get("info") or {}).get("markPrice")
        if not mark:
            raise VenueError(f"{self.settings.id} gave no mark price for {self.symbol}")
        return float(mark)

    async def account(self) -> AccountState:
        return await self._retried("fetch account", self._account)

    async def _account(self) -> AccountState:
        balance, (position, mark), orders = await asyncio.gather(
            self._request("fetch balance", self.exchange.fetch_balance),
            self._position_and_mark(),
            self._open_orders(),
        )
        if mark is None:
            # Only where positions do not carry it: the mark is a heavy read (weight 10 on Binance).
            mark = await self._mark_price()
        total = float((balance.get("total") or {}).get("BTC") or 0.0)
        wallet = total - position.unrealized_pnl_btc if self.params.balance_total_is_equity else total
        return AccountState(wallet_btc=wallet, position=position, open_orders=tuple(orders), mark_price=mark)

    async def find(self, client_id: str, conditional: bool | None = None) -> Order | None:
        """The order with `client_id`, open or done, or None when the venue never saw it.

        `conditional` says which book to look in where the venue keeps two (Binance's order and
        algoOrder); None looks in both.
        """
        return await self._retried(f"find {client_id}", lambda: self._find(client_id, conditional))

    async def _find(self, client_id: str, conditional: bool | None) -> Order | None:
        if self.params.fetches_by_client_id:
            for algo in (False, True) if conditional is None else (conditional,):
                found = await self._fetch_by_client_id(client_id, algo)
                if found is not None:
                    return found
            return None
        for order in await self._open_orders():
            if order.client_id == client_id:
                return order
        for query in self.params.open_order_queries:
            raws = await self._orders("fetch_closed_orders", query)
            for raw in raws:
                if self.params.client_id_of(raw) == client_id:
                    return order_from_ccxt(self.params, self.instrument, raw)
        return None

    async def _fetch_by_client_id(self, client_id: str, conditional: bool) -> Order | None:
        extra = self.params.lookup_params(client_id, conditional)

        async def fetch() -> Any:
            try:
                return await self.exchange.fetch_order(None, self.symbol, extra)
            except ccxt.BaseError as exc:
                if is_gone(exc):
                    return None
                raise

        raw = await self._request("fetch order by client id", fetch)
        return order_from_ccxt(self.params, self.instrument, raw) if raw else None

    async def place(self, order: OrderRequest) -> Order:
        """The order with `order.client_id`: the one the venue already has, or else one sent now.

        Every attempt looks the id up before it sends, so a resend after a lost answer finds the order
        that landed instead of placing it twice.
        """
        conditional = order.type is OrderType.STOP_MARKET
        call = self.params.create_call(self.instrument, order, self.settings.margin_mode)
        action = f"place {order.client_id}"

        async def attempt() -> Order:
            existing = await self._find(order.client_id, conditional)
            if existing is not None:
                self._known[order.client_id] = existing
                return existing
            raw = await self._request(
                action,
                lambda: self.exchange.create_order(
                    self.symbol, call.type, call.side, call.amount, call.price, dict(call.params)
                ),
            )
            placed = _fill_gaps(order_from_ccxt(self.params, self.instrument, raw), order)
            self._known[order.client_id] = placed
            return placed

        # A reduce-only order (a protective stop, a buy-back) protects: it is never held behind decisions (C6).
        with priority(Priority.PROTECT if order.reduce_only else current_priority()):
            return await self._retried(action, attempt)

    async def cancel(self, client_id: str) -> None:
        with priority(Priority.PROTECT):  # a cancel never adds risk: it goes first when the budget is short
            await self._retried(f"cancel {client_id}", lambda: self._cancel(client_id))

    async def _cancel(self, client_id: str) -> None:
        order = self._known.get(client_id)
        if order is None or order.status is not OrderStatus.OPEN:
            order = next((o for o in await self._open_orders() if o.client_id == client_id), None)
        if order is None:
            return  # already gone
        venue_id, extra = order.venue_id, self.params.cancel_params(order)

        async def cancel() -> None:
            try:
                await self.exchange.cancel_order(venue_id, self.symbol, extra)
            except ccxt.BaseError as exc:
                if not is_gone(exc):
                    raise

        await self._request(f"cancel {client_id}", cancel)
        self._known.pop(client_id, None)

    async def fills(self, since_ms: int) -> list[Fill]:
        """Our fills since `since_ms`, each with the client id of its order where the venue can say it.

        An order seen since this process started is known by its venue id; one that is not (filled while the
        bot was down, or the exchange's own liquidation order) is looked up by that id, once.
        """
        return await self._retried("fetch my trades", lambda: self._fills(since_ms))

    async def _fills(self, since_ms: int) -> list[Fill]:
        raws = await self._request("fetch my trades", lambda: self.exchange.fetch_my_trades(self.symbol, since_ms))
        by_venue_id = {o.venue_id: cid for cid, o in self._known.items()}
        for venue_id in {str(raw.get("order") or "") for raw in raws} - set(by_venue_id) - {"", "0"}:
            by_venue_id[venue_id] = await self._client_id_of(venue_id)
        out: list[Fill] = []
        for raw in raws:
            fee = raw.get("fee") or {}
            venue_id = str(raw.get("order") or "")
            out.append(
                Fill(
                    client_id=by_venue_id.get(venue_id, ""),
                    side=Side(str(raw["side"]).lower()),
                    contracts=self.instrument.contracts_from_venue_amount(float(raw.get("amount") or 0.0)),
                    price=float(raw.get("price") or 0.0),
                    fee_btc=float(fee.get("cost") or 0.0),
                    timestamp_ms=int(raw.get("timestamp") or 0),
                    venue_order_id=venue_id,
                )
            )
        return out

    async def _client_id_of(self, venue_id: str) -> str:
        """The client id of the order with `venue_id` ("" when the venue cannot say: the caller may know it)."""

        async def fetch() -> Any:
            try:
                return await self.exchange.fetch_order(venue_id, self.symbol)
            except ccxt.BaseError as exc:
                if is_gone(exc):
                    return None
                raise

        try:
            raw = await self._request(f"fetch order {venue_id}", fetch)
        except VenueError as exc:  # bookkeeping: a fill is journaled with or without its client id
            log.warning("could not look up the order of a fill", venue_id=venue_id, err=str(exc))
            return ""
        return self.params.client_id_of(raw) if raw else ""

    async def funding(self, since_ms: int) -> list[FundingPayment]:
        """Funding payments since `since_ms` (each venue's module says what its rows report)."""
        spec, instrument = self.spec, self.instrument
        raws = await self._call(
            "fetch funding history", lambda: spec.fetch_funding(self.exchange, self.symbol, instrument, since_ms)
        )
        return payments_from_raw(spec.parse_funding, instrument, raws, since_ms)

    async def close(self) -> None:
        await self.exchange.close()


def _fill_gaps(placed: Order, sent: OrderRequest) -> Order:
    """The placed order, with what some venues leave out of the create answer taken from the request."""
    return replace(
        placed,
        client_id=placed.client_id or sent.client_id,
        side=sent.side,
        type=sent.type,
        contracts=placed.contracts or sent.contracts,
        trigger_price=placed.trigger_price if placed.trigger_price is not None else sent.trigger_price,
        reduce_only=placed.reduce_only or sent.reduce_only,
    )


def watch_answers(exchange: Any) -> Answered:
    """An `Answered` set by every request `exchange` gets a good answer to (ccxt's `fetch` raises on a bad one)."""
    answered = Answered()
    fetch = exchange.fetch

    async def fetch_and_tell(*args: Any, **kwargs: Any) -> Any:
        result = await fetch(*args, **kwargs)
        answered.seen()
        return result

    exchange.fetch = fetch_and_tell
    return answered
