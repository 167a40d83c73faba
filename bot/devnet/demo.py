"""The main job on the embedded local setup: a real crash replayed against a real chain and exchange, in two lanes.

It starts anvil with a real Aave V3 market and two identical borrowers (10 WETH, 16,600 USDC of debt,
HF 1.5), a liquidation bot beside the chain (bot/devnet/liquidator.py: it calls `liquidationCall` as
soon as a watched HF is below 1), and two bots exactly as `hedgebot run --mode testnet` assembles them,
each on its own local Binance COIN-M server through the real ccxt client:

- lane "no guardian": the bot hedges the devnet's demo borrower, with no HEDGEBOT_DEFENSE__PRIVATE_KEY;
- lane "guardian": the bot hedges the second borrower and defends it from a guardian wallet (anvil's
  dev account #5, given a USDC reserve), every other defense setting at its default.

It replays the May 2021 ETH and BTC path from ../shared/data, compressed in time, into the on-chain
oracle feeds and both exchanges' mark prices. The path is scaled to start at the devnet's prices (ETH
3,000, BTC 60,000): every move is the real one in percent. A step's move is fed as oracle rounds of at
most ROUND_MOVE each, as a price feed publishes a crash (Chainlink's ETH/USD round fires at 0.5 %), not
as one jump. Each time the liquidator liquidates the unguarded loan, it also sends a liquidationCall
for the guarded one at that moment: the chain says whether the guardian held it above 1.

Every figure of the summary is read from the chain (accounts, LiquidationCall events, receipts, the
guardian's balances) or from the exchanges (the hedge accounts).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.app import assemble
from bot.backtest.data import AlignedBars, align, format_time, load_candles, parse_time_ms, resample
from bot.chain.calls import erc20_balance_of, pool_user_account_data
from bot.config import ChainSettings, DefenseSettings, ExchangeSettings, Settings, StrategySettings
from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.market import DEMO_COLLATERAL_WETH, DEMO_DEBT_USDC, dev_accounts, set_price, start_devnet
from bot.devnet.chain.positions import PositionSpec, open_positions, units
from bot.devnet.chain.rpc import DevRpc
from bot.devnet.exchange.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer
from bot.devnet.guardian import fund_guardian
from bot.devnet.liquidator import LiquidationAttempt, LiquidatorThread, start_liquidator
from bot.domain.features.tracker import FeatureTracker
from bot.journal.journal import Journal
from bot.monitors.multicall import words
from bot.runtime.engine import Engine

DEVNET_ETH, DEVNET_BTC = 3_000.0, 60_000.0
STEP_S = 1.0  # wall time per oracle round, at least
ROUND_MOVE = 0.04  # the largest move of one oracle round (of ETH or BTC)
GUARDED_BORROWER = 6  # anvil's dev account #6 holds the guarded lane's loan (#5 is the guardian)
BASE_UNIT = 10**8  # getUserAccountData's USD figures have 8 decimals


def devnet_settings(
    info: dict[str, Any],
    exchange_url: str,
    db_path: Path,
    strategy: str = "dynamic",
    params: dict[str, Any] | None = None,
) -> Settings:
    """Testnet mode against the local exchange, watching the devnet's demo borrower."""
    return Settings(
        mode="testnet",
        db_path=db_path,
        http_port=0,
        exchange=ExchangeSettings(
            id="binancecoinm",
            api_key=SecretStr(DEFAULT_API_KEY),
            api_secret=SecretStr(DEFAULT_API_SECRET),
            api_url=exchange_url,
            # The demo replays hours in seconds: a cooldown in wall-clock seconds would span hours of its path.
            change_cooldown_s=0.0,
        ),
        chain=ChainSettings(
            rpc_urls=[SecretStr(info["rpc_url"])],
            pool_addresses_provider=info["pool_addresses_provider"],
            accounts=[info["accounts"]["borrower"]["address"]],
            collateral_asset="WETH",
            poll_interval_s=0.1,
            stale_block_s=30,
        ),
        strategy=StrategySettings(name=strategy, params=params or {}),
    )


@dataclass(frozen=True, slots=True)
class Step:
    ts_ms: int
    eth: float
    btc: float
    eth_bar: tuple[float, float, float, float]  # scaled o/h/l/c, for the features
    btc_bar: tuple[float, float, float, float]


def crash_path(data: Path, start: str, end: str, step_hours: int) -> list[Step]:
    """The real ETH/BTC hourly path of [start, end), every `step_hours`, scaled to the devnet's prices."""
    btc = load_candles(data / "binance_BTCUSDT_1h.csv.gz")
    eth = load_candles(data / "binance_ETHUSDT_1h.csv.gz")
    bar_ms = step_hours * 3_600_000
    bars: AlignedBars = align(resample(btc, bar_ms), resample(eth, bar_ms), parse_time_ms(start), parse_time_ms(end))
    k_eth, k_btc = DEVNET_ETH / bars.collateral[0][0], DEVNET_BTC / bars.btc[0][0]
    return [
        Step(
            bars.ts_ms[i],
            bars.collateral[3][i] * k_eth,
            bars.btc[3][i] * k_btc,
            tuple(col[i] * k_eth for col in bars.collateral),  # type: ignore[arg-type]
            tuple(col[i] * k_btc for col in bars.btc),  # type: ignore[arg-type]
        )
        for i in range(len(bars))
    ]


def oracle_rounds(
    eth0: float, btc0: float, eth1: float, btc1: float, max_move: float = ROUND_MOVE
) -> list[tuple[float, float]]:
    """The (ETH, BTC) prices of the rounds that carry (eth0, btc0) to (eth1, btc1), none moving more than `max_move`."""
    steepest = max(abs(math.log(eth1 / eth0)), abs(math.log(btc1 / btc0)))
    n = max(1, math.ceil(steepest / math.log1p(max_move) - 1e-9))
    return [(eth0 * (eth1 / eth0) ** (k / n), btc0 * (btc1 / btc0) ** (k / n)) for k in range(1, n + 1)]


@dataclass(slots=True)
class Lane:
    """One borrower, its bot and exchange, and what the chain and the exchange say of it."""

    name: str
    borrower: str
    guardian: str | None = None  # the guardian's address, in the guarded lane
    db_path: Path = Path()
    exchange: ExchangeServer | None = None
    engine: Engine | None = None
    min_health_factor: float = math.inf
    lending_start_usd: float = 0.0
    lending_end_usd: float = 0.0
    hedge_start_btc: float = 0.0
    hedge_end_btc: float = 0.0
    hedge_start_usd: float = 0.0
    hedge_end_usd: float = 0.0
    reserve_start: float = 0.0  # the guardian's USDC
    reserve_end: float = 0.0
    gas_start_eth: float = 0.0  # the guardian's ether
    gas_end_eth: float = 0.0
    end_eth_price: float = 0.0
    defense_txs: list[tuple[str, str]] = field(default_factory=list)  # (kind, hash) journaled, mined with status 1
    liquidations: list[LiquidationAttempt] = field(default_factory=list)  # the LiquidationCall events
    reverted: list[LiquidationAttempt] = field(default_factory=list)  # liquidationCalls mined and reverted
    max_short: int = 0
    fills: int = 0
    halts: int = 0

    @property
    def penalty_usd(self) -> float:
        return sum(a.penalty_usd for a in self.liquidations)

    @property
    def reserve_spent(self) -> float:
        return self.reserve_start - self.reserve_end

    @property
    def gas_usd(self) -> float:
        return (self.gas_start_eth - self.gas_end_eth) * self.end_eth_price

    @property
    def lending_change(self) -> float:
        return self.lending_end_usd - self.lending_start_usd

    @property
    def hedge_change(self) -> float:
        return self.hedge_end_usd - self.hedge_start_usd

    @property
    def net(self) -> float:
        """What the crash did to everything the lane's owner holds: the loan, the hedge, the reserve and gas."""
        return self.lending_change + self.hedge_change - self.reserve_spent - self.gas_usd


@dataclass(slots=True)
class Outcome:
    steps: int = 0
    rounds: int = 0
    lanes: list[Lane] = field(default_factory=list)


# --- chain reads -------------------------------------------------------------------------------------


def lending_account(
    rpc: DevRpc, info: dict[str, Any], who: str, block: int | str = "latest"
) -> tuple[float, float, float]:
    """(collateral USD, debt USD, HF) of `who` from Pool.getUserAccountData at `block`."""
    tag = hex(block) if isinstance(block, int) else block
    data = rpc.call("eth_call", {"to": info["pool"], "data": "0x" + pool_user_account_data(who).hex()}, tag)
    w = words(bytes.fromhex(str(data)[2:]))
    return w[0] / BASE_UNIT, w[1] / BASE_UNIT, w[5] / 10**18


def token_balance(rpc: DevRpc, info: dict[str, Any], symbol: str, who: str) -> float:
    reserve = info["reserves"][symbol]
    data = rpc.call("eth_call", {"to": reserve["address"], "data": "0x" + erc20_balance_of(who).hex()}, "latest")
    scale: int = 10 ** reserve["decimals"]
    return int(str(data), 16) / scale


def ether_balance(rpc: DevRpc, who: str) -> float:
    return int(str(rpc.call("eth_getBalance", who, "latest")), 16) / 10**18


def mined_ok(rpc: DevRpc, tx_hashes: list[str]) -> list[str]:
    """The hashes whose receipts say status 1."""
    out = []
    for tx_hash in tx_hashes:
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt and int(receipt["status"], 16) == 1:
            out.append(tx_hash)
    return out


# --- the replay --------------------------------------------------------------------------------------


async def _decided_on(engine: Engine, eth: float, btc: float, timeout_s: float = 4.0) -> bool:
    """Wait until a decision has seen these oracle and mark prices (False on timeout: halted)."""

    def seen() -> bool:
        pos, hedge = engine.status.position, engine.status.hedge
        return (
            pos is not None
            and hedge is not None
            and abs(pos.collateral_price_usd / eth - 1) < 1e-6
            and abs(hedge.mark_price / btc - 1) < 1e-6
        )

    async def wait() -> None:
        async with engine.decided:
            await engine.decided.wait_for(seen)

    try:
        await asyncio.wait_for(wait(), timeout_s)
    except TimeoutError:
        return False
    return True


def _status_line(step: Step, lanes: list[Lane], hfs: list[float]) -> str:
    parts = []
    for lane, hf in zip(lanes, hfs, strict=True):
        assert lane.engine is not None
        hedge = lane.engine.status.hedge
        short = -hedge.contracts if hedge else 0
        pnl = hedge.pnl_usd if hedge else 0.0
        halted = " HALTED" if lane.engine.status.halted else ""
        parts.append(f"{lane.name}: HF {hf:5.3f} short {short:3d} uPnL {pnl:+7,.0f}{halted}")
    return f"{format_time(step.ts_ms)[:16]}  ETH {step.eth:7,.1f}  BTC {step.btc:8,.1f}  |  " + "  |  ".join(parts)


def open_guarded_borrower(info: dict[str, Any]) -> str:
    """The second borrower: anvil's dev account #6 with the demo borrower's position (HF 1.5)."""
    account = dev_accounts()[GUARDED_BORROWER]["address"]
    decimals = {s: r["decimals"] for s, r in info["reserves"].items()}
    spec = PositionSpec(
        account,
        supply={"WETH": units(DEMO_COLLATERAL_WETH, decimals["WETH"])},
        borrow={"USDC": units(DEMO_DEBT_USDC, decimals["USDC"])},
    )
    open_positions(DevRpc(info["rpc_url"]), info, [spec])
    return account


def _liquidator(info: dict[str, Any], unguarded: Lane, guarded: Lane) -> LiquidatorThread:
    """The liquidator on both loans; beside each liquidation of the unguarded loan, a call on the guarded one."""
    holder: list[LiquidatorThread] = []

    def on_attempt(a: LiquidationAttempt) -> None:
        lane = unguarded if a.borrower == unguarded.borrower else guarded
        (lane.liquidations if a.success else lane.reverted).append(a)
        if a.success and lane is unguarded and holder:
            bot = holder[0].liquidator
            bot.liquidate(guarded.borrower, a.block_number, bot.health_factor(guarded.borrower, a.block_number))

    thread = start_liquidator(info, [unguarded.borrower, guarded.borrower], on_attempt=on_attempt)
    holder.append(thread)
    return thread


async def run_demo(
    data: Path,
    *,
    start: str,
    end: str,
    step_hours: int,
    strategy: str,
    balance_btc: float,
    reserve_usdc: float = 10_000.0,
    quiet: bool = False,
) -> Outcome:
    """Replay the crash through the whole stack in both lanes; the outcome for the summary."""
    path = crash_path(data, start, end, step_hours)
    warmup = crash_path(data, _days_before(start, 8), start, step_hours)
    workdir = Path(tempfile.mkdtemp(prefix="hedgebot-demo-"))
    out = Outcome()
    devnet = start_devnet(port=free_port(), out=workdir / "devnet.json")
    try:
        info = devnet.info
        rpc = devnet.rpc
        guardian = fund_guardian(info, reserve_usdc)
        unguarded = Lane("no guardian", info["accounts"]["borrower"]["address"], db_path=workdir / "unguarded.sqlite")
        guarded = Lane("guardian", open_guarded_borrower(info), guardian["address"], workdir / "guarded.sqlite")
        out.lanes = lanes = [unguarded, guarded]
        async with contextlib.AsyncExitStack() as stack:
            tasks = []
            for lane in lanes:
                lane.exchange = ExchangeServer(port=0, balance_btc=balance_btc, mark_price=DEVNET_BTC)
                await lane.exchange.start()
                stack.push_async_callback(lane.exchange.stop)
                settings = devnet_settings(info, lane.exchange.url, lane.db_path, strategy)
                settings.chain = settings.chain.model_copy(update={"accounts": [lane.borrower]})
                if lane.guardian is not None:  # the key alone: every other defense setting at its default
                    settings.defense = DefenseSettings(private_key=SecretStr(guardian["private_key"]))
                settings.strategy.warmup_days = 0  # the local exchange has no history: the demo warms below
                # Time is compressed: a jump beyond max_price_jump is trusted after half a round, as a live
                # bot trusts a level that held 5 minutes of a 4-hour step.
                settings.risk.confirm_level_s = STEP_S / 2
                bot = await stack.enter_async_context(assemble(settings, "testnet"))
                engine = lane.engine = bot.engine
                # The mark is polled at the default 1 s: faster would spend ccxt's per-minute weight budget.
                engine.config = replace(engine.config, sample_features=False, heartbeat_s=5.0, debounce_ms=200)
                # Features on the replayed bars' own length (a live bot samples the mark instead), warmed up
                # on the week before the window, as a live bot would have been.
                engine.features = FeatureTracker.for_bar_length(step_hours * 3_600_000)
                for s in warmup:
                    engine.features.update(s.btc_bar[3], s.btc_bar[1], s.btc_bar[2], s.eth_bar[3])
                tasks.append(asyncio.create_task(engine.run()))
            engines = [lane.engine for lane in lanes if lane.engine is not None]
            await asyncio.gather(*(_decided_on(e, DEVNET_ETH, DEVNET_BTC) for e in engines))
            for lane in lanes:
                assert lane.exchange is not None
                lane.hedge_start_btc = lane.exchange.engine.equity_btc()
                lane.hedge_start_usd = lane.hedge_start_btc * DEVNET_BTC
                collateral, debt, lane.min_health_factor = lending_account(rpc, info, lane.borrower)
                lane.lending_start_usd = collateral - debt
            guarded.reserve_start = token_balance(rpc, info, "USDC", guardian["address"])
            guarded.gas_start_eth = ether_balance(rpc, guardian["address"])
            liquidator = _liquidator(info, unguarded, guarded)
            try:
                before = (DEVNET_ETH, DEVNET_BTC)
                for i, step in enumerate(path):
                    for eth, btc in oracle_rounds(*before, step.eth, step.btc):
                        for lane in lanes:
                            assert lane.exchange is not None
                            lane.exchange.set_mark(btc)
                        # Both oracle answers land in one block, as one oracle round would.
                        set_price(info, "WBTC", btc, mine=False)
                        set_price(info, "WETH", eth, mine=False)
                        rpc.call("evm_mine")
                        oracle_block = int(str(rpc.call("eth_blockNumber")), 16)
                        paced = asyncio.get_running_loop().time() + STEP_S
                        seen = await asyncio.gather(*(_decided_on(e, eth, btc) for e in engines))
                        # Pace the replay inside the exchange's per-minute request budget, as a live bot lives in it.
                        await asyncio.sleep(max(0.0, paced - asyncio.get_running_loop().time()))
                        out.rounds += 1
                        for lane, ok in zip(lanes, seen, strict=True):
                            assert lane.exchange is not None
                            lane.halts += 0 if ok else 1
                            # The HF the round left, before a defense or a liquidation answered it.
                            hf = lending_account(rpc, info, lane.borrower, oracle_block)[2]
                            lane.min_health_factor = min(lane.min_health_factor, hf)
                            lane.max_short = max(lane.max_short, -lane.exchange.engine.position().contracts)
                    before = (step.eth, step.btc)
                    for e in engines:
                        e.features.update(step.btc_bar[3], step.btc_bar[1], step.btc_bar[2], step.eth_bar[3])
                    out.steps += 1
                    if not quiet and (i % 6 == 0 or i == len(path) - 1):
                        hfs = [lending_account(rpc, info, lane.borrower)[2] for lane in lanes]
                        print(_status_line(step, lanes, hfs), flush=True)
            finally:
                liquidator.stop()
            last = path[-1]
            for lane in lanes:
                assert lane.exchange is not None and lane.engine is not None
                collateral, debt, _ = lending_account(rpc, info, lane.borrower)
                lane.lending_end_usd = collateral - debt
                lane.end_eth_price = last.eth
                lane.hedge_end_btc = lane.exchange.engine.equity_btc()
                lane.hedge_end_usd = lane.hedge_end_btc * last.btc
                lane.fills = len(lane.exchange.engine.fills())
                lane.engine.stop_requested.set()
            await asyncio.gather(*tasks)
        guarded.reserve_end = token_balance(rpc, info, "USDC", guardian["address"])
        guarded.gas_end_eth = ether_balance(rpc, guardian["address"])
        with Journal.open_readonly(guarded.db_path) as journal:
            rows = journal.rows("SELECT kind, tx_hash FROM transactions WHERE tx_hash IS NOT NULL ORDER BY id")
        mined = set(mined_ok(rpc, [r["tx_hash"] for r in rows]))
        guarded.defense_txs = [(r["kind"], r["tx_hash"]) for r in rows if r["tx_hash"] in mined]
    finally:
        devnet.stop()
    return out


def _days_before(day: str, days: int) -> str:
    return format_time(parse_time_ms(day) - days * 86_400_000)[:10]


def _usd(value: float, sign: bool = False) -> str:
    return f"{value:+,.0f} USD" if sign else f"{value:,.0f} USD"


def _defenses(lane: Lane) -> str:
    defenses = sum(kind != "approve" for kind, _ in lane.defense_txs)
    return f"{defenses} ({len(lane.defense_txs)})"


def summary(out: Outcome, strategy: str) -> list[str]:
    """The closing report, one column per lane: every figure from the chain or the exchanges."""
    lanes = out.lanes
    rows: list[tuple[str, list[str]]] = [
        ("lowest health factor (chain)", [f"{lane.min_health_factor:.3f}" for lane in lanes]),
        ("liquidations (LiquidationCall)", [str(len(lane.liquidations)) for lane in lanes]),
        ("liquidationCalls reverted", [str(len(lane.reverted)) for lane in lanes]),
        ("liquidation penalty", [_usd(lane.penalty_usd) for lane in lanes]),
        ("defenses on chain (transactions)", [_defenses(lane) for lane in lanes]),
        ("reserve spent (USDC)", [_usd(lane.reserve_spent) for lane in lanes]),
        ("guardian gas", [_usd(lane.gas_usd) for lane in lanes]),
        ("lending equity (coll. - debt)", [_usd(lane.lending_change, True) for lane in lanes]),
        ("hedge PnL", [_usd(lane.hedge_change, True) for lane in lanes]),
        ("net (loan + hedge - reserve - gas)", [_usd(lane.net, True) for lane in lanes]),
        ("largest short, fills", [f"{lane.max_short}, {lane.fills}" for lane in lanes]),
    ]
    if any(lane.halts for lane in lanes):
        rows.append(("rounds not decided within 4 s", [str(lane.halts) for lane in lanes]))
    width = max(len(k) for k, _ in rows)
    cols = [max(len(lane.name), *(len(v[i]) for _, v in rows)) for i, lane in enumerate(lanes)]
    header = " " * (width + 2) + "  ".join(f"{lane.name:>{w}}" for lane, w in zip(lanes, cols, strict=True))
    lines = [
        f"summary ({strategy}, {out.steps} steps of the real May 2021 path in {out.rounds} oracle rounds; "
        "read from the chain and the exchanges):",
        "  " + header,
        *(
            f"  {key:<{width}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(values, cols, strict=True))
            for key, values in rows
        ),
    ]
    return lines
