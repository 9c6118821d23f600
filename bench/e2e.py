"""BLE notification -> dashboard websocket, through every real part (target p99 <= 25 ms).

One repetition, every process fresh except InfluxDB (shared by the repetitions):

    emulator processes (bench.e2e_wearables: devices.emulation HeartRateStrap x sessions)
        │ HCI over TCP
    radio hub (python -m devices.emulation.hub)
        │ HCI over TCP
    vigil gateway --emulated-hub (the real bleak API on the bumble backend, SQLite outbox)
        │ MQTT QoS 1, nodelay Mosquitto (BenchBroker)
    vigil processor (peer-compat, delay 0, InfluxDB 2.7) ── alarm events ──▶ vigil hub --no-audit
        │                                                                        │ websocket
    raw MQTT subscriber (this process: readings + alarm events)      clinicians (bench.e2e_clients)

Each session is one strap at 1 notification/s (phases spread over the second) with a scripted
tachycardia step to 130 bpm for 2.5 s every 8 s (sessions spread over the 8 s), announced as a
retained `SessionDescriptor` on `peer-compat` (hr_high > 120, reset 115, delay 0, no latching)
and assigned to one of `clinicians` accounts. Latency = websocket receipt - the strap's notify
time, matched by the alarm event's (device, seq) (bench.e2e_match explains the pairing).
Baseline, same run: notification -> arrival of the reading at the raw MQTT subscriber, over
every reading (the BLE emulation + gateway + broker hop every alarm rides on).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import secrets
import select
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import msgspec

from bench.e2e_clients import client_process
from bench.e2e_match import (
    AlarmSeen,
    Notification,
    ReadingSeen,
    alarm_latencies,
    crossing_starts,
    expected_alarms,
    expected_raises,
    pair,
    reading_latencies,
    scenario_toml,
    slow_seconds,
)
from bench.hub import _tokens, _users_file
from bench.mqtt_raw import Subscriber, WindowedPublisher, utf8
from bench.procstat import CpuWindow
from bench.systems import BenchBroker
from bench.vigil_processor import VigilRun
from vigil.services.endpoints import InfluxEndpoint
from vigil.services.process import free_port, log_tail, spawn, stop_pid, wait_port
from vigil.wire import AlarmEvent, ReadingBatch, SessionDescriptor, Topics

REPO = Path(__file__).resolve().parents[1]
TARGET_P99_MS = 25.0
START_TIMEOUT_S = 60.0
LINK_TIMEOUT_S = 300.0
DRAIN_S = 3.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    sessions: int = 100
    clinicians: int = 10  # session i belongs to clinician i % clinicians
    emulators: int = 2  # processes the straps are spread over (round robin)
    seconds: float = 40.0  # of notifications, per strap
    first_crossing_s: float = 3.0
    outbox_dir: Path | None = None  # the gateway's SQLite outbox (default: the run dir)


def _address(i: int) -> str:
    """A static random address (top two bits set), unique per session."""
    return f"C2:E2:E0:00:{i >> 8:02X}:{i & 0xFF:02X}"


class _Lines:
    """Lines from a child's stdout with a deadline (os.read: no hidden buffering)."""

    def __init__(self, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
        assert proc.stdout is not None
        self.fd, self.proc, self.what, self.log = proc.stdout.fileno(), proc, what, log
        self.buf = b""

    def expect(self, prefix: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                if line.decode().startswith(prefix):
                    return line.decode()[len(prefix) :].strip()
            left = deadline - time.monotonic()
            readable = select.select([self.fd], [], [], max(0.0, left))[0] if left > 0 else []
            chunk = os.read(self.fd, 4096) if readable else b""
            if not chunk:
                raise RuntimeError(
                    f"{self.what}: no {prefix!r} (exit {self.proc.poll()}); its log:\n"
                    f"{log_tail(self.log)}"
                )
            self.buf += chunk


class _Recorder(threading.Thread):
    """The raw subscriber: every reading and alarm event, timestamped on arrival."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        topics = Topics()
        self.sub = Subscriber(
            "127.0.0.1",
            port,
            f"bench-e2e-raw-{time.time_ns()}",
            [(topics.readings_filter(), 1), (topics.alarm_events("+"), 1)],
        )
        self.messages: list[tuple[float, str, bytes]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.messages += self.sub.poll(0.1)
        self.sub.close()

    def parsed(self) -> tuple[list[ReadingSeen], list[AlarmSeen]]:
        readings, alarms = [], []
        for t, topic, payload in self.messages:
            if "/alarms/" in topic:
                event = msgspec.json.decode(payload, type=AlarmEvent)
                if event.kind == "raised" and event.rule == "hr_high" and event.device:
                    alarms.append(AlarmSeen(event.device, event.seq or 0, t))
                continue
            batch = msgspec.json.decode(payload, type=ReadingBatch)
            readings += [
                ReadingSeen(batch.device, r.seq, r.t, r.values.get("hr", -1.0), t)
                for r in batch.readings
            ]
        return readings, alarms


def _gateway_toml(port: int, outbox: Path, sessions: list[str], devices: list[str]) -> str:
    lines = ["[gateway]", 'id = "gw-e2e"', f'outbox = "{outbox}"', ""]
    lines += ["[mqtt]", f'url = "mqtt://127.0.0.1:{port}"', "", "[ble]", "scan_timeout_s = 300", ""]
    for i, (session, device) in enumerate(zip(sessions, devices, strict=True)):
        lines += ["[[devices]]", f'id = "{device}"', 'kind = "hr_strap"']
        lines += [f'session = "{session}"', f'address = "{_address(i)}"', ""]
    return "\n".join(lines)


def _announce(port: int, sessions: list[str], devices: list[str], names: list[str]) -> None:
    pub = WindowedPublisher("127.0.0.1", port, f"bench-e2e-sessions-{time.time_ns()}", 200)
    encode, topics = msgspec.json.Encoder().encode, Topics()
    try:
        for i, (session, device) in enumerate(zip(sessions, devices, strict=True)):
            desc = SessionDescriptor(
                session=session,
                patient=f"p-{session}",
                devices=[device],
                profile="peer-compat",  # hr_high delay_s = 0: no alarm-condition delay
                clinicians=[names[i % len(names)]],
                started=time.time(),
            )
            pub.publish(utf8(topics.session(session)), encode(desc), retain=True)
        pub.flush(30)
    finally:
        pub.close()


@contextlib.contextmanager
def _started(pids: dict[str, int]) -> Iterator[dict[str, int]]:
    """Stop every process recorded in `pids`, newest first, whatever happens."""
    try:
        yield pids
    finally:
        for pid in reversed(list(pids.values())):
            stop_pid(pid)


def _popen(argv: list[str], log: Path, *, stdin: bool = False) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as err:
        return subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )


def _emulators(
    run_dir: Path, plan: Plan, hub: str, devices: list[str], pids: dict[str, int]
) -> list[tuple[subprocess.Popen[bytes], _Lines, Path]]:
    scenarios = run_dir / "scenarios"
    scenarios.mkdir(parents=True, exist_ok=True)
    specs: list[list[dict[str, Any]]] = [[] for _ in range(plan.emulators)]
    for i, device in enumerate(devices):
        path = scenarios / f"{device}.toml"
        starts = crossing_starts(i, first_s=plan.first_crossing_s, seconds=plan.seconds)
        path.write_text(scenario_toml(f"p-e2e-{i:03d}", _address(i), 1000 + i, starts))
        phase_s = round(i / len(devices), 4)
        specs[i % plan.emulators].append(
            {"scenario": str(path), "device": device, "phase_s": phase_s}
        )
    out = []
    for k, wearables in enumerate(specs):
        spec_path, record = run_dir / f"emulator-{k}.json", run_dir / f"notified-{k}.json"
        spec = {"hub": hub, "seconds": plan.seconds, "wearables": wearables, "out": str(record)}
        spec_path.write_text(json.dumps(spec))
        log = run_dir / f"emulator-{k}.log"
        proc = _popen(
            [sys.executable, "-m", "bench.e2e_wearables", str(spec_path)], log, stdin=True
        )
        pids[f"emulator-{k}"] = proc.pid
        out.append((proc, _Lines(proc, f"emulator {k}", log), record))
    return out


def _one(run_dir: Path, influx: InfluxEndpoint, plan: Plan) -> dict[str, Any]:
    run_dir.mkdir(parents=True, exist_ok=True)
    broker = BenchBroker(run_dir / "broker", nodelay=True)
    broker.start()
    started = time.monotonic()
    sessions = [f"e2e{i:03d}" for i in range(plan.sessions)]
    devices = [f"hr{i:03d}" for i in range(plan.sessions)]
    names = [f"dr-e2e-{i:02d}" for i in range(plan.clinicians)]
    secret = secrets.token_bytes(32).hex()
    _users_file(run_dir / "users.toml", names)
    ctx = mp.get_context("spawn")
    with _started({"broker": broker.pid or 0}) as pids:
        _announce(broker.port, sessions, devices, names)
        processor = VigilRun(run_dir, broker.port, influx)
        argv, env = processor.argv()
        log = run_dir / "processor.log"
        pids["processor"] = spawn(argv, log, env=env).pid
        wait_port("127.0.0.1", processor.metrics_port, pid=pids["processor"],
                  timeout_s=START_TIMEOUT_S, log_path=log, what="vigil processor")  # fmt: skip
        hub_port, log = free_port(), run_dir / "hub.log"
        hub_env = {
            "VIGIL_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
            "VIGIL_HUB_TOKEN_SECRET": secret,
            "VIGIL_HUB_USERS": str(run_dir / "users.toml"),
            "PYTHONPATH": str(REPO),
        }
        hub_argv = [sys.executable, "-m", "vigil.cli", "hub", "--port", str(hub_port), "--no-audit"]
        pids["hub"] = spawn(hub_argv, log, env=hub_env).pid
        wait_port("127.0.0.1", hub_port, pid=pids["hub"], timeout_s=START_TIMEOUT_S,
                  log_path=log, what="vigil hub")  # fmt: skip
        log = run_dir / "radio.log"
        radio = _popen(
            [sys.executable, "-m", "devices.emulation.hub", "--listen", "127.0.0.1:0"], log
        )
        pids["radio hub"] = radio.pid
        endpoint = _Lines(radio, "radio hub", log).expect("listening on ", START_TIMEOUT_S)
        emulators = _emulators(run_dir, plan, endpoint, devices, pids)
        for _, lines, _ in emulators:
            lines.expect("opened ", START_TIMEOUT_S)
        config = run_dir / "gateway.toml"
        outbox = (plan.outbox_dir or run_dir) / f"outbox-{time.time_ns()}.sqlite"
        config.write_text(_gateway_toml(broker.port, outbox, sessions, devices))
        gw_argv = [sys.executable, "-m", "vigil.cli", "gateway", "--config", str(config),
                   "--emulated-hub", endpoint]  # fmt: skip
        pids["gateway"] = spawn(gw_argv, run_dir / "gateway.log", env={"PYTHONPATH": str(REPO)}).pid
        for _, lines, _ in emulators:
            lines.expect("linked", LINK_TIMEOUT_S)
        linked_s = time.monotonic() - started
        ready, done_at = ctx.Event(), ctx.Value("d", 0.0)
        out = run_dir / "clients.json"
        tokens = _tokens(secret.encode(), names)
        spec = {"url": f"ws://127.0.0.1:{hub_port}/ws", "tokens": tokens, "out": str(out)}
        clients = ctx.Process(target=client_process, args=(spec, ready, done_at))
        clients.start()
        recorder = _Recorder(broker.port)
        try:
            if not ready.wait(START_TIMEOUT_S):
                raise RuntimeError("websocket clients did not connect")
            recorder.start()
            cpu = CpuWindow(
                {
                    **pids,
                    "clients": clients.pid,
                    "influxdb": influx.pid,
                }
            )
            time.sleep(0.5)
            cpu.begin(time.time())
            for proc, _, _ in emulators:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            for _, lines, _ in emulators:
                lines.expect("done", plan.seconds + 60)
            usage = cpu.end(time.time())
            time.sleep(DRAIN_S)
            done_at.value = time.time()
            clients.join(60)
        finally:
            recorder.stop.set()
            if recorder.ident is not None:  # started: it closes its socket
                recorder.join(5)
            else:
                recorder.sub.close()
            if clients.is_alive():
                clients.terminate()
                clients.join(5)
    if plan.outbox_dir is not None:  # a tmpfs variant: do not leave it in memory
        for path in plan.outbox_dir.glob(outbox.name + "*"):
            path.unlink()
    notified = [
        Notification(device, t, bpm)
        for _, _, record in emulators
        for device, t, bpm in json.loads(record.read_text())
    ]
    received = [AlarmSeen(d, s, t, c) for c, d, s, t in json.loads(out.read_text())]
    readings, mqtt_alarms = recorder.parsed()
    return _figures(plan, notified, readings, received, mqtt_alarms) | {
        "setup_s": round(linked_s, 1),
        "cpu_pct_of_core": usage,
    }


def _figures(
    plan: Plan,
    notified: list[Notification],
    readings: list[ReadingSeen],
    received: list[AlarmSeen],
    mqtt_alarms: list[AlarmSeen],
) -> dict[str, Any]:
    seqs = pair(notified, readings)
    expected = expected_alarms(seqs)
    by_device: dict[str, list[int]] = {}
    for n in notified:
        by_device.setdefault(n.device, []).append(n.bpm)
    crossings = sum(len(expected_raises(b)) for b in by_device.values())
    return {
        "notifications": len(notified),
        "readings_seen": len(readings),
        "crossings_notified": crossings,
        "pairing": {
            "paired": len(seqs.notify_t),
            "bpm_mismatches": seqs.bpm_mismatches,
            "unpaired_notifications": seqs.unpaired_notifications,
            "unpaired_readings": seqs.unpaired_readings,
        },
        "e2e": alarm_latencies(received, seqs, expected),
        "alarm_on_mqtt": alarm_latencies(mqtt_alarms, seqs, expected),
        "baseline_all_readings": reading_latencies(seqs),
        "alarm_readings": reading_latencies(seqs, expected),
        "slow_to_gateway": slow_seconds(seqs),
        "plan": asdict(plan),
    }


def _influx(run_dir: Path) -> tuple[Any, InfluxEndpoint]:
    from vigil.services.influxdb import InfluxDB  # noqa: PLC0415

    server = InfluxDB(run_dir / "influxdb-e2e")
    server.start()
    endpoint = InfluxEndpoint(
        url=server.url,
        org=server.setup.org,
        bucket=server.setup.bucket,
        token=server.token,
        pid=server.pid or 0,
        version=server.version,
    )
    return server, endpoint


def _median(runs: list[dict[str, Any]], *path: str) -> float:
    values = []
    for r in runs:
        v: Any = r
        for key in path:
            v = v[key]
        values.append(float("inf") if v is None else v)
    return statistics.median(values)


def run(run_dir: Path, *, repeats: int = 1, plan: Plan | None = None) -> dict[str, Any]:
    plan = plan or Plan()
    server, influx = _influx(run_dir)
    runs: list[dict[str, Any]] = []
    try:
        for rep in range(repeats):
            runs.append(_one(run_dir / f"e2e-{rep}", influx, plan))
            e = runs[-1]["e2e"]
            print(f"e2e rep {rep + 1}: {e} | baseline "
                  f"{runs[-1]['baseline_all_readings']['to_mqtt']}", flush=True)  # fmt: skip
    finally:
        server.stop()
    p99 = _median(runs, "e2e", "p99_ms")
    base99 = _median(runs, "baseline_all_readings", "to_mqtt", "p99_ms")
    p50 = _median(runs, "e2e", "p50_ms")
    base50 = _median(runs, "baseline_all_readings", "to_mqtt", "p50_ms")
    return {
        "status": "measured",
        "what": f"BLE notification -> dashboard websocket, {plan.sessions} sessions x 1 "
        f"notification/s, a crossing every 8 s per session, delay 0, {plan.clinicians} "
        f"clinicians, {plan.emulators} emulator processes, {plan.seconds:g} s",
        "target": {"p99_ms": TARGET_P99_MS, "met": p99 <= TARGET_P99_MS},
        "runs": runs,
        "median": {
            "e2e_p50_ms": p50,
            "e2e_p99_ms": p99,
            "baseline_p50_ms": base50,
            "baseline_p99_ms": base99,
            "alarm_on_mqtt_p99_ms": _median(runs, "alarm_on_mqtt", "p99_ms"),
        },
        "ratios": {
            "e2e / baseline p50": round(p50 / base50, 2) if base50 else None,
            "e2e / baseline p99": round(p99 / base99, 2) if base99 else None,
        },
    }


def summary_lines(r: dict[str, Any]) -> list[str]:
    """The markdown section of bench/results/summary.md."""
    m, met = r["median"], "met" if r["target"]["met"] else "NOT met"
    rows = [
        (
            "| run | expected | received | missing | unexpected | dup | e2e p50 / p99 ms "
            "| alarm on MQTT p99 ms | baseline p50 / p99 ms | to gateway p50 / p99 ms | setup s |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for i, x in enumerate(r["runs"], start=1):
        e, b = x["e2e"], x["baseline_all_readings"]["to_mqtt"]
        g = x["baseline_all_readings"]["to_gateway"]
        rows.append(
            f"| {i} | {e['expected']} | {e['received']} | {e['missing']} | {e['unexpected']} "
            f"| {e['duplicates']} | {e['p50_ms']} / {e['p99_ms']} "
            f"| {x['alarm_on_mqtt']['p99_ms']} | {b['p50_ms']} / {b['p99_ms']} "
            f"| {g['p50_ms']} / {g['p99_ms']} | {x['setup_s']} |"
        )
    cpu = r["runs"][-1]["cpu_pct_of_core"]
    return [
        f"### End to end: {r['what']}",
        "",
        *rows,
        "",
        (
            "Baseline: notification -> the reading's arrival at a raw MQTT subscriber (same run); "
            "to gateway: notification -> the gateway's receive time `t` of the reading."
        ),
        (
            f"Median e2e p99 {m['e2e_p99_ms']} ms (target ≤ {r['target']['p99_ms']} ms: "
            f"**{met}**); ratios {r['ratios']}."
        ),
        "",
        "CPU, % of one core (last run): " + ", ".join(f"{k} {v}" for k, v in cpu.items()),
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.e2e [--reps N] [--outbox-dir DIR]`: one result as JSON on stdout (the
    diagnostic variants; `scripts/bench e2e` is the measurement of record)."""
    import argparse  # noqa: PLC0415
    import tempfile  # noqa: PLC0415

    ap = argparse.ArgumentParser(prog="python -m bench.e2e", description=main.__doc__)
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--sessions", type=int, default=Plan().sessions)
    ap.add_argument("--outbox-dir", type=Path, help="the gateway's outbox folder, e.g. /dev/shm/x")
    args = ap.parse_args(argv)
    plan = Plan(sessions=args.sessions, outbox_dir=args.outbox_dir)
    if args.outbox_dir:
        args.outbox_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-e2e-") as tmp:
        result = run(Path(tmp), repeats=args.reps, plan=plan)
    print(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
