"""`hedgebot pause` and `hedgebot resume`: ask the running bot over HTTP, or journal the request.

Over HTTP (POST /pause, /resume) the running bot journals the request and answers. When nothing answers,
the request is journaled here: a running bot whose endpoint is off follows its journal and takes it
within a second, and a stopped bot starts paused (or not). Exit codes: 0 done, 1 no journal, 2 bad usage
or a refused token.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.clock import wall_ms
from bot.commands.status_cmd import Unreachable, _common, _journal_for_kill, _request, _settings_and_url
from bot.ops.output import print_json


def register(sub: argparse._SubParsersAction[Any]) -> None:
    pause = sub.add_parser("pause", help="stop placing new orders; keep watching, alerting and the stops")
    _common(pause)
    pause.add_argument("--reason", default="hedgebot pause", help="why (journaled and alerted)")
    pause.add_argument("--json", action="store_true", help="print what was done as JSON")
    pause.set_defaults(func=run_pause, action="pause")

    resume = sub.add_parser("resume", help="trade again after `hedgebot pause`")
    _common(resume)
    resume.add_argument("--reason", default="hedgebot resume", help="why (journaled and alerted)")
    resume.add_argument("--json", action="store_true", help="print what was done as JSON")
    resume.set_defaults(func=run_pause, action="resume")


def run_pause(args: argparse.Namespace) -> int:
    settings, url, token = _settings_and_url(args)
    action: str = args.action
    if url is not None:
        try:
            answer = _request(url, f"/{action}", token, args.timeout, {"reason": args.reason})
        except Unreachable as exc:
            print(f"hedgebot: {exc}; journaling the {action} instead", file=sys.stderr)
        else:
            if args.json:
                print_json({"via": "http", "url": url, **answer})
            elif not answer["changed"]:
                print(f"the bot at {url} was {'already paused' if action == 'pause' else 'not paused'}")
            elif action == "pause":
                print(f"paused at {url}: no new orders; stops kept (resume: hedgebot resume)")
            else:
                print(f"resumed at {url}: trading again")
            return 0
    db = args.db or settings.db_path
    with _journal_for_kill(db) as journal:
        was_paused = journal.control_state().paused is not None
        changed = was_paused != (action == "pause")
        if changed:
            journal.record_control(action, "cli", args.reason, wall_ms())
    if args.json:
        print_json({"via": "journal", "journal": str(db), "paused": action == "pause", "changed": changed})
    elif not changed:
        print(f"{db}: {'already paused' if action == 'pause' else 'not paused'}")
    elif action == "pause":
        print(
            f"pause journaled in {db}: a running bot stops placing new orders within a second, and a restarted "
            "one starts paused, until `hedgebot resume`"
        )
    else:
        print(f"resume journaled in {db}: the bot trades again")
    return 0
