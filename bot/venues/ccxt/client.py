"""Builds the ccxt async client for a venue: keys, testnet or demo, and the local-server URL override."""

from __future__ import annotations

import re
from typing import Any

import ccxt.async_support as ccxt

from bot.config import ExchangeSettings
from bot.errors import ConfigError

_HOST = re.compile(r"^https?://[^/]+")


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def point_at(exchange: Any, api_url: str) -> None:
    """Send every REST call of `exchange` to `api_url`, keeping each endpoint's path (`/dapi/v1`, ...).

    Used for the local devnet exchange. ccxt picks its exchange-specific error table by the URL's host
    (dapi.binance.com, demo-dapi...), which a local URL does not match; the COIN-M table is merged into
    the generic one so -2019, -2021, -2022 and -4120 still map to InsufficientFunds, OrderImmediately-
    Fillable and InvalidOrder exactly as they do against Binance.
    """
    base = api_url.rstrip("/")
    urls = exchange.urls["api"]
    for key, url in list(urls.items()):
        if isinstance(url, str):
            urls[key] = _HOST.sub(base, url)
    inverse = exchange.exceptions.get("inverse") or {}
    for kind in ("exact", "broad"):
        exchange.exceptions[kind] = {**exchange.exceptions[kind], **(inverse.get(kind) or {})}


def build_exchange(settings: ExchangeSettings, testnet: bool) -> Any:
    """A ccxt.async_support client for `settings.id`, rate limiter on, on its testnet when `testnet`."""
    if settings.api_url and settings.id != "binancecoinm":
        raise ConfigError(
            f"HEDGEBOT_EXCHANGE__API_URL is set but the exchange is {settings.id}: the URL override is for "
            "the local Binance COIN-M server only; unset it or set HEDGEBOT_EXCHANGE__ID=binancecoinm"
        )
    config: dict[str, Any] = {
        "apiKey": _secret(settings.api_key),
        "secret": _secret(settings.api_secret),
        "enableRateLimit": True,  # ccxt's own limiter; rateLimit is left at the venue's value
        # The same budget (rateLimit's weight per minute), counted over a rolling minute as the exchanges
        # count it, instead of spacing every request by its weight: a decision's burst of reads and its
        # order go out at once (the reaction time) and the per-minute limit still holds.
        "rateLimiterAlgorithm": "rollingWindow",
        "rollingWindowSize": 60_000,
    }
    if settings.password is not None:
        config["password"] = _secret(settings.password)
    exchange = getattr(ccxt, settings.id)(config)
    if settings.id == "binancecoinm":
        # Markets come from dapi alone; the currency list is a spot (sapi) call this bot never needs,
        # and demo-dapi and the local server do not serve sapi at all.
        exchange.options["fetchCurrencies"] = False
        exchange.options["fetchMargins"] = False
    if settings.id == "bybit":
        exchange.options["fetchMarkets"] = {"types": ["inverse"]}
    if settings.id == "okx":
        exchange.options["fetchMarkets"] = {"types": ["swap"]}
        # Without this ccxt adds a broker clOrdId to algo orders, beside our algoClOrdId.
        exchange.options["brokerId"] = None
    if settings.api_url:
        point_at(exchange, settings.api_url)
    elif testnet:
        if settings.id == "binancecoinm":
            # Binance's futures testnet is deprecated in ccxt; demo trading is demo-dapi.binance.com.
            exchange.enable_demo_trading(True)
        else:
            # Bybit testnet, OKX demo (ccxt adds the x-simulated-trading header), test.deribit.com.
            exchange.set_sandbox_mode(True)
    return exchange
