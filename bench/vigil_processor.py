"""How the bench runs `vigil processor`: command line, environment, sessions, processed count.

Two systems: `vigil` is the processor in its default role `all` (it judges and stores every
reading: journal -> InfluxDB); `vigil-alarms` is the alarm half of a split pair (`--role
alarms`: it judges every reading and stores only alarm events), the like-for-like peer of a
Node-RED flow that stores nothing. Both write to a real InfluxDB 2.7 from `vigil.services`
(started once per bench run and shared); its CPU is reported separately. Sessions are
announced as retained `SessionDescriptor`s on the `peer-compat` profile (the persistence
delay as a per-rule override), and forgotten after the step. The processed count is
`vigil_processor_readings_total` from its metrics endpoint.
"""

from __future__ import annotations

import re
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import msgspec

from bench.mqtt_raw import WindowedPublisher, utf8
from bench.workload import RULES
from vigil.services.endpoints import InfluxEndpoint
from vigil.services.process import free_port
from vigil.wire import SessionDescriptor, Topics

REPO = Path(__file__).resolve().parents[1]
PROFILE = "peer-compat"
_READINGS = re.compile(rb"^vigil_processor_readings_total (\S+)$", re.MULTILINE)
_ENCODE = msgspec.json.Encoder()


def available() -> str | None:
    """None when `vigil processor` exists, else why not (the bench then skips Vigil)."""
    import importlib.util  # noqa: PLC0415

    if importlib.util.find_spec("monitor.command") is None:
        return "`vigil processor` does not exist yet (monitor/command.py)"
    return None


def command() -> list[str]:
    """`vigil processor` when the CLI lists it, else the same `monitor.command` through this
    module's `main` (identical code path: configure_parser + run)."""
    from vigil.cli import SUBCOMMANDS  # noqa: PLC0415

    if "processor" in SUBCOMMANDS:
        return [sys.executable, "-m", "vigil.cli", "processor"]
    return [sys.executable, "-m", "bench.vigil_processor"]


@dataclass
class VigilRun:
    """What one processor process needs: its broker, InfluxDB, spill and metrics port."""

    run_dir: Path
    mqtt_port: int
    influx: InfluxEndpoint
    delay_s: float = 0.0
    role: str = "all"
    metrics_port: int = 0

    def argv(self) -> tuple[list[str], dict[str, str]]:
        self.metrics_port = free_port()
        env = {
            "VIGIL_MQTT_URL": f"mqtt://127.0.0.1:{self.mqtt_port}",
            "VIGIL_INFLUX_URL": self.influx.url,
            "VIGIL_INFLUX_ORG": self.influx.org,
            "VIGIL_INFLUX_BUCKET": self.influx.bucket,
            "VIGIL_INFLUX_TOKEN": self.influx.token,
            "PYTHONPATH": str(REPO),
        }
        argv = [
            *command(),
            "--spill-dir",
            str(self.run_dir / "spill"),
            "--metrics-port",
            str(self.metrics_port),
            "--client-id",
            f"bench-{time.time_ns() % 10**9}",
            "--profile",  # announced sessions name it too; this covers any that do not
            PROFILE,
            "--role",
            self.role,
        ]
        return argv, env

    def processed(self) -> float:
        """Readings received so far, or -1 when the metrics endpoint does not answer."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                match = _READINGS.search(response.read())
        except OSError:
            return -1.0
        return float(match.group(1)) if match else -1.0


def descriptor(session: str, delay_s: float) -> bytes:
    overrides = {r.rule_id: {"delay_s": delay_s} for r in RULES} if delay_s else {}
    return _ENCODE.encode(
        SessionDescriptor(
            session=session,
            patient=f"p-{session}",
            devices=[f"{session}-d"],
            profile=PROFILE,
            clinicians=["bench"],
            started=time.time(),
            overrides=overrides,  # type: ignore[arg-type]
        )
    )


def _publish_retained(port: int, messages: list[tuple[str, bytes]]) -> None:
    pub = WindowedPublisher("127.0.0.1", port, f"bench-sessions-{time.time_ns()}", 1000)
    try:
        for topic, payload in messages:
            pub.publish(utf8(topic), payload, retain=True)
        pub.flush(30)
    finally:
        pub.close()


def announce(port: int, names: list[str], delay_s: float) -> None:
    topics = Topics()
    _publish_retained(port, [(topics.session(n), descriptor(n, delay_s)) for n in names])


def forget(port: int, names: list[str]) -> None:
    topics = Topics()
    _publish_retained(port, [(topics.session(n), b"") for n in names])


def main() -> int:
    import argparse  # noqa: PLC0415
    import logging  # noqa: PLC0415

    from monitor.command import configure_parser, run  # noqa: PLC0415

    parser = argparse.ArgumentParser(prog="vigil processor")
    configure_parser(parser)
    logging.basicConfig(level=logging.WARNING)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
