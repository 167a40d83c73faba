"""`hedgebot status` and `hedgebot kill`: ask the running bot over HTTP, or fall back to its files.

`status` reads GET /status of the running bot; when nothing answers it shows the journal's latest
snapshot and decision instead (and says so). `kill` POSTs /kill; when nothing answers it journals the
kill and writes the kill file `<db_path>.kill`, which a running engine watches. Either way the kill is
journaled, so a restarted bot refuses to trade until `hedgebot kill --clear`. Exit codes: 0 done,
1 nothing to read or kill (no journal), 2 bad usage or a refused token.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bot.clock import wall_ms
from bot.config import Settings, load_settings
from bot.errors import HedgebotError, UsageError
from bot.journal.journal import Journal
from bot.ops.kill import kill_file_for, write_kill_file
from bot.ops.output import print_json
from bot.ops.status import status_from_journal
from bot.ops.status_text import format_rows, status_rows


class Unreachable(Exception):
    """Nothing answered at the URL (the bot is not running, or its endpoint is off)."""


def register(sub: argparse._SubParsersAction[Any]) -> None:
    status = sub.add_parser("status", help="the running bot's status, or the journal's last one")
    _common(status)
    status.add_argument("--json", action="store_true", help="print the status document as JSON")
    status.add_argument(
        "--live",
        action="store_true",
        help="only the running bot's answer: exit 1 when it does not answer, instead of reading the journal "
        "(for health checks)",
    )
    status.set_defaults(func=run_status)

    kill = sub.add_parser("kill", help="halt the running bot (HTTP, or the kill file when HTTP is off)")
    _common(kill)
    kill.add_argument("--reason", default="hedgebot kill", help="why (journaled and alerted)")
    kill.add_argument("--json", action="store_true", help="print what was done as JSON")
    kill.add_argument("--clear", action="store_true", help="clear a kill in force, so that `hedgebot run` trades again")
    kill.set_defaults(func=run_kill)


def _common(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", help="the bot's endpoint (default: http://<http_host>:<http_port>)")
    where.add_argument("--db", type=Path, help="skip HTTP: use this journal (and its .kill file)")
    p.add_argument("--config", type=Path, help="TOML settings file")
    p.add_argument("--timeout", type=float, default=3.0, help="HTTP timeout (s)")


def default_url(settings: Settings) -> str | None:
    if settings.http_port == 0:
        return None
    host = settings.http_host
    # A bot bound to every interface is reached on loopback from its own machine.
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{settings.http_port}" if ":" in host else f"http://{host}:{settings.http_port}"


def _request(url: str, path: str, token: str | None, timeout_s: float, body: dict[str, Any] | None = None) -> Any:
    base = url.rstrip("/").removesuffix("/status").removesuffix("/kill")
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method="GET" if body is None else "POST")
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=timeout_s) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            raise UsageError(f"{base} asks for a token: set HEDGEBOT_HTTP_TOKEN to the bot's") from None
        raise HedgebotError(f"{base}{path} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise Unreachable(f"nothing answered at {base} ({reason})") from None


def _settings_and_url(args: argparse.Namespace) -> tuple[Settings, str | None, str | None]:
    settings = load_settings(args.config)
    token = settings.http_token.get_secret_value() if settings.http_token else None
    url = None if args.db is not None else (args.url or default_url(settings))
    return settings, url, token


def run_status(args: argparse.Namespace) -> int:
    settings, url, token = _settings_and_url(args)
    doc: dict[str, Any] | None = None
    if args.live and url is None:
        raise UsageError("--live asks the running bot: it needs its endpoint (HEDGEBOT_HTTP_PORT, or --url), not --db")
    if url is not None:
        try:
            doc = _request(url, "/status", token, args.timeout)
        except Unreachable as exc:
            if args.live:
                raise HedgebotError(f"{exc}: the bot is not running, or its endpoint is off") from None
            print(f"hedgebot: {exc}; showing the journal instead", file=sys.stderr)
    if doc is None:
        db = args.db or settings.db_path
        with Journal.open_readonly(db) as journal:
            doc = status_from_journal(journal, wall_ms(), kill_file_for(db))
        doc["journal"] = str(db)
    else:
        doc["url"] = url
    if args.json:
        print_json(doc)
    else:
        print_status(doc)
    return 0


def print_status(doc: dict[str, Any]) -> None:
    """One screen for a person."""
    if doc["source"] == "http":
        print(f"hedgebot status (running bot at {doc.get('url')}, mode {doc.get('mode')})")
    else:
        print(f"hedgebot status (from the journal {doc.get('journal')}: the bot is not answering)")
    print(format_rows(status_rows(doc)))


def _journal_for_kill(db: Path) -> Journal:
    if not db.exists():
        raise HedgebotError(
            f"no journal at {db}: no bot has run with this db_path here, so there is nothing to kill or clear; "
            "pass --db with the bot's journal, or --url with its endpoint"
        )
    return Journal.open(db, wall_ms())


def run_kill(args: argparse.Namespace) -> int:
    settings, url, token = _settings_and_url(args)
    db = args.db or settings.db_path
    if args.clear:
        with _journal_for_kill(db) as journal:
            was = journal.control_state().killed
            journal.record_control("clear_kill", "cli", args.reason, wall_ms())
        kill_file_for(db).unlink(missing_ok=True)
        if args.json:
            print_json({"via": "journal", "journal": str(db), "cleared": was is not None})
        else:
            print(f"kill cleared in {db}: `hedgebot run` trades again" if was else f"no kill was in force in {db}")
        return 0
    if url is not None:
        try:
            answer = _request(url, "/kill", token, args.timeout, {"reason": args.reason})
        except Unreachable as exc:
            print(f"hedgebot: {exc}; journaling the kill and writing the kill file instead", file=sys.stderr)
        else:
            if args.json:
                print_json({"via": "http", "url": url, **answer})
            else:
                print(f"kill requested at {url}: {answer['reason']}")
            return 0
    now = wall_ms()
    with _journal_for_kill(db) as journal:
        journal.record_control("kill", "cli", args.reason, now)
    path = kill_file_for(db)
    write_kill_file(path, args.reason, now)
    if args.json:
        print_json({"via": "journal", "journal": str(db), "path": str(path), "reason": args.reason})
    else:
        print(
            f"kill journaled in {db} and written to {path}: a running bot halts within a second, and a restarted "
            "one refuses to trade until `hedgebot kill --clear`"
        )
    return 0
