"""Mosquitto from Debian's package, one broker per run directory on a free loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import ServiceError
from vigil.services.process import free_port, spawn, stop_pid, wait_port

DEBIAN_PACKAGES = ("mosquitto", "mosquitto-clients")
START_TIMEOUT_S = 15.0


def find_mosquitto() -> Path | None:
    found = shutil.which("mosquitto") or next(
        (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if Path(p).exists()), None
    )
    return Path(found) if found else None


def ensure_installed() -> Path:
    """Return the broker binary, installing Debian's package when we are root and it is missing."""
    binary = find_mosquitto()
    if binary:
        return binary
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise ServiceError(
            "mosquitto is not installed: run `sudo apt-get install mosquitto mosquitto-clients` "
            "(or put a mosquitto 2.x binary on PATH)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", *DEBIAN_PACKAGES],
    ):
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise ServiceError(f"`{' '.join(argv)}` failed:\n{done.stderr[-2000:]}")
    binary = find_mosquitto()
    if not binary:
        raise ServiceError("apt-get installed mosquitto but no binary was found")
    return binary


@dataclass(frozen=True, slots=True)
class MosquittoConfig:
    """What the tests and benchmarks rely on, kept in one place."""

    port: int
    data_dir: Path
    # Nagle's algorithm dominates MQTT tail latency here (docs: mqtt-clients.md): turn it off.
    tcp_nodelay: bool = True
    # Mosquitto's default (1000) drops messages for subscribers that fall behind.
    max_queued_messages: int = 1_000_000
    max_inflight_messages: int = 1000

    def render(self) -> str:
        return "\n".join(
            [
                "per_listener_settings false",
                # Started as root (CI), mosquitto would switch to user `mosquitto`, which cannot
                # write the persistence store in our run directory.
                "user root",
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous true",
                "persistence true",
                f"persistence_location {self.data_dir}/",
                "autosave_interval 1",
                f"set_tcp_nodelay {'true' if self.tcp_nodelay else 'false'}",
                f"max_queued_messages {self.max_queued_messages}",
                f"max_inflight_messages {self.max_inflight_messages}",
                "max_keepalive 65535",
                "log_dest stdout",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "log_timestamp_format %Y-%m-%dT%H:%M:%S",
                "",
            ]
        )


class Mosquitto:
    """One broker; `stop()` and `start()` again keep its port and persistent store."""

    def __init__(self, run_dir: Path, port: int | None = None) -> None:
        self.binary = ensure_installed()
        self.dir = run_dir / "mosquitto"
        self.config = MosquittoConfig(port=port or free_port(), data_dir=self.dir / "data")
        self.log_path = self.dir / "mosquitto.log"
        self.pid: int | None = None

    @property
    def port(self) -> int:
        return self.config.port

    def start(self) -> int:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        conf = self.dir / "mosquitto.conf"
        conf.write_text(self.config.render())
        proc = spawn([str(self.binary), "-c", str(conf)], self.log_path)
        wait_port(
            "127.0.0.1",
            self.port,
            pid=proc.pid,
            timeout_s=START_TIMEOUT_S,
            log_path=self.log_path,
            what="mosquitto",
        )
        self.pid = proc.pid
        return proc.pid

    def stop(self, *, kill: bool = False) -> None:
        if self.pid is not None:
            stop_pid(self.pid, kill=kill)
            self.pid = None
