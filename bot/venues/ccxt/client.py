"""Builds the ccxt async client for a venue: keys, rate limiter, the venue's options, testnet or URL override."""

from __future__ import annotations

import copy
from typing import Any

import ccxt.async_support as ccxt

from bot.config import ExchangeSettings
from bot.errors import ConfigError
from bot.venues.ccxt.budget import install_budget
from bot.venues.ccxt.registry import LOCAL_SERVER_IDS, venue_spec


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_exchange(settings: ExchangeSettings, testnet: bool) -> Any:
    """A ccxt.async_support client for `settings.id`, its request budget on, on its testnet when `testnet`."""
    spec = venue_spec(settings.id)
    if settings.api_url and spec.point_at is None:
        raise ConfigError(
            f"HEDGEBOT_EXCHANGE__API_URL is set but the exchange is {settings.id}, which has no local server: "
            f"unset it, or set HEDGEBOT_EXCHANGE__ID to one that has ({', '.join(LOCAL_SERVER_IDS)})"
        )
    config: dict[str, Any] = {
        "apiKey": _secret(settings.api_key),
        "secret": _secret(settings.api_secret),
        # The venue's request weights and budget (rateLimit's weight per minute), counted over a rolling minute
        # as the exchanges count it, so a decision's burst of reads and its order go out at once; the limiter
        # itself is ours (install_budget): the budget is shared out by priority, so protective orders, cancels
        # and the mark feed are never queued behind decisions (C6).
        "enableRateLimit": True,
        "rateLimiterAlgorithm": "rollingWindow",
        "rollingWindowSize": 60_000,
    }
    if settings.password is not None:
        config["password"] = _secret(settings.password)
    exchange = getattr(ccxt, spec.id)(config)
    install_budget(exchange)
    # A copy: ccxt may change its options in place, and the spec is shared by every client.
    exchange.options.update(copy.deepcopy(dict(spec.client_options)))
    if settings.api_url:
        assert spec.point_at is not None  # checked above
        spec.point_at(exchange, settings.api_url)
    elif testnet:
        spec.use_testnet(exchange)
    return exchange
