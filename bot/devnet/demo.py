"""The main job on the embedded local setup: a real crash replayed against a real chain and exchange.

It starts anvil with a real Aave V3 market and the local Binance COIN-M server, runs the bot exactly as
`hedgebot run --mode testnet` assembles it (the real ccxt client through the URL override), and replays
the May 2021 ETH and BTC path from ../shared/data, compressed in time, into the on-chain oracle feeds
and the exchange's mark price. The path is scaled to start at the devnet's prices (ETH 3,000, BTC
60,000), so the demo borrower starts at HF 1.5 and every move is the real one in percent.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bot.app import assemble
from bot.backtest.data import AlignedBars, align, format_time, load_candles, parse_time_ms, resample
from bot.config import ChainSettings, ExchangeSettings, Settings, StrategySettings
from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.market import DEMO_COLLATERAL_WETH, set_price, start_devnet
from bot.devnet.exchange.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer
from bot.domain.features.tracker import FeatureTracker
from bot.domain.lending import health
from bot.runtime.engine import Engine

DEVNET_ETH, DEVNET_BTC = 3_000.0, 60_000.0
STEP_S = 1.0  # wall time per step, at least


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


@dataclass(slots=True)
class Outcome:
    steps: int = 0
    min_health_factor: float = math.inf
    first_liquidatable: Step | None = None
    penalty_usd: float = 0.0
    lending_start_usd: float = 0.0
    lending_end_usd: float = 0.0
    hedge_start_usd: float = 0.0
    hedge_end_usd: float = 0.0
    hedge_start_btc: float = 0.0
    hedge_end_btc: float = 0.0
    max_short: int = 0
    orders: int = 0
    halts: int = 0


async def _decided_on(engine: Engine, step: Step, timeout_s: float = 4.0) -> bool:
    """Wait until a decision has seen this step's oracle and mark prices (False on timeout: halted)."""

    def seen() -> bool:
        pos, hedge = engine.status.position, engine.status.hedge
        return (
            pos is not None
            and hedge is not None
            and abs(pos.collateral_price_usd / step.eth - 1) < 1e-6
            and abs(hedge.mark_price / step.btc - 1) < 1e-6
        )

    async def wait() -> None:
        async with engine.decided:
            await engine.decided.wait_for(seen)

    try:
        await asyncio.wait_for(wait(), timeout_s)
    except TimeoutError:
        return False
    return True


def _status_line(step: Step, engine: Engine) -> str:
    pos, hedge = engine.status.position, engine.status.hedge
    hf = pos.health_factor if pos else math.nan
    short = -hedge.contracts if hedge else 0
    stop = min((s.price for s in hedge.stops), default=math.nan) if hedge else math.nan
    pnl = hedge.pnl_usd if hedge else 0.0
    flag = "  HALTED: " + (engine.status.halt_reason or "") if engine.status.halted else ""
    return (
        f"{format_time(step.ts_ms)[:16]}  ETH {step.eth:8,.1f}  BTC {step.btc:9,.1f}  HF {hf:5.3f}  "
        f"short {short:4d}  stop {stop:9,.1f}  hedge uPnL {pnl:+9,.0f} USD{flag}"
    )


async def run_demo(
    data: Path, *, start: str, end: str, step_hours: int, strategy: str, balance_btc: float, quiet: bool = False
) -> Outcome:
    """Replay the crash through the whole stack; the outcome for the summary."""
    path = crash_path(data, start, end, step_hours)
    workdir = Path(tempfile.mkdtemp(prefix="hedgebot-demo-"))
    out = Outcome()
    devnet = start_devnet(port=free_port(), out=workdir / "devnet.json")
    try:
        info = devnet.info
        exchange = ExchangeServer(port=0, balance_btc=balance_btc, mark_price=DEVNET_BTC)
        await exchange.start()
        try:
            settings = devnet_settings(info, exchange.url, workdir / "bot.sqlite", strategy)
            settings.strategy.warmup_days = 0  # the local exchange has no history: the demo warms below
            # Time is compressed (hours of the real path per STEP_S seconds): a jump beyond max_price_jump is
            # trusted after half a step, as a live bot trusts a level that held 5 minutes of a 4-hour step.
            settings.risk.confirm_level_s = STEP_S / 2
            async with assemble(settings, "testnet") as bot:
                engine = bot.engine
                # The mark is polled at the default 1 s: faster would spend ccxt's per-minute weight budget.
                engine.config = replace(engine.config, sample_features=False, heartbeat_s=5.0, debounce_ms=200)
                # Features on the replayed bars' own length (a live bot samples the mark instead), warmed up
                # on the week before the window, as a live bot would have been.
                engine.features = FeatureTracker.for_bar_length(step_hours * 3_600_000)
                for s in crash_path(data, _days_before(start, 8), start, step_hours):
                    engine.features.update(s.btc_bar[3], s.btc_bar[1], s.btc_bar[2], s.eth_bar[3])
                task = asyncio.create_task(engine.run())
                await _decided_on(engine, Step(0, DEVNET_ETH, DEVNET_BTC, (0, 0, 0, 0), (0, 0, 0, 0)))
                hedge = engine.status.hedge
                out.hedge_start_btc = exchange.engine.equity_btc()
                out.hedge_start_usd = out.hedge_start_btc * DEVNET_BTC
                pos = engine.status.position
                assert pos is not None and hedge is not None
                amount = float(DEMO_COLLATERAL_WETH)
                out.lending_start_usd = amount * DEVNET_ETH - pos.debt_usd
                for i, step in enumerate(path):
                    exchange.set_mark(step.btc)
                    # Both oracle answers land in one block, as one oracle round would.
                    set_price(info, "WBTC", step.btc, mine=False)
                    set_price(info, "WETH", step.eth, mine=False)
                    devnet.rpc.call("evm_mine")
                    engine.features.update(step.btc_bar[3], step.btc_bar[1], step.btc_bar[2], step.eth_bar[3])
                    paced = asyncio.get_running_loop().time() + STEP_S
                    seen = await _decided_on(engine, step)
                    # Pace the replay inside the exchange's per-minute request budget, as a live bot lives in it.
                    await asyncio.sleep(max(0.0, paced - asyncio.get_running_loop().time()))
                    out.halts += 0 if seen else 1
                    out.steps += 1
                    pos = engine.status.position
                    if pos is not None:
                        if pos.health_factor < 1 and out.first_liquidatable is None:
                            out.first_liquidatable = step
                            liq = health.liquidate(
                                amount, step.eth, pos.debt_usd, pos.health_factor, 0.05, info["aave_version"]
                            )
                            out.penalty_usd = liq.penalty_usd
                        out.min_health_factor = min(out.min_health_factor, pos.health_factor)
                    out.max_short = max(out.max_short, -exchange.engine.position().contracts)
                    if not quiet and (i % 6 == 0 or i == len(path) - 1):
                        print(_status_line(step, engine), flush=True)
                last = path[-1]
                pos = engine.status.position
                assert pos is not None
                out.lending_end_usd = amount * last.eth - pos.debt_usd
                out.hedge_end_btc = exchange.engine.equity_btc()
                out.hedge_end_usd = out.hedge_end_btc * last.btc
                out.orders = len(exchange.engine.fills())
                engine.stop_requested.set()
                await task
        finally:
            await exchange.stop()
    finally:
        devnet.stop()
    return out


def _days_before(day: str, days: int) -> str:
    return format_time(parse_time_ms(day) - days * 86_400_000)[:10]


def summary(out: Outcome, strategy: str) -> list[str]:
    """The closing report: lowest HF, whether Aave would have liquidated, hedge PnL, net against no hedge."""
    lending_change = out.lending_end_usd - out.lending_start_usd
    hedge_change = out.hedge_end_usd - out.hedge_start_usd
    liq = out.first_liquidatable
    lines = [
        f"summary ({strategy}, {out.steps} steps of the real May 2021 path):",
        f"  lowest health factor           {out.min_health_factor:.3f}",
        "  Aave would have liquidated     "
        + (
            f"yes, from {format_time(liq.ts_ms)[:16]} (ETH {liq.eth:,.0f}); first call's penalty "
            f"~{out.penalty_usd:,.0f} USD"
            if liq
            else "no"
        ),
        f"  lending equity (coll. - debt)  {out.lending_start_usd:,.0f} -> {out.lending_end_usd:,.0f} USD "
        f"({lending_change:+,.0f})",
        f"  hedge account                  {out.hedge_start_btc:.4f} -> {out.hedge_end_btc:.4f} BTC, "
        f"{out.hedge_start_usd:,.0f} -> {out.hedge_end_usd:,.0f} USD ({hedge_change:+,.0f})",
        f"  largest short                  {out.max_short} contracts; {out.orders} fills",
        f"  net, hedged                    {lending_change + hedge_change:+,.0f} USD",
        f"  net, unhedged (capital as USD) {lending_change:+,.0f} USD",
    ]
    if lending_change < 0:
        lines.append(
            f"  the hedge offset               {min(1.0, hedge_change / -lending_change):.0%} of the lending loss"
        )
    if out.halts:
        lines.append(f"  steps the bot refused to trade {out.halts} (stale or absurd data: see the log)")
    return lines
