"""Starting, waiting for and stopping one service process, with its log kept in the run dir."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from vigil.errors import ServiceError

LOG_TAIL_LINES = 40
STARTUP_SETTLE_S = 0.2


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def spawn(
    argv: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a service in its own process group, so it outlives a `vigil services up` shell."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        return subprocess.Popen(  # noqa: S603 - argv is built by the harness, never from input
            argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, **(env or {})},
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def wait_port(  # noqa: PLR0913 - each is one fact the error message needs
    host: str, port: int, *, pid: int, timeout_s: float, log_path: Path, what: str
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            raise ServiceError(f"{what} exited during start; last log lines:\n{log_tail(log_path)}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            # Someone listens; make sure it is our process and not an older one on that port.
            time.sleep(STARTUP_SETTLE_S)
            if pid_alive(pid):
                return
        time.sleep(0.05)
    raise ServiceError(
        f"{what} did not listen on {host}:{port} within {timeout_s:.0f} s; "
        f"last log lines:\n{log_tail(log_path)}"
    )


def stop_pid(pid: int, timeout_s: float = 10.0, *, kill: bool = False) -> None:
    """Stop a process group started by `spawn`: SIGTERM (or SIGKILL), then wait, then SIGKILL."""
    if not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL if kill else signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    while pid_alive(pid):
        time.sleep(0.05)
