"""The checks that read the settings alone (no network): addresses, strategy, health levels, status bind, guardian key.

Each check returns one Finding, so `config check` shows every check it ran even when it passed. A
problem names the setting as the user writes it (HEDGEBOT_...) and says what would be right.
"""

from __future__ import annotations

import math

from eth_utils.address import is_checksum_address, is_hex_address, to_checksum_address

from bot.chain.guardian import guardian_signer
from bot.config import Settings
from bot.errors import ConfigError, UsageError
from bot.ops.http import is_loopback
from bot.plugins import loader as plugins
from bot.validation.report import Finding

# Above this a health factor is not a danger: an alert level there would fire on a safe loan.
MAX_HEALTH_LEVEL = 3.0


def setting(dotted: str) -> str:
    """`chain.accounts (HEDGEBOT_CHAIN__ACCOUNTS)`: a setting as the TOML file and the environment spell it."""
    return f"setting {dotted} (HEDGEBOT_{dotted.upper().replace('.', '__')})"


def address_problem(value: str) -> str | None:
    """Why `value` is not a checksummed 20-byte address, or None.

    A mixed-case address whose EIP-55 checksum fails has a mistyped character; an all-lower or all-upper
    one carries no checksum at all, so a typo in it would go unnoticed: it is refused with its checksummed
    form to copy (as web3 refuses it).
    """
    if not isinstance(value, str) or not is_hex_address(value):
        return f"{value!r} is not an address: want 0x followed by 40 hex digits"
    if is_checksum_address(value):
        return None
    body = value[2:]
    if body.lower() != body and body.upper() != body:
        return f"{value} fails its EIP-55 checksum: a character is mistyped; copy the address again from its source"
    return f"{value} is not checksummed: write it as {to_checksum_address(value)}"


def check_addresses(settings: Settings) -> Finding:
    chain = settings.chain
    problems: list[str] = []
    checked = 0
    if chain.pool_addresses_provider is not None:
        checked += 1
        why = address_problem(chain.pool_addresses_provider)
        if why:
            problems.append(f"{setting('chain.pool_addresses_provider')}: {why}")
    for account in chain.accounts:
        checked += 1
        why = address_problem(account)
        if why:
            problems.append(f"{setting('chain.accounts')}: {why}")
    if problems:
        return Finding("addresses", "error", "; ".join(problems))
    if not checked:
        return Finding("addresses", "ok", "no address set")
    return Finding("addresses", "ok", f"{checked} address{'es' if checked > 1 else ''} well-formed and checksummed")


def check_strategy(settings: Settings) -> Finding:
    name, params = settings.strategy.name, settings.strategy.params
    try:
        cls = plugins.resolve(name)
    except UsageError as exc:
        return Finding("strategy", "error", f"{setting('strategy.name')}: {exc}")
    try:
        cls.from_params(params)
    except UsageError as exc:
        return Finding("strategy", "error", f"{setting('strategy.params')}: {exc}")
    given = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
    return Finding("strategy", "ok", f"{cls.name}: known, parameters within bounds ({given})")


def check_health_levels(settings: Settings) -> Finding:
    levels = list(settings.alerts.health_levels)
    problems = []
    for level in levels:
        if not math.isfinite(level) or level <= 1.0:
            problems.append(f"{level} is not above 1 (below 1 the loan is liquidatable: the alert would come too late)")
        elif level > MAX_HEALTH_LEVEL:
            problems.append(f"{level} is above {MAX_HEALTH_LEVEL} (the alert would fire on a loan in no danger)")
    if levels != sorted(set(levels), reverse=True):
        problems.append("list the levels from highest to lowest, each once, e.g. [1.3, 1.15, 1.05]")
    if problems:
        return Finding(
            "health levels", "error", f"{setting('alerts.health_levels')}: got {levels}: {'; '.join(problems)}"
        )
    shown = ", ".join(str(lv) for lv in levels) or "none (no health alerts)"
    return Finding("health levels", "ok", f"{shown}: within (1, {MAX_HEALTH_LEVEL}], highest first")


def check_status_endpoint(settings: Settings) -> Finding:
    host, port = settings.http_host, settings.http_port
    if not port:
        return Finding("status endpoint", "ok", "off (HEDGEBOT_HTTP_PORT=0)")
    if settings.http_token is None and not is_loopback(host):
        return Finding(
            "status endpoint",
            "error",
            f"HEDGEBOT_HTTP_HOST={host} exposes the status endpoint beyond this machine: set HEDGEBOT_HTTP_TOKEN, "
            "or bind 127.0.0.1",
        )
    guard = "a bearer token required" if settings.http_token is not None else "loopback only"
    return Finding("status endpoint", "ok", f"{host}:{port}, {guard}")


def check_guardian_key(settings: Settings) -> Finding:
    try:
        signer = guardian_signer(settings.defense)
    except ConfigError as exc:
        return Finding("guardian key", "error", str(exc))
    if signer is None:
        return Finding("guardian key", "ok", "no HEDGEBOT_DEFENSE__PRIVATE_KEY: no on-chain defense")
    address = str(signer.address)
    if any(a.lower() == address.lower() for a in settings.chain.accounts):
        return Finding(
            "guardian key",
            "warning",
            f"HEDGEBOT_DEFENSE__PRIVATE_KEY is the borrower's own key ({address}): allowed, but hedgebot now holds "
            "the key of the position it defends; a separate guardian wallet keeps that key out of the bot",
        )
    return Finding("guardian key", "ok", f"guardian {address}")


OFFLINE_CHECKS = (check_addresses, check_strategy, check_health_levels, check_status_endpoint, check_guardian_key)


def offline_findings(settings: Settings) -> list[Finding]:
    """Every offline check's finding, in order."""
    return [check(settings) for check in OFFLINE_CHECKS]
