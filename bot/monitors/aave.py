"""The Aave V3 health monitor: discovers a market from its PoolAddressesProvider and reads accounts.

One cycle is at most two requests whatever the number of accounts: the latest block (skipped when a
new head came by subscription), then one JSON-RPC batch of Multicall3 aggregate3 calls pinned to
that block. Everything read in a cycle is from the same block, so the figures are consistent with
each other and with Pool.getUserAccountData, which is read alongside as a check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from eth_utils.address import is_address, to_checksum_address

from bot.clock import Clock, wall_ms
from bot.config import ChainSettings
from bot.domain.lending.aave_math import PoolRules
from bot.domain.lending.account import (
    AccountHealth,
    ChainAccountData,
    EModeCategory,
    PriceCheck,
    ReserveState,
    UserReserve,
    account_health,
    check_price,
    marks_by_symbol,
)
from bot.errors import ConfigError, UsageError
from bot.monitors.multicall import (
    MULTICALL3_ADDRESS,
    Call,
    address_word,
    decode_aggregate3,
    encode_aggregate3,
    encode_call,
    word,
    words,
)
from bot.monitors.rpc import BlockHead, RpcCallError, RpcPool, redact


class NotAPoolAddressesProvider(UsageError):
    """The address given is not an Aave V3 PoolAddressesProvider on this chain."""


@dataclass(frozen=True, slots=True)
class Reserve:
    """A listed reserve's fixed facts, read once at discovery."""

    asset: str
    symbol: str
    decimals: int
    reserve_id: int
    a_token: str
    feed: str | None  # the oracle's source for the asset
    # The Chainlink feed whose latestRoundData tells how fresh the price is: the source itself, or the
    # feed under a CAPO adapter (which has latestAnswer only); None when none was found.
    freshness_feed: str | None = None


@dataclass(frozen=True, slots=True)
class Market:
    """The contracts found from the PoolAddressesProvider, and the reserves listed."""

    pool_addresses_provider: str
    pool: str
    oracle: str
    data_provider: str
    base_unit: int  # the oracle's BASE_CURRENCY_UNIT (1e8 for USD markets)
    reserves: tuple[Reserve, ...]
    rules: PoolRules  # which GenericLogic the Pool runs: its revision, e-mode by bitmaps or not


@dataclass(frozen=True, slots=True)
class HealthSnapshot:
    """Every watched account at one block. Do not trade on it when `stale` is set."""

    block_number: int
    block_timestamp: int
    block_age_s: float
    stale: bool
    rpc_url: str  # redacted
    accounts: tuple[AccountHealth, ...]
    prices: tuple[PriceCheck, ...]


def normalize_account(address: str) -> str:
    """The checksummed form of `address`; UsageError when it is not a 20-byte hex address."""
    if not isinstance(address, str) or not is_address(address.strip()):
        raise UsageError(f"{address!r} is not an account address: want 0x followed by 40 hex digits")
    return to_checksum_address(address.strip())


def _address(word_value: int) -> str:
    return to_checksum_address(word_value.to_bytes(32, "big")[12:])


def _symbol(data: bytes | None) -> str:
    if not data:
        return "?"
    if len(data) == 32:  # some old tokens (MKR) return bytes32
        return data.rstrip(b"\0").decode(errors="replace")
    length = int.from_bytes(data[32:64], "big")
    return data[64 : 64 + length].decode(errors="replace")


class AaveMonitor:
    """Reads Aave V3 accounts' health each block; see the module docstring."""

    def __init__(
        self,
        rpc: RpcPool,
        pool_addresses_provider: str,
        *,
        stale_block_s: float = 60.0,
        oracle_heartbeat_s: float = 93_600.0,  # HEDGEBOT_CHAIN__ORACLE_HEARTBEAT_S's default
        max_oracle_divergence: float | None = None,
        calls_per_multicall: int = 1_000,
        multicall: str = MULTICALL3_ADDRESS,
        clock: Clock = wall_ms,
    ) -> None:
        self.rpc = rpc
        self.provider_address = pool_addresses_provider
        self.stale_block_s = stale_block_s
        self.oracle_heartbeat_s = oracle_heartbeat_s
        self.max_oracle_divergence = max_oracle_divergence
        self.calls_per_multicall = calls_per_multicall
        self.multicall = multicall
        self.clock = clock
        self.market: Market | None = None
        self._emode: dict[int, EModeCategory] = {}  # the categories read at discovery, by id
        self._emode_sources: dict[int, str] = {}  # before v3.2: a category's price source, if it has one

    @classmethod
    def from_settings(cls, chain: ChainSettings, max_oracle_divergence: float | None = None) -> AaveMonitor:
        """A monitor over `chain.rpc_urls` for `chain.pool_addresses_provider`; ConfigError if either is missing."""
        if not chain.rpc_urls or not chain.pool_addresses_provider:
            raise ConfigError(
                "HEDGEBOT_CHAIN__RPC_URLS and HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER are needed to watch Aave "
                "(see docs/chain.md for each network's PoolAddressesProvider)"
            )
        rpc = RpcPool(
            [u.get_secret_value() for u in chain.rpc_urls],
            call_timeout_s=chain.call_timeout_s,
            requests_per_second=chain.requests_per_second,
            poll_interval_s=chain.poll_interval_s,
        )
        return cls(
            rpc,
            chain.pool_addresses_provider,
            stale_block_s=chain.stale_block_s,
            oracle_heartbeat_s=chain.oracle_heartbeat_s,
            max_oracle_divergence=max_oracle_divergence,
            calls_per_multicall=chain.calls_per_multicall,
        )

    async def _aggregate(self, calls: Sequence[Call], block: int | str) -> list[bytes | None]:
        """Sub-call results, in chunks of calls_per_multicall, all in one request."""
        size = self.calls_per_multicall
        chunks = [encode_aggregate3(calls[i : i + size]) for i in range(0, len(calls), size)]
        if isinstance(block, str):
            raws = [await self.rpc.eth_call(self.multicall, c, block) for c in chunks]
        else:
            raws = await self.rpc.eth_calls([(self.multicall, c) for c in chunks], block)
        out: list[bytes | None] = []
        for raw in raws:
            out += decode_aggregate3(raw)
        return out

    async def discover(self) -> Market:
        """Finds the Pool, oracle and data provider, and the reserves; NotAPoolAddressesProvider if it is not one."""
        provider = normalize_account(self.provider_address)
        if not await self.rpc.get_code(provider):
            raise NotAPoolAddressesProvider(f"{provider} has no contract on this chain: not a PoolAddressesProvider")
        if not await self.rpc.get_code(self.multicall):
            raise UsageError(f"Multicall3 is not deployed at {self.multicall} on this chain")
        getters = ["getPool()", "getPriceOracle()", "getPoolDataProvider()"]
        try:
            found = await self._aggregate([Call(provider, encode_call(g)) for g in getters], "latest")
        except RpcCallError as exc:
            raise NotAPoolAddressesProvider(f"{provider} is not a PoolAddressesProvider: {exc}") from None
        if any(r is None or len(r) != 32 for r in found):
            raise NotAPoolAddressesProvider(f"{provider} does not answer getPool(): not a PoolAddressesProvider")
        pool, oracle, data_provider = (_address(words(r)[0]) for r in found if r is not None)
        if not await self.rpc.get_code(pool):
            raise NotAPoolAddressesProvider(f"{provider} points to no Pool: not a PoolAddressesProvider")
        head = await self._aggregate(
            [
                Call(pool, encode_call("getReservesList()")),
                Call(oracle, encode_call("BASE_CURRENCY_UNIT()")),
                Call(pool, encode_call("POOL_REVISION()")),
                # Answered from v3.2 on, when e-mode moved from the reserves' bits to per-category bitmaps.
                Call(pool, encode_call("getEModeCategoryCollateralBitmap(uint8)", word(0))),
            ],
            "latest",
        )
        if head[0] is None or head[1] is None:
            raise NotAPoolAddressesProvider(f"{provider}'s Pool or oracle does not answer like Aave V3's")
        list_words = words(head[0])
        assets = [_address(w) for w in list_words[2 : 2 + list_words[1]]]
        base_unit = words(head[1])[0]
        revision = words(head[2])[0] if head[2] and len(head[2]) >= 32 else 0
        rules = PoolRules(revision, emode_bitmaps=bool(head[3]) and len(head[3] or b"") >= 32)
        per_asset = [
            call
            for a in assets
            for call in (
                Call(pool, encode_call("getReserveData(address)", address_word(a))),
                Call(a, encode_call("symbol()")),
                Call(oracle, encode_call("getSourceOfAsset(address)", address_word(a))),
                Call(pool, encode_call("getConfiguration(address)", address_word(a))),
            )
        ]
        results = await self._aggregate(per_asset, "latest")
        reserves = []
        categories: set[int] = set()
        for i, asset in enumerate(assets):
            data, sym, source, config = results[4 * i : 4 * i + 4]
            if data is None or config is None:
                raise NotAPoolAddressesProvider(f"reserve {asset} does not answer getReserveData like Aave V3")
            w = words(data)
            cfg = words(config)[0]
            categories.add((cfg >> 168) & 0xFF)
            feed = _address(words(source)[0]) if source else None
            reserves.append(Reserve(asset, _symbol(sym), (cfg >> 48) & 0xFF, w[7], _address(w[8]), feed))
        fresh = await self._freshness_feeds([r.feed for r in reserves])
        reserves = [replace(r, freshness_feed=f) for r, f in zip(reserves, fresh, strict=True)]
        self.market = Market(provider, pool, oracle, data_provider, base_unit, tuple(reserves), rules)
        if rules.emode_bitmaps:
            await self._load_emode_bitmaps()
        else:
            await self._load_emode_legacy(categories - {0})
        return self.market

    async def _freshness_feeds(self, sources: Sequence[str | None], depth: int = 3) -> list[str | None]:
        """For each price source, the feed that answers latestRoundData: the source itself, or, for Aave's
        CAPO adapters (latestAnswer only), the feed underneath them (BASE_TO_USD_AGGREGATOR() for an LST's,
        ASSET_TO_USD_AGGREGATOR() for a stablecoin's), followed `depth` levels down. One batch a level."""
        found: list[str | None] = [None] * len(sources)
        todo = {i: s for i, s in enumerate(sources) if s and int(s, 16)}
        getters = ("latestRoundData()", "BASE_TO_USD_AGGREGATOR()", "ASSET_TO_USD_AGGREGATOR()")
        for _ in range(depth):
            if not todo:
                break
            order = sorted(todo)
            calls = [Call(todo[i], encode_call(g)) for i in order for g in getters]
            results = await self._aggregate(calls, "latest")
            below: dict[int, str] = {}
            for k, i in enumerate(order):
                rounds, base, asset = results[3 * k : 3 * k + 3]
                if rounds is not None and len(rounds) >= 160:
                    found[i] = todo[i]
                elif base is not None and len(base) >= 32 and words(base)[0]:
                    below[i] = _address(words(base)[0])
                elif asset is not None and len(asset) >= 32 and words(asset)[0]:
                    below[i] = _address(words(asset)[0])
            todo = below
        return found

    async def _load_emode_legacy(self, categories: set[int]) -> None:
        """Before v3.2: the categories named in the reserves' configuration bits, and their price sources."""
        assert self.market is not None
        self._emode, self._emode_sources = {}, {}
        ids = sorted(categories)
        sig = "getEModeCategoryData(uint8)"
        results = await self._aggregate([Call(self.market.pool, encode_call(sig, word(c))) for c in ids], "latest")
        for cid, data in zip(ids, results, strict=True):
            if data is None:
                continue  # such accounts show matches_chain False
            w = words(data)  # [offset, ltv, lt, bonus, priceSource, ...]
            self._emode[cid] = EModeCategory(cid, w[1], w[2])
            if w[4]:
                self._emode_sources[cid] = _address(w[4])

    async def _load_emode_bitmaps(self) -> None:
        """From v3.2: every category set up (ids 1-255 have no list; one batch asks them all)."""
        assert self.market is not None
        self._emode, self._emode_sources = {}, {}
        ids = range(1, 256)
        sig = "getEModeCategoryCollateralConfig(uint8)"
        results = await self._aggregate([Call(self.market.pool, encode_call(sig, word(c))) for c in ids], "latest")
        for cid, data in zip(ids, results, strict=True):
            if data is not None and len(data) >= 96 and words(data)[1]:  # [ltv, lt, bonus]; lt 0: not set up
                self._emode[cid] = EModeCategory(cid, words(data)[0], words(data)[1], collateral_bitmap=0)

    def _cycle_calls(self, accounts: Sequence[str]) -> list[Call]:
        assert self.market is not None
        m = self.market
        calls = [Call(m.pool, encode_call("getReservesList()"))]
        for r in m.reserves:
            calls.append(Call(m.oracle, encode_call("getAssetPrice(address)", address_word(r.asset))))
            calls.append(Call(m.pool, encode_call("getConfiguration(address)", address_word(r.asset))))
            calls.append(Call(r.freshness_feed or r.feed or m.oracle, encode_call("latestRoundData()")))
        for cid in sorted(self._emode):  # two calls per category, in either layout
            if m.rules.emode_bitmaps:
                calls.append(Call(m.pool, encode_call("getEModeCategoryCollateralConfig(uint8)", word(cid))))
                calls.append(Call(m.pool, encode_call("getEModeCategoryCollateralBitmap(uint8)", word(cid))))
            else:
                calls.append(Call(m.pool, encode_call("getEModeCategoryData(uint8)", word(cid))))
                source = self._emode_sources.get(cid)
                calls.append(Call(m.oracle, encode_call("getAssetPrice(address)", address_word(source or m.oracle))))
        for account in accounts:
            who = address_word(account)
            calls.append(Call(m.pool, encode_call("getUserAccountData(address)", who)))
            calls.append(Call(m.pool, encode_call("getUserEMode(address)", who)))
            for r in m.reserves:
                sig = "getUserReserveData(address,address)"
                calls.append(Call(m.data_provider, encode_call(sig, address_word(r.asset), who)))
        return calls

    async def snapshot(
        self,
        accounts: Sequence[str],
        head: BlockHead | None = None,
        marks_usd: Mapping[str, float] | None = None,
        betas: Callable[[str], float] | None = None,
    ) -> HealthSnapshot:
        """Every account's health at `head` (default: the latest block), and the oracle price checks; the
        market-wide fall with each asset at its beta to BTC, `betas(symbol)` (default 0 for stablecoins, 1 for
        the rest)."""
        if self.market is None:
            await self.discover()
        assert self.market is not None
        accounts = [normalize_account(a) for a in accounts]
        if head is None:
            head = await self.rpc.latest_block()
        results = await self._aggregate(self._cycle_calls(accounts), head.number)
        return self._build(accounts, head, results, marks_usd, betas)

    def _build(
        self,
        accounts: Sequence[str],
        head: BlockHead,
        results: list[bytes | None],
        marks: Mapping[str, float] | None,
        betas: Callable[[str], float] | None = None,
    ) -> HealthSnapshot:
        assert self.market is not None
        m = self.market
        n = len(m.reserves)
        listed = results[0]
        if listed is not None and words(listed)[1] != n:
            self.market = None  # a reserve was listed or dropped: discover again next cycle
        now = self.clock() / 1000  # block times and oracle rounds are in seconds
        states = []
        for i, r in enumerate(m.reserves):
            price_raw, config_raw, round_raw = results[1 + 3 * i : 4 + 3 * i]
            cfg = words(config_raw)[0] if config_raw else 0
            updated_at = words(round_raw)[3] if round_raw and len(round_raw) >= 160 else None
            states.append(
                ReserveState(
                    r.asset,
                    r.symbol,
                    r.decimals,
                    words(price_raw)[0] if price_raw else 0,
                    cfg & 0xFFFF,
                    (cfg >> 16) & 0xFFFF,
                    (cfg >> 168) & 0xFF,
                    updated_at,
                    r.reserve_id,
                )
            )
        at = 1 + 3 * n
        emodes = {}
        for cid in sorted(self._emode):
            first, second = results[at], results[at + 1]
            at += 2
            category = self._emode[cid]
            if m.rules.emode_bitmaps and first is not None and second is not None:
                ltv, lt = words(first)[:2]
                category = EModeCategory(cid, ltv, lt, collateral_bitmap=words(second)[0])
            elif first is not None:
                w = words(first)
                has_source = cid in self._emode_sources
                category = EModeCategory(cid, w[1], w[2], words(second)[0] if second and has_source else 0)
            emodes[cid] = category
        age = now - head.timestamp
        stale = age > self.stale_block_s
        healths = []
        per_account = 2 + n
        for k, account in enumerate(accounts):
            chunk = results[at + k * per_account : at + (k + 1) * per_account]
            data_raw, emode_raw = chunk[0], chunk[1]
            if data_raw is None:
                raise RpcCallError(f"getUserAccountData({account}) failed at block {head.number}")
            chain = ChainAccountData(*words(data_raw)[:6])
            emode_id = words(emode_raw)[0] if emode_raw else 0
            if emode_id and emode_id not in emodes:
                self.market = None  # a category set up since discovery: discover again next cycle
            balances = []
            for raw in chunk[2:]:
                w = words(raw) if raw else [0] * 9
                balances.append(UserReserve(w[0], w[1], w[2], bool(w[8])))
            healths.append(
                account_health(
                    account,
                    states,
                    balances,
                    chain,
                    emodes.get(emode_id) if emode_id else None,
                    m.base_unit,
                    head.number,
                    head.timestamp,
                    stale,
                    m.rules,
                    betas,
                )
            )
        prices = tuple(
            check_price(
                s,
                m.base_unit,
                now,
                self.oracle_heartbeat_s,
                marks_by_symbol(marks, s.symbol),
                self.max_oracle_divergence,
            )
            for s in states
        )
        return HealthSnapshot(
            head.number, head.timestamp, age, stale, redact(self.rpc.urls[self.rpc.active]), tuple(healths), prices
        )

    async def watch(
        self, accounts: Sequence[str], marks_usd: Callable[[], Mapping[str, float] | None] | None = None
    ) -> AsyncIterator[HealthSnapshot]:
        """A snapshot per new block (newHeads on ws(s)://, polling otherwise)."""
        async for head in self.rpc.heads():
            yield await self.snapshot(accounts, head, marks_usd() if marks_usd else None)
