"""Starting anvil as a child process that dies with its parent, even on kill -9."""

from __future__ import annotations

import ctypes
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from bot.devnet.chain.artifacts import anvil_binary
from bot.devnet.chain.rpc import DevRpc
from bot.errors import UsageError

_PR_SET_PDEATHSIG = 1
CHAIN_ID = 31337
# anvil's default dev accounts come from this public mnemonic: their keys are public, fine for a devnet.
DEV_MNEMONIC = "test test test test test test test test test test test junk"


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: the kernel sends SIGKILL when the parent dies.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Anvil:
    """A running anvil child. Use as a context manager, or call start() and stop()."""

    def __init__(self, port: int = 8545, host: str = "127.0.0.1", binary: Path | None = None) -> None:
        self.host = host
        self.port = port
        self.binary = binary
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    def start(self, ready_timeout_s: float = 20.0) -> None:
        """Starts anvil and returns once it answers; UsageError if the port is taken."""
        if port_in_use(self.host, self.port):
            raise UsageError(f"port {self.port} is already in use: stop what listens there or pass another --port")
        args = [
            str(self.binary or anvil_binary()),
            "--host", self.host,
            "--port", str(self.port),
            "--chain-id", str(CHAIN_ID),
            "--mnemonic", DEV_MNEMONIC,
            "--accounts", "10",
            # Pool is close to the 24 KiB code limit and a health cycle's multicall is large: room for both.
            "--gas-limit", "1000000000",
            "--disable-code-size-limit",
            "--no-request-size-limit",
            "--silent",
        ]  # fmt: skip
        self.process = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_die_with_parent,
        )
        rpc = DevRpc(self.url, timeout_s=2.0)
        deadline = time.monotonic() + ready_timeout_s
        while not rpc.reachable():
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                raise UsageError(f"anvil exited with code {self.process.returncode}: {err.strip()[-500:]}")
            if time.monotonic() > deadline:
                self.stop()
                raise UsageError(f"anvil did not answer on {self.url} within {ready_timeout_s}s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stops anvil (SIGTERM, then SIGKILL) and waits for it."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> Anvil:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
