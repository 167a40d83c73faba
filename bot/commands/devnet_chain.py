"""`hedgebot devnet up` and `hedgebot devnet set-price`: the local chain with a real Aave V3 market, and the
local Binance COIN-M exchange server beside it."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from bot.devnet.chain.artifacts import AAVE_VERSIONS
from bot.devnet.chain.market import load_devnet, set_price, start_devnet, write_json_atomic
from bot.errors import UsageError


class ExchangeThread:
    """The local exchange server on its own event loop, beside the chain (`devnet up` is synchronous)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.url = ""
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), name="devnet-exchange", daemon=True)

    async def _main(self) -> None:
        from bot.devnet.exchange.server import ExchangeServer

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        server = ExchangeServer(host=self.host, port=self.port)
        try:
            self.url = await server.start()
        except BaseException as exc:  # reported to the main thread, which stops the chain
            self.error = exc
            self._ready.set()
            return
        self._ready.set()
        await self._stop.wait()
        await server.stop()

    def start(self) -> str:
        self._thread.start()
        self._ready.wait(30)
        if self.error is not None or not self.url:
            raise UsageError(f"the local exchange could not start on {self.host}:{self.port}: {self.error}")
        return self.url

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(10)


def _up(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    # Handlers first, so a signal during the deployment still stops anvil cleanly.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    devnet = start_devnet(port=args.port, out=args.out, host=args.host, aave=args.aave)
    exchange: ExchangeThread | None = None
    try:
        info = devnet.info
        if not args.no_exchange:
            from bot.devnet.exchange.server import DEFAULT_API_KEY, DEFAULT_API_SECRET

            exchange = ExchangeThread(args.host, args.exchange_port)
            url = exchange.start()
            info.update(exchange_url=url, exchange_api_key=DEFAULT_API_KEY, exchange_api_secret=DEFAULT_API_SECRET)
            write_json_atomic(args.out, info)
            if not args.quiet:
                print(
                    f"local exchange        {url} (HEDGEBOT_EXCHANGE__API_URL; keys {DEFAULT_API_KEY} / "
                    f"{DEFAULT_API_SECRET})"
                )
        if not args.quiet:
            borrower = info["accounts"]["borrower"]["address"]
            print(f"Aave                  v{info['aave_version']}")
            print(f"PoolAddressesProvider {info['pool_addresses_provider']}")
            print(f"demo borrower         {borrower}")
            print(f"devnet file           {args.out}")
        print(f"READY {info['rpc_url']}", flush=True)
        # anvil mines only on transactions; an idle chain's head would look stale to the monitor, so a
        # heartbeat block keeps it moving as a real chain does.
        wait_s = args.heartbeat_s if args.heartbeat_s > 0 else 0.5
        while not stop.wait(wait_s):
            if devnet.anvil.process is not None and devnet.anvil.process.poll() is not None:
                print("hedgebot: error: anvil exited", file=sys.stderr)
                return 1
            if args.heartbeat_s > 0:
                devnet.rpc.call("evm_mine")
    finally:
        if exchange is not None:
            exchange.stop()
        devnet.stop()
    return 0


def _set_price(args: argparse.Namespace) -> int:
    info = load_devnet(args.devnet)
    symbol = next((s for s in info["reserves"] if s.upper() == args.asset.upper()), args.asset)
    answer = set_price(info, symbol, args.usd)
    print(f"{symbol} = {answer / 10**8:g} USD")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    up = sub.add_parser("up", help="start anvil with a real Aave V3 market and a demo borrower, and the local exchange")
    up.add_argument("--port", type=int, default=8545, help="RPC port of anvil (default 8545); must be free")
    up.add_argument("--host", default="127.0.0.1", help="address anvil listens on (default 127.0.0.1)")
    up.add_argument(
        "--aave",
        choices=AAVE_VERSIONS,
        default=AAVE_VERSIONS[0],
        help="the Aave version deployed (default 3.6, today's Aave; 3.0 is the path Spark and older forks follow)",
    )
    up.add_argument("--out", type=Path, default=Path("devnet.json"), help="where to write the addresses")
    up.add_argument(
        "--heartbeat-s", type=float, default=5.0, help="mine an empty block this often (s, default 5; 0: only on txs)"
    )
    up.add_argument(
        "--exchange-port", type=int, default=8081, help="port of the local exchange beside it (0: any free)"
    )
    up.add_argument("--no-exchange", action="store_true", help="start the chain only (no local exchange server)")
    up.add_argument("--quiet", action="store_true", help="print only the READY line")
    up.set_defaults(func=_up)

    sp = sub.add_parser("set-price", help="move a devnet USD price feed (the Aave oracle follows it)")
    sp.add_argument("--asset", required=True, help="WETH, WBTC, USDC, wstETH or weETH")
    sp.add_argument("--usd", type=float, required=True, help="new price in USD")
    sp.add_argument("--devnet", type=Path, default=Path("devnet.json"), help="devnet.json written by `devnet up`")
    sp.set_defaults(func=_set_price)
