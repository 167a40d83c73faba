"""Two-way Telegram: commands from the allowed chats, through python-telegram-bot's long polling.

`/status`, `/hedge`, `/pause [why]`, `/resume [why]`, `/kill [why]`, `/defense` and `/help`, answered only
in the allowed chats (HEDGEBOT_ALERTS__TELEGRAM_COMMAND_CHAT_IDS, or the alert chat). A message from any
other chat is refused: logged with its chat and sender, never answered (an answer would tell a stranger
the bot is there). Pause, resume and kill go through the same switches as HTTP and the CLI, journaled
with the source "telegram" and the sender in the reason.

Commands sent while the bot was down are dropped at start-up: a /resume typed hours ago must not resume.
A Telegram outage never stops the hedging: starting is retried in the background, and python-telegram-bot
retries its polling on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes, MessageHandler, filters

from bot.clock import Clock, wall_ms
from bot.config import AlertSettings
from bot.errors import ConfigError
from bot.log import get_logger, register_secrets
from bot.ops.kill import KillSwitch
from bot.ops.pause import PauseSwitch
from bot.ops.status_text import control_rows, defense_rows, format_rows, hedge_rows, status_rows

log = get_logger("hedgebot.telegram")

MAX_TEXT = 4000  # Telegram's limit is 4096 characters a message
HELP = (
    "hedgebot commands:\n"
    "/status - health factor, liquidation price, hedge, last decision\n"
    "/hedge - the futures leg: size, PnL, funding, stops\n"
    "/pause [why] - no new orders; keeps watching, alerting and the stops\n"
    "/resume [why] - trade again\n"
    "/kill [why] - cancel entries and halt (a restart refuses to trade until hedgebot kill --clear)\n"
    "/defense - the guardian: reserve, defended today, the price at which the next defense fires"
)
NO_GUARDIAN = "no guardian configured (no key: no defense): /defense has nothing to report"


def allowed_chat_ids(settings: AlertSettings) -> frozenset[int]:
    """The chats whose commands are answered; ConfigError for an id that is not a number."""
    given = settings.telegram_command_chat_ids or ([settings.telegram_chat_id] if settings.telegram_chat_id else [])
    if not given:
        raise ConfigError(
            "HEDGEBOT_ALERTS__TELEGRAM_COMMANDS=true but no chat is allowed: set HEDGEBOT_ALERTS__TELEGRAM_CHAT_ID "
            "or HEDGEBOT_ALERTS__TELEGRAM_COMMAND_CHAT_IDS (e.g. '[\"123456789\"]')"
        )
    ids = set()
    for chat in given:
        try:
            ids.add(int(chat))
        except ValueError:
            raise ConfigError(
                f"Telegram chat {chat!r} is not a numeric chat id: commands are only taken from numeric ids "
                "(set HEDGEBOT_ALERTS__TELEGRAM_COMMAND_CHAT_IDS to them; @channel names can receive alerts only)"
            ) from None
    return frozenset(ids)


class TelegramCommands:
    """The command side of the Telegram bot; `start` and `stop` around the bot's life."""

    def __init__(
        self,
        token: str,
        allowed: frozenset[int],
        status_document: Callable[[], dict[str, Any]],
        pause: PauseSwitch,
        kill: KillSwitch,
        *,
        api_url: str = "https://api.telegram.org",
        poll_timeout_s: int = 10,
        retry_s: float = 5.0,
        clock_ms: Clock = wall_ms,
    ) -> None:
        register_secrets([token])
        self.allowed = allowed
        self.status_document = status_document
        self.pause = pause
        self.kill = kill
        self.poll_timeout_s = poll_timeout_s
        self.retry_s = retry_s
        self._clock_ms = clock_ms
        self.refused = 0
        self.app: Application[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().token(token).base_url(f"{api_url.rstrip('/')}/bot").build()
        )
        self._add_handlers()
        self._starter: asyncio.Task[None] | None = None
        self.started = asyncio.Event()

    def __repr__(self) -> str:
        return f"TelegramCommands(allowed={sorted(self.allowed)}, token=**********)"

    @classmethod
    def from_settings(
        cls,
        settings: AlertSettings,
        status_document: Callable[[], dict[str, Any]],
        pause: PauseSwitch,
        kill: KillSwitch,
    ) -> TelegramCommands | None:
        """The command side, or None when HEDGEBOT_ALERTS__TELEGRAM_COMMANDS is off."""
        if not settings.telegram_commands:
            return None
        if settings.telegram_token is None:
            raise ConfigError(
                "HEDGEBOT_ALERTS__TELEGRAM_COMMANDS=true needs HEDGEBOT_ALERTS__TELEGRAM_TOKEN (from @BotFather)"
            )
        return cls(
            settings.telegram_token.get_secret_value(),
            allowed_chat_ids(settings),
            status_document,
            pause,
            kill,
            api_url=settings.telegram_api_url,
        )

    def _add_handlers(self) -> None:
        allowed = filters.Chat(chat_id=self.allowed)
        # One group: the first handler that matches answers. Strangers first, whatever they send.
        self.app.add_handler(MessageHandler(~allowed, self._refuse))
        for name, handler in (
            ("status", self._status),
            ("hedge", self._hedge),
            ("pause", self._pause),
            ("resume", self._resume),
            ("kill", self._kill),
            ("defense", self._defense),
            ("help", self._help),
            ("start", self._help),
        ):
            self.app.add_handler(CommandHandler(name, handler, filters=allowed))
        self.app.add_handler(MessageHandler(allowed, self._unknown))
        self.app.add_error_handler(self._on_error)

    # ---- life cycle ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Start polling in the background; a failure (Telegram unreachable, a wrong token) is retried."""
        # httpx logs every poll at INFO (URL and all; the token is redacted, the noise is not).
        logging.getLogger("httpx").setLevel(logging.WARNING)
        self._starter = asyncio.create_task(self._start_until_up(), name="telegram")

    async def _start_until_up(self) -> None:
        delay_s = self.retry_s
        while True:
            try:
                await self.app.initialize()  # getMe: checks the token
                assert self.app.updater is not None
                await self.app.updater.start_polling(
                    poll_interval=0.0,
                    timeout=self.poll_timeout_s,
                    allowed_updates=["message"],
                    drop_pending_updates=True,
                )
                await self.app.start()
            except Exception as exc:
                log.warning("telegram commands unavailable: retrying", error=type(exc).__name__, retry_s=delay_s)
                with contextlib.suppress(Exception):
                    await self.app.shutdown()
                await asyncio.sleep(delay_s)
                delay_s = min(delay_s * 2, 300.0)
                continue
            log.info("telegram commands on", chats=sorted(self.allowed))
            self.started.set()
            return

    async def stop(self) -> None:
        if self._starter is not None:
            self._starter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._starter
            self._starter = None
        if self.app.updater is not None and self.app.updater.running:
            await self.app.updater.stop()
        if self.app.running:
            await self.app.stop()
        with contextlib.suppress(Exception):
            await self.app.shutdown()

    # ---- handlers ------------------------------------------------------------------------------------

    @staticmethod
    def _sender(update: Update) -> str:
        user = update.effective_user
        if user is None:
            return "unknown sender"
        return f"@{user.username}" if user.username else f"user {user.id}"

    async def _reply(self, update: Update, text: str) -> None:
        if update.effective_message is not None:
            await update.effective_message.reply_text(text[:MAX_TEXT], disable_web_page_preview=True)

    async def _refuse(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        self.refused += 1
        chat = update.effective_chat
        text = update.effective_message.text if update.effective_message else None
        log.warning(
            "telegram: refused a message from a chat that is not allowed",
            chat_id=chat.id if chat else None,
            sender=self._sender(update),
            text=(text or "")[:80],
        )

    def _why(self, context: ContextTypes.DEFAULT_TYPE, update: Update, default: str) -> str:
        given = " ".join(context.args or []).strip()
        return f"{given or default} (telegram, {self._sender(update)})"

    async def _status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        doc = self.status_document()
        await self._reply(update, f"hedgebot ({doc.get('mode')})\n" + format_rows(status_rows(doc)))

    async def _hedge(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        doc = self.status_document()
        await self._reply(update, format_rows(control_rows(doc) + hedge_rows(doc)))

    async def _pause(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        answer = await self.pause.pause(
            self._why(context, update, "paused from Telegram"), "telegram", self._clock_ms()
        )
        if not answer.changed and answer.request is not None:
            await self._reply(update, f"already paused (by {answer.request.source}: {answer.request.reason})")
        else:
            await self._reply(update, "paused: no new orders; watching, alerting and the stops go on. /resume to trade")

    async def _resume(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        why = self._why(context, update, "resumed from Telegram")
        answer = await self.pause.resume(why, "telegram", self._clock_ms())
        await self._reply(update, "resumed: trading again" if answer.changed else "not paused: nothing to resume")

    async def _kill(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        already = self.kill.requested
        request = await self.kill.request_kill(
            self._why(context, update, "killed from Telegram"), "telegram", self._clock_ms()
        )
        if already:
            await self._reply(update, f"already killed (by {request.source}: {request.reason})")
        else:
            await self._reply(
                update,
                "kill requested: entries cancelled, the bot halts; a restart refuses to trade until "
                "`hedgebot kill --clear`",
            )

    async def _defense(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        doc = self.status_document()
        defense = doc.get("defense") or {}
        if not defense or ("reserve" not in defense and not defense.get("enabled")):
            await self._reply(update, NO_GUARDIAN)
        else:
            await self._reply(update, format_rows(defense_rows(doc)))

    async def _help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, HELP)

    async def _unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self._reply(update, "unknown command\n\n" + HELP)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.warning("telegram command failed", error=type(context.error).__name__, detail=str(context.error)[:200])
