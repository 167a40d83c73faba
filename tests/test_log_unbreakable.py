"""A log stream whose reader went away drops lines instead of raising (a real pipe, its read end closed)."""

from __future__ import annotations

import contextlib
import os

from bot.log import configure, get_logger, unbreakable


def test_lines_to_a_closed_pipe_are_dropped_not_raised() -> None:
    read_fd, write_fd = os.pipe()
    os.close(read_fd)  # the reader is gone: the next write raises BrokenPipeError
    with os.fdopen(write_fd, "w", buffering=1) as pipe:
        stream = unbreakable(pipe)
        assert unbreakable(stream) is stream
        configure("json", "info", stream)
        try:
            get_logger("t").info("into the closed pipe")  # raised BrokenPipeError before
            get_logger("t").warning("and again")
            print("print too", file=stream)
        finally:
            configure("console", "info")
        with contextlib.suppress(BrokenPipeError):  # the unflushed rest of the buffer; the file is closed anyway
            pipe.close()
