"""The broker and the systems under test, each started fresh and stopped by its own PID.

`BenchBroker` is Mosquitto with the peer benchmark's settings (no persistence, $SYS every
second, 20 in flight per client, 100,000 queued), in two variants: Nagle on (Mosquitto's
default, as the peer was measured) and `set_tcp_nodelay true`. Every system is measured on
the same broker configuration in the same run.

Systems: `NodeRed` (our flow, `bench/nodered/`), `PythonBaseline` (bench.forwarder, in
forwarder or sink mode) and `VigilProcessor` (`vigil processor`). Each knows its wire format,
where it publishes alarms and processed counts, and how to get its sessions known.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.loadgen import make_format
from bench.workload import PeerFormat, VigilFormat
from vigil.services.endpoints import InfluxEndpoint
from vigil.services.mosquitto import ensure_installed
from vigil.services.process import free_port, spawn, stop_pid, wait_port

REPO = Path(__file__).resolve().parents[1]
NODE_RED_VERSION = "4.1.15"
START_TIMEOUT_S = 60.0


def nodered_home() -> Path:
    cache = Path(os.environ.get("VIGIL_CACHE_DIR", Path.home() / ".cache" / "vigil"))
    return cache / f"nodered-{NODE_RED_VERSION}"


def ensure_nodered() -> Path:
    """node-red from the pinned lock, installed with `npm ci` outside the repo once."""
    home = nodered_home()
    binary = home / "node_modules" / ".bin" / "node-red"
    lock = REPO / "bench" / "nodered" / "package-lock.json"
    stamp = home / "package-lock.json"
    if binary.exists() and stamp.exists() and stamp.read_bytes() == lock.read_bytes():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not installed: `apt-get install nodejs npm` (Node.js >= 18)")
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "bench" / "nodered" / "package.json", home / "package.json")
    shutil.copy(lock, stamp)
    print(f"bench: npm ci node-red {NODE_RED_VERSION} into {home}", file=sys.stderr, flush=True)
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(home)], check=True, timeout=600
    )
    return binary


@dataclass
class BenchBroker:
    run_dir: Path
    nodelay: bool = False
    port: int = 0
    pid: int | None = None

    def render(self) -> str:
        return "\n".join(
            [
                f"listener {self.port} 127.0.0.1",
                "allow_anonymous true",
                "persistence false",
                "sys_interval 1",
                f"set_tcp_nodelay {'true' if self.nodelay else 'false'}",
                "max_inflight_messages 20",
                "max_queued_messages 100000",
                "user root",
                "log_dest stdout",
                "log_type error",
                "log_type warning",
                "",
            ]
        )

    def start(self) -> None:
        binary = ensure_installed()
        self.port = free_port()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        conf = self.run_dir / "mosquitto.conf"
        conf.write_text(self.render())
        log = self.run_dir / "mosquitto.log"
        proc = spawn([str(binary), "-c", str(conf)], log)
        wait_port(
            "127.0.0.1", self.port, pid=proc.pid, timeout_s=15, log_path=log, what="mosquitto"
        )
        self.pid = proc.pid

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid)
            self.pid = None


class System:
    """A system under test: start against a broker with a persistence delay, stop."""

    name = "system"
    wire = "peer"
    stats_name: str | None = None
    emits_alarms = True

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self.pid: int | None = None
        self.delay_s = 0.0
        self.log_path = run_dir / f"{self.name}.log"

    @property
    def fmt(self) -> PeerFormat | VigilFormat:
        return make_format(self.wire)

    @property
    def stats_prefix(self) -> str | None:
        return "peer/_stats/" if self.stats_name else None

    def argv(self, broker: BenchBroker, delay_s: float) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def start(self, broker: BenchBroker, delay_s: float) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.delay_s = delay_s
        argv, env = self.argv(broker, delay_s)
        self.pid = spawn(argv, self.log_path, env=env).pid

    def extra_pids(self) -> dict[str, int | None]:
        """Other processes whose CPU is part of this system's cost (InfluxDB for Vigil)."""
        return {}

    def processed(self, shared: dict[str, Any]) -> float:
        """Readings processed so far (from its stats topic), -1 when unknown."""
        return float(shared["processed"].value)

    def stop(self) -> None:
        if self.pid is not None:
            stop_pid(self.pid, timeout_s=15)
            self.pid = None

    def announce_sessions(self, broker: BenchBroker, names: list[str]) -> None:
        """Make sessions known before readings arrive (only Vigil needs it)."""

    def forget_sessions(self, broker: BenchBroker, names: list[str]) -> None:
        """Undo `announce_sessions`."""


class NodeRed(System):
    name = "nodered"
    stats_name = "nodered"

    def argv(self, broker: BenchBroker, delay_s: float) -> tuple[list[str], dict[str, str]]:
        from bench.nodered_flow import flow  # noqa: PLC0415

        binary = ensure_nodered()
        user_dir = self.run_dir / "nodered-userdir"
        shutil.rmtree(user_dir, ignore_errors=True)
        user_dir.mkdir(parents=True)
        (user_dir / "flows.json").write_text(json.dumps(flow(), indent=1))
        (user_dir / "package.json").write_text('{"name":"bench","private":true,"dependencies":{}}')
        env = {
            "BENCH_MQTT_PORT": str(broker.port),
            "BENCH_NR_PORT": str(free_port()),
            "BENCH_NR_USERDIR": str(user_dir),
            "DELAY_S": repr(delay_s),
            "NODE_RED_DISABLE_TELEMETRY": "1",
        }
        return [str(binary), "--settings", str(REPO / "bench" / "nodered" / "settings.js")], env


class PythonBaseline(System):
    """bench.forwarder as a system: `forwarder` does the job, `sink` only receives."""

    def __init__(self, run_dir: Path, mode: str = "forwarder") -> None:
        self.name = mode
        self.stats_name = mode
        self.emits_alarms = mode != "sink"
        super().__init__(run_dir)

    def argv(self, broker: BenchBroker, delay_s: float) -> tuple[list[str], dict[str, str]]:
        argv = [sys.executable, "-m", "bench.forwarder", "--port", str(broker.port)]
        return [*argv, "--mode", self.name, "--delay", repr(delay_s)], {"PYTHONPATH": str(REPO)}


class VigilProcessor(System):
    """`vigil processor` on the peer-compatible profile (see `bench/vigil_processor.py`)."""

    wire = "vigil"

    def __init__(
        self, run_dir: Path, influx: InfluxEndpoint | None = None, role: str = "all"
    ) -> None:
        self.name = "vigil" if role == "all" else f"vigil-{role}"
        super().__init__(run_dir)
        self.influx = influx
        self.role = role
        self.run: Any = None

    def argv(self, broker: BenchBroker, delay_s: float) -> tuple[list[str], dict[str, str]]:
        from bench.vigil_processor import VigilRun  # noqa: PLC0415

        if self.influx is None:
            raise RuntimeError("vigil processor needs InfluxDB: pass its endpoint")
        self.run = VigilRun(self.run_dir, broker.port, self.influx, delay_s, self.role)
        return self.run.argv()  # type: ignore[no-any-return]

    def extra_pids(self) -> dict[str, int | None]:
        return {"influxdb": self.influx.pid if self.influx else None}

    def processed(self, shared: dict[str, Any]) -> float:
        del shared
        return self.run.processed() if self.run else -1.0  # type: ignore[no-any-return]

    def announce_sessions(self, broker: BenchBroker, names: list[str]) -> None:
        from bench.vigil_processor import announce  # noqa: PLC0415

        announce(broker.port, names, self.delay_s)

    def forget_sessions(self, broker: BenchBroker, names: list[str]) -> None:
        from bench.vigil_processor import forget  # noqa: PLC0415

        forget(broker.port, names)


def make_system(name: str, run_dir: Path, influx: InfluxEndpoint | None = None) -> System:
    systems: dict[str, Any] = {
        "nodered": NodeRed,
        "vigil": lambda d: VigilProcessor(d, influx),
        "vigil-alarms": lambda d: VigilProcessor(d, influx, "alarms"),
        "forwarder": lambda d: PythonBaseline(d, "forwarder"),
        "sink": lambda d: PythonBaseline(d, "sink"),
    }
    return systems[name](run_dir / name)  # type: ignore[no-any-return]
