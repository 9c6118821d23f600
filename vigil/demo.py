"""`vigil demo`: the whole pipeline on this machine, printing what flows through it.

Real services (Mosquitto, InfluxDB 2.7), three emulated patients on a bumble radio hub with
different scripted ketamine sessions (time-compressed), the gateway reading them over the real
bleak API, the stream processor, and the clinicians' hub serving the live dashboard. Every
process is a `vigil` subcommand in its own process, with its log in the run directory; the
terminal shows the dashboard URL, the demo credentials, the readings and the alarms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import msgspec

from vigil.errors import VigilError
from vigil.mqtt_settings import MqttSettings
from vigil.services import Endpoints, ServiceStack
from vigil.services.process import free_port, log_tail
from vigil.sessions import publish_session
from vigil.wire import AlarmEvent, DeviceStatus, Metric, ReadingBatch, SessionDescriptor, Topics

SCENARIO_DIR = Path(__file__).resolve().parents[1] / "scenarios"
DEMO_SCENARIOS = ("typical-session.toml", "hypertensive-response.toml", "connectivity-trouble.toml")
KINDS = {"heart_rate": "hr_strap", "blood_pressure": "bp_cuff", "pulse_oximeter": "pulse_oximeter"}
CLINICIAN, SUPERVISOR = "dr-demo", "sup-demo"
START_TIMEOUT_S = 30.0
SUMMARY_EVERY_S = 10.0


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=None,
        help="services' data and every process's log (default: a temporary folder)",
    )
    parser.add_argument(
        "--speed",
        type=float,
        default=30.0,
        help="scenario time runs this many times faster (default: %(default)s)",
    )
    parser.add_argument(
        "--minutes",
        type=float,
        default=None,
        help="stop after this many real minutes (default: when the sessions end)",
    )
    parser.add_argument(
        "--hub-port", type=int, default=8765, help="dashboard port (0: any free one)"
    )
    parser.add_argument(
        "--scenario",
        action="append",
        type=Path,
        default=None,
        help="scenario file (repeatable; default: the three in scenarios/)",
    )


def say(stage: str, text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} {stage:>9}] {text}", flush=True)  # noqa: T201


@dataclass(frozen=True, slots=True)
class Patient:
    session: str
    scenario: Path
    devices: tuple[tuple[str, str, str], ...]  # (device id, kind, address)
    dose_in_s: float | None


def _patients(paths: list[Path], speed: float) -> list[Patient]:
    from devices.emulation.scenario_file import load_scenario  # noqa: PLC0415 - heavy (bumble)

    patients = []
    for number, path in enumerate(paths, start=1):
        scenario = load_scenario(path)
        session = f"S-DEMO-{number}"
        devices = tuple(
            (
                f"{KINDS[spec.kind.value].split('_')[0]}-{number}",
                KINDS[spec.kind.value],
                spec.address,
            )
            for spec in scenario.devices
        )
        dose = scenario.dose.at_s / speed if scenario.dose else None
        patients.append(Patient(session=session, scenario=path, devices=devices, dose_in_s=dose))
    return patients


def _gateway_config(patients: list[Patient], endpoints: Endpoints, outbox: Path) -> str:
    assert endpoints.mqtt is not None
    lines = [
        "[gateway]",
        'id = "gw-demo"',
        f'outbox = "{outbox}"',
        "",
        "[mqtt]",
        f'url = "{endpoints.mqtt.url}"',
        "",
        "[ble]",
        "scan_timeout_s = 5",
        "",
    ]
    for patient in patients:
        for device_id, kind, address in patient.devices:
            lines += [
                "[[devices]]",
                f'id = "{device_id}"',
                f'kind = "{kind}"',
                f'session = "{patient.session}"',
                f'address = "{address}"',
                "",
            ]
    return "\n".join(lines)


class Processes:
    """The demo's child processes: started with logs in the run dir, stopped in reverse."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir, self.env = log_dir, env
        self.started: list[tuple[str, subprocess.Popen[bytes]]] = []
        log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str, stdout: int | None = None) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        proc = subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "vigil.cli", "-v", *args],
            stdout=stdout if stdout is not None else log,
            stderr=log,
            env=self.env,
            stdin=subprocess.DEVNULL,
        )
        self.started.append((name, proc))
        return proc

    def check(self) -> None:
        for name, proc in self.started:
            if proc.poll() is not None and name != "emulate":
                raise VigilError(
                    f"{name} exited ({proc.returncode}); its log:\n"
                    f"{log_tail(self.log_dir / f'{name}.log')}"
                )

    def stop(self) -> None:
        for _, proc in reversed(self.started):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for _, proc in reversed(self.started):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _hub_users(path: Path) -> str:
    from alerts.hub.passwords import hash_password  # noqa: PLC0415
    from alerts.hub.users import Account, UserDirectory, save_users  # noqa: PLC0415

    password = secrets.token_urlsafe(12)
    save_users(
        path,
        UserDirectory(
            (
                Account(CLINICIAN, "clinician", hash_password(password)),
                Account(SUPERVISOR, "supervisor", hash_password(password)),
            )
        ),
    )
    return password


async def _watch(
    mqtt: MqttSettings,
    stop_at: float | None,
    emulate: subprocess.Popen[bytes],
    processes: Processes,
) -> Counter[str]:
    topics = Topics(mqtt.root)
    readings: Counter[str] = Counter()
    latest: dict[str, dict[Metric, float]] = {}
    alarms: Counter[str] = Counter()
    next_summary = time.monotonic() + SUMMARY_EVERY_S
    async with aiomqtt.Client(mqtt.host, mqtt.port) as client:
        await client.subscribe(topics.readings_filter(), qos=1)
        await client.subscribe(topics.alarm_events("+"), qos=1)
        await client.subscribe(topics.device_status("+"), qos=1)
        messages = aiter(client.messages)
        while (stop_at is None or time.monotonic() < stop_at) and emulate.poll() is None:
            processes.check()
            with contextlib.suppress(TimeoutError):
                message = await asyncio.wait_for(anext(messages), 1.0)
                payload = message.payload if isinstance(message.payload, bytes) else b""
                if message.topic.matches(topics.alarm_events("+")):
                    event = msgspec.json.decode(payload, type=AlarmEvent)
                    alarms[event.kind] += 1
                    say(
                        "alarm",
                        f"{event.priority.upper():6} {event.kind:18} {event.message}"
                        + (f" [{event.subject}]" if event.subject else ""),
                    )
                elif message.topic.matches(topics.device_status("+")):
                    status = msgspec.json.decode(payload, type=DeviceStatus)
                    battery = (
                        f", battery {status.battery_pct} %"
                        if status.battery_pct is not None
                        else ""
                    )
                    say("device", f"{status.device} ({status.session}) {status.state}{battery}")
                else:
                    batch = msgspec.json.decode(payload, type=ReadingBatch)
                    readings[batch.session] += len(batch.readings)
                    for reading in batch.readings:
                        latest.setdefault(batch.session, {}).update(reading.values)
            if time.monotonic() >= next_summary:
                next_summary += SUMMARY_EVERY_S
                for session, values in sorted(latest.items()):
                    shown = ", ".join(
                        f"{k} {values[k]:.0f}" for k in ("hr", "sbp", "dbp", "spo2") if k in values
                    )
                    say("vitals", f"{session}: {shown} ({readings[session]} readings so far)")
    return alarms


async def _publish_sessions(mqtt: MqttSettings, patients: list[Patient], now: float) -> None:
    for patient in patients:
        descriptor = SessionDescriptor(
            session=patient.session,
            patient=f"P-DEMO-{patient.session[-1]}",
            devices=[d for d, _, _ in patient.devices],
            profile="ketamine-home",
            clinicians=[CLINICIAN],
            started=now,
            dose_time=now + patient.dose_in_s if patient.dose_in_s is not None else None,
        )
        await publish_session(mqtt, Topics(mqtt.root), descriptor)
        dose = f"dose in {patient.dose_in_s:.0f} s" if patient.dose_in_s is not None else "no dose"
        say("session", f"{patient.session}: {patient.scenario.name}, {dose}, profile ketamine-home")


def _wait_for_line(proc: subprocess.Popen[bytes], prefix: str, log: Path) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
        if not line and proc.poll() is not None:
            break
    raise VigilError(f"the emulator did not start; its log:\n{log_tail(log)}")


def run(args: argparse.Namespace) -> int:
    paths = args.scenario or [SCENARIO_DIR / name for name in DEMO_SCENARIOS]
    patients = _patients(paths, args.speed)
    with tempfile.TemporaryDirectory(prefix="vigil-demo-") as tmp:
        run_dir = (args.run_dir or Path(tmp)).resolve()
        say("services", f"starting Mosquitto and InfluxDB in {run_dir}")
        with ServiceStack(run_dir / "services") as endpoints:
            assert endpoints.mqtt is not None
            assert endpoints.influx is not None
            say(
                "services",
                f"{endpoints.mqtt.url}; "
                f"InfluxDB {endpoints.influx.version} at {endpoints.influx.url}",
            )
            return _run_pipeline(args, patients, endpoints, run_dir)


def _run_pipeline(
    args: argparse.Namespace, patients: list[Patient], endpoints: Endpoints, run_dir: Path
) -> int:
    assert endpoints.mqtt is not None
    env = {
        **os.environ,
        **endpoints.as_env(),
        "VIGIL_HUB_TOKEN_SECRET": secrets.token_urlsafe(48),
        "VIGIL_HUB_USERS": str(run_dir / "hub-users.toml"),
    }
    password = _hub_users(run_dir / "hub-users.toml")
    processes = Processes(run_dir / "logs", env)
    hub_port = args.hub_port or free_port()
    mqtt = MqttSettings(host=endpoints.mqtt.host, port=endpoints.mqtt.port)
    try:
        processes.start(
            "processor", "processor", "--shards", "all", "--spill-dir", str(run_dir / "processor")
        )
        processes.start("hub", "hub", "--port", str(hub_port))
        asyncio.run(_publish_sessions(mqtt, patients, time.time()))
        scenario_args = [a for p in patients for a in ("--scenario", str(p.scenario))]
        emulate = processes.start(
            "emulate",
            "emulate",
            *scenario_args,
            "--speed",
            str(args.speed),
            "--start-hub",
            "127.0.0.1:0",
            stdout=subprocess.PIPE,
        )
        hub = _wait_for_line(emulate, "listening on ", run_dir / "logs" / "emulate.log")
        say(
            "wearables",
            f"{sum(len(p.devices) for p in patients)} emulated wearables of "
            f"{len(patients)} patients on the radio hub {hub}, {args.speed:g}x time",
        )
        config = run_dir / "gateway.toml"
        config.write_text(
            _gateway_config(patients, endpoints, run_dir / "gateway" / "outbox.sqlite")
        )
        processes.start("gateway", "gateway", "--config", str(config), "--emulated-hub", hub)
        say(
            "dashboard",
            f"http://127.0.0.1:{hub_port}/  clinician {CLINICIAN} or supervisor "
            f"{SUPERVISOR}, password {password}",
        )
        say("logs", f"every process logs to {run_dir / 'logs'}; Ctrl-C stops the demo")
        stop_at = time.monotonic() + args.minutes * 60 if args.minutes else None
        with contextlib.suppress(KeyboardInterrupt):
            alarms = asyncio.run(_watch(mqtt, stop_at, emulate, processes))
            say(
                "done",
                "alarm events seen: "
                + (", ".join(f"{n} {k}" for k, n in alarms.items()) or "none"),
            )
    finally:
        processes.stop()
    return 0
