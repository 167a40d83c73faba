"""The venue registry is the one list of venues: settings, the client, the market reader and the offline
commands all take it from there, and each venue's module agrees with the market ccxt parses for it."""

from __future__ import annotations

import ccxt.async_support as ccxt
import pytest
from pydantic import SecretStr

from bot.config import ExchangeSettings, load_settings
from bot.errors import ConfigError
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.instruments import instrument_from_ccxt_market
from bot.venues.ccxt.registry import LOCAL_SERVER_IDS, VENUE_IDS, VENUES, builtin_instrument
from tests.venues.ccxt_stub import FIXTURES, stub_network


@pytest.mark.parametrize("exchange_id", VENUE_IDS)
async def test_each_venue_module_matches_the_market_ccxt_reads_for_it(exchange_id: str) -> None:
    spec = VENUES[exchange_id]
    assert spec.instrument.exchange == exchange_id and hasattr(ccxt, exchange_id)
    assert FIXTURES.joinpath(f"{exchange_id}_markets.json").is_file()  # a new venue brings its markets answer
    exchange = build_exchange(ExchangeSettings(id=exchange_id), testnet=False)
    stub_network(exchange, exchange_id)
    await exchange.load_markets()
    market = instrument_from_ccxt_market(exchange_id, exchange.market(spec.instrument.symbol))
    await exchange.close()
    built_in = builtin_instrument(exchange_id)
    assert (market.venue_symbol, market.contract_size_usd, market.tick_size, market.amount_unit) == (
        built_in.venue_symbol,
        built_in.contract_size_usd,
        built_in.tick_size,
        built_in.amount_unit,
    )


def test_the_settings_accept_exactly_the_registered_venues() -> None:
    for exchange_id in VENUE_IDS:
        assert load_settings(env_file=None, exchange={"id": exchange_id}).exchange.id == exchange_id
    with pytest.raises(ConfigError, match=r"HEDGEBOT_EXCHANGE__ID.*wants one of binancecoinm, bybit, okx, deribit"):
        load_settings(env_file=None, exchange={"id": "bitmex"})


def test_the_url_override_is_refused_for_a_venue_without_a_local_server() -> None:
    assert LOCAL_SERVER_IDS == ("binancecoinm",)
    settings = ExchangeSettings(id="bybit", api_key=SecretStr("k"), api_url="http://127.0.0.1:8081")
    with pytest.raises(ConfigError, match=r"bybit, which has no local server.*binancecoinm"):
        build_exchange(settings, testnet=False)


def test_an_unknown_exchange_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known inverse BTC perpetuals are binancecoinm, bybit, okx, deribit"):
        builtin_instrument("bitmex")
