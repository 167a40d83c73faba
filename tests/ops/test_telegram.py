"""Two-way Telegram against a local Bot API server, through python-telegram-bot's real polling: commands in the
allowed chat are answered, pause/resume/kill are journaled as Telegram's, everything else is refused and logged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog
from pydantic import SecretStr

from bot.config import AlertSettings
from bot.domain.defense import DefensePolicy, defense_status
from bot.errors import ConfigError
from bot.journal.aio import AsyncJournal
from bot.journal.journal import Journal
from bot.ops.kill import KillSwitch
from bot.ops.pause import PauseSwitch
from bot.ops.status import live_status
from bot.ops.telegram import NO_GUARDIAN, TelegramCommands, allowed_chat_ids
from tests.domain.test_defense import guardian, lending
from tests.ops.test_http import NOW_MS, board
from tests.telegram_api import FakeBotApi

TOKEN = "123456:test-telegram-token"
OPERATOR_CHAT = 1001
STRANGER_CHAT = 666


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    server = await FakeBotApi(TOKEN).start()
    yield server
    await server.stop()


async def commands(
    api: FakeBotApi, db: Path, token: str = TOKEN, retry_s: float = 5.0
) -> tuple[TelegramCommands, AsyncJournal]:
    journal = await AsyncJournal.open(db, NOW_MS)
    kill = KillSwitch(persist=lambda r: journal.record_control("kill", r.source, r.reason, r.ts_ms))
    pause = PauseSwitch(persist=lambda r: journal.record_control(r.action, r.source, r.reason, r.ts_ms))
    status = board()
    bot = TelegramCommands(
        token,
        frozenset({OPERATOR_CHAT}),
        lambda: live_status(status, kill, pause, NOW_MS),
        pause,
        kill,
        api_url=api.url,
        poll_timeout_s=1,
        retry_s=retry_s,
        clock_ms=lambda: NOW_MS,
    )
    return bot, journal


async def ask(api: FakeBotApi, text: str, chat: int = OPERATOR_CHAT) -> str:
    """Send `text` in `chat` and return the bot's answer (the next message it sends)."""
    before = len(api.sent)
    await api.say(chat, text)
    answer = (await api.answer(before + 1))[before]
    assert answer.chat_id == OPERATOR_CHAT
    return answer.text


async def test_the_operator_drives_the_bot_and_a_stranger_is_refused(api: FakeBotApi, tmp_path: Path) -> None:
    await api.say(OPERATOR_CHAT, "/resume")  # typed while the bot was down: dropped, never acted on
    bot, journal = await commands(api, tmp_path / "bot.sqlite")
    await bot.pause.pause("before the restart", "cli", NOW_MS)
    with structlog.testing.capture_logs() as logs:
        await bot.start()
        try:
            await api.wait_for_call("getUpdates")
            status = await ask(api, "/status")
            assert "health factor      1.200" in status and "short 30 contracts @ 61,000.0" in status
            assert "paused             yes: by cli, before the restart" in status
            hedge = await ask(api, "/hedge")
            assert "hedge PnL" in hedge and "stops         buy 30 @ 66,000.0" in hedge and "health" not in hedge
            assert await ask(api, "/resume trading again") == "resumed: trading again"
            assert not bot.pause.paused

            # A stranger's commands do nothing and get no answer; the operator's next command is answered.
            await api.say(STRANGER_CHAT, "/pause")
            await api.say(STRANGER_CHAT, "/kill")
            assert (await ask(api, "/pause FOMC")).startswith("paused: no new orders")
            assert (await ask(api, "/pause")).startswith("already paused")
            assert [m.chat_id for m in api.sent] == [OPERATOR_CHAT] * len(api.sent)
            assert bot.refused == 2 and not bot.kill.requested

            assert await ask(api, "/defense") == NO_GUARDIAN
            assert (await ask(api, "/withdraw everything")).startswith("unknown command")
            assert (await ask(api, "/kill going manual")).startswith("kill requested")
            assert bot.kill.request is not None and bot.kill.request.source == "telegram"
        finally:
            await bot.stop()
            await journal.close()
    refused = [e for e in logs if e["event"].startswith("telegram: refused")]
    assert [(e["chat_id"], e["text"]) for e in refused] == [(STRANGER_CHAT, "/pause"), (STRANGER_CHAT, "/kill")]
    with Journal.open_readonly(tmp_path / "bot.sqlite") as j:
        rows = [(r["action"], r["source"], r["reason"]) for r in j.rows("SELECT * FROM controls ORDER BY id")]
    assert rows == [
        ("pause", "cli", "before the restart"),
        ("resume", "telegram", "trading again (telegram, @operator)"),
        ("pause", "telegram", "FOMC (telegram, @operator)"),
        ("kill", "telegram", "going manual (telegram, @operator)"),
    ]


async def test_a_wrong_token_is_logged_retried_and_never_stops_the_bot(api: FakeBotApi, tmp_path: Path) -> None:
    bot, journal = await commands(api, tmp_path / "bot.sqlite", token="999:wrong", retry_s=0.01)
    with structlog.testing.capture_logs() as logs:
        await bot.start()
        await api.wait_for_call("getMe", count=2)  # refused, logged, tried again
        await bot.stop()  # returns at once, whatever the retry was doing
    await journal.close()
    assert not bot.started.is_set()
    assert any(e["event"] == "telegram commands unavailable: retrying" for e in logs)
    assert "999:wrong" not in str(logs)


def test_settings_name_what_is_missing() -> None:
    off = AlertSettings()
    assert TelegramCommands.from_settings(off, dict, PauseSwitch(), KillSwitch()) is None
    with pytest.raises(ConfigError, match="needs HEDGEBOT_ALERTS__TELEGRAM_TOKEN"):
        TelegramCommands.from_settings(AlertSettings(telegram_commands=True), dict, PauseSwitch(), KillSwitch())
    token = SecretStr(TOKEN)
    with pytest.raises(ConfigError, match="no chat is allowed"):
        allowed_chat_ids(AlertSettings(telegram_commands=True, telegram_token=token))
    with pytest.raises(ConfigError, match="'@mychannel' is not a numeric chat id"):
        allowed_chat_ids(AlertSettings(telegram_commands=True, telegram_token=token, telegram_chat_id="@mychannel"))
    both = AlertSettings(telegram_chat_id="@mychannel", telegram_command_chat_ids=["1001", "-100777"])
    assert allowed_chat_ids(both) == {1001, -100777}


async def test_defense_answers_with_the_guardians_reserve_day_and_next_defense(api: FakeBotApi, tmp_path: Path) -> None:
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", NOW_MS)
    kill, pause, status = KillSwitch(), PauseSwitch(), board()
    status.defense_configured = True
    reserve = guardian(reserve_usdc=20_000.0, spent=500.0)
    status.defense = defense_status(lending(price=2_600.0), DefensePolicy(), reserve)
    bot = TelegramCommands(
        TOKEN,
        frozenset({OPERATOR_CHAT}),
        lambda: live_status(status, kill, pause, NOW_MS),
        pause,
        kill,
        api_url=api.url,
        poll_timeout_s=1,
        clock_ms=lambda: NOW_MS,
    )
    await bot.start()
    try:
        await api.wait_for_call("getUpdates")
        answer = await ask(api, "/defense")
    finally:
        await bot.stop()
        await journal.close()
    assert answer.startswith("  defense         on; repay USDC from 0x9999")
    assert "reserve         20,000.00 USDC (20,000.00 USD)" in answer
    assert "defended today  500.00 of 10,000.00 USD a day" in answer
    assert "next defense    at WETH 2,300.00 USD (HF 1.15)" in answer
