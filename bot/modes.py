"""Which mode may run: dry-run by default; testnet with keys; live only with two explicit opt-ins."""

from __future__ import annotations

from bot.config import LIVE_CONFIRM_PHRASE, Mode, Settings
from bot.errors import ConfigError
from bot.venues.ccxt.registry import venue_spec


def resolve_mode(cli_mode: Mode | None, settings: Settings) -> Mode:
    """The mode to run in, or ConfigError saying what is missing.

    Live trading needs both `--mode live` on the command line and HEDGEBOT_LIVE_CONFIRM set to the
    confirmation phrase: a setting alone (a stale .env) never starts live trading, nor a flag alone.
    """
    mode: Mode = cli_mode or settings.mode
    if settings.mode == "live" and cli_mode != "live":
        raise ConfigError(
            "HEDGEBOT_MODE=live is set, but live trading also needs --mode live on the command line; "
            "run with --mode dry-run or --mode testnet otherwise"
        )
    if mode == "live":
        if cli_mode != "live":
            raise ConfigError("live trading needs --mode live on the command line")
        if settings.live_confirm != LIVE_CONFIRM_PHRASE:
            raise ConfigError(
                f"--mode live trades real money: it also needs HEDGEBOT_LIVE_CONFIRM={LIVE_CONFIRM_PHRASE}; "
                "use --mode dry-run to paper trade or --mode testnet with testnet keys"
            )
    if mode in ("testnet", "live"):
        ex = settings.exchange
        missing = [name for name, value in (("API_KEY", ex.api_key), ("API_SECRET", ex.api_secret)) if value is None]
        if venue_spec(ex.id).needs_password and ex.password is None:
            missing.append("PASSWORD")
        if missing:
            names = ", ".join(f"HEDGEBOT_EXCHANGE__{m}" for m in missing)
            raise ConfigError(
                f"{names} missing: {mode} mode needs {ex.id} API credentials"
                f"{' for its testnet' if mode == 'testnet' else ''}; use --mode dry-run to paper trade without them"
            )
    # A public status bind without a token is refused by the start-up checks (bot.validation).
    return mode
