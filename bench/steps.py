"""One measured step: a plan offered to a running system, alarms received, everything checked.

The orchestrator (this process) only coordinates: the generator and the receiver are
separate processes, and the reference model runs after the load window, so none of its CPU
lands inside the measurement. A step records, per the brief: offered and achieved rate
(acknowledged), readings the system processed (its stats topic, where it has one), broker
drops, missing / unexpected / duplicate alarms against the reference model, raise latency
from the generator's send time to the receiver's receipt time (p50/p95/p99/max), the end
marker's drain time, and CPU of the system, broker and generator over the load window.
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing as mp
import pickle
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.loadgen import generator_process
from bench.mqtt_raw import Subscriber, WindowedPublisher, utf8
from bench.procstat import CpuWindow, rss_bytes, wait_quiet
from bench.receiver import receiver_process
from bench.systems import BenchBroker, System
from bench.workload import EventKey, Plan, Scripted, expected_events, quantise

HOST = "127.0.0.1"
READY_TIMEOUT_S = 60.0
MARKER_READINGS = 2  # the end marker is two readings (see `bench.loadgen.end_marker`)


@dataclass(frozen=True, slots=True)
class Limits:
    p99_ms: float = 1000.0
    drain_s: float = 2.0
    achieved_fraction: float = 0.95


def percentile(xs: list[float], p: float) -> float | None:
    """Nearest-rank percentile."""
    if not xs:
        return None
    ordered = sorted(xs)
    rank = max(1, int(np.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


def wait_ready(system: System, broker: BenchBroker, delay_s: float) -> float:
    """Publish a crossing on a fresh probe session until its alarm comes back; returns the
    seconds it took. Proves the whole path (subscriptions included) is up."""
    fmt = system.fmt
    start = time.monotonic()
    sub = Subscriber(HOST, broker.port, f"bench-probe-{time.time_ns()}", [(fmt.alarm_filter, 1)])
    pub = WindowedPublisher(HOST, broker.port, f"bench-probe-pub-{time.time_ns()}", 10)
    try:
        attempt = 0
        while time.monotonic() - start < READY_TIMEOUT_S:
            attempt += 1
            name = f"probe{time.time_ns() % 10**9}x{attempt}"
            system.announce_sessions(broker, [name])
            t = quantise(time.time())
            readings = [(0, 0, 132, t), (4, 0, 132, t + max(delay_s, 0.0))]
            for reading in readings:
                pub.publish(utf8(fmt.topic(name)), fmt.payload(name, [reading], array=False))
            pub.flush(5)
            until = time.monotonic() + 2.0
            while time.monotonic() < until:
                for _, topic, _ in sub.poll(0.05):
                    if f"/{name}/" in topic:
                        system.forget_sessions(broker, [name])
                        return time.monotonic() - start
            system.forget_sessions(broker, [name])
            if system.pid is not None and not Path(f"/proc/{system.pid}").exists():
                break
    finally:
        sub.close()
        pub.close()
    tail = system.log_path.read_text(errors="replace")[-3000:] if system.log_path.exists() else ""
    raise RuntimeError(f"{system.name} did not answer a probe within {READY_TIMEOUT_S} s:\n{tail}")


@functools.lru_cache(maxsize=8)
def _expected(plan: Plan, delay_s: float) -> frozenset[EventKey]:
    """Cached per workload: events are in session-index space and do not move with a whole-
    second time base, so the prefix and the base are left out of the key."""
    return frozenset(expected_events(dataclasses.replace(plan, prefix=""), delay_s, 0.0))


@dataclass
class StepResult:
    system: str
    mode: str
    offered_rate: float
    sessions: int
    batch: int
    duration_s: float
    delay_s: float
    sent_readings: int
    acked_messages: int
    achieved_rate: float
    processed: int | None
    lost: int | None
    broker_dropped: int
    expected: int
    received: int
    missing: int
    unexpected: int
    duplicates: int
    n_raised: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    drain_s: float | None
    cpu: dict[str, float | None]
    system_rss_mb: float | None
    gen_max_behind_s: float
    missing_sample: list[Any] = field(default_factory=list)
    unexpected_sample: list[Any] = field(default_factory=list)
    passed: bool | None = None
    reasons: list[str] = field(default_factory=list)

    def judge(self, limits: Limits) -> bool:
        why = []
        if self.achieved_rate < limits.achieved_fraction * self.offered_rate:
            why.append(f"offered load not achieved ({self.achieved_rate:.0f}/s)")
        if self.lost:
            why.append(f"lost {self.lost} readings")
        if self.broker_dropped:
            why.append(f"broker dropped {self.broker_dropped}")
        if self.missing or self.unexpected:
            why.append(f"alarms missing {self.missing} unexpected {self.unexpected}")
        if self.p99_ms is None or self.p99_ms > limits.p99_ms:
            why.append(f"p99 {self.p99_ms} ms")
        if self.drain_s is None or self.drain_s > limits.drain_s:
            why.append(f"drain {self.drain_s} s")
        self.passed, self.reasons = not why, why
        return not why

    def line(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "    "}[self.passed]
        return (
            f"{verdict} {self.system:9} {self.mode:6} {self.offered_rate:>8.0f}/s "
            f"achieved {self.achieved_rate:>8.0f}/s lost={self.lost} dropped={self.broker_dropped} "
            f"alarms {self.received}/{self.expected} miss={self.missing} unexp={self.unexpected} "
            f"p50/p99 {self.p50_ms}/{self.p99_ms} ms drain {self.drain_s} s cpu {self.cpu} "
            f"{'; '.join(self.reasons)}"
        )


def run_step(  # noqa: C901, PLR0912 - one step is one long, linear story
    system: System,
    broker: BenchBroker,
    plan: Plan,
    *,
    delay_s: float = 0.0,
    mode: str = "",
    drain_timeout_s: float = 20.0,
    expected: set[EventKey] | None = None,
) -> StepResult:
    ctx = mp.get_context("spawn")
    fmt = system.fmt
    names = [plan.session_name(s) for s in range(plan.sessions)]
    system.announce_sessions(broker, [*names, plan.end_session])
    t_base = quantise(float(int(time.time())))
    workdir = Path(tempfile.mkdtemp(prefix="vigil-bench-"))
    rx_out = workdir / "rx.pkl"
    end_topic = fmt.alarm_filter.replace("+", plan.end_session)
    shared = {"processed": ctx.Value("d", -1.0), "end_at": ctx.Value("d", 0.0)}
    rx_ready, rx_stop = ctx.Event(), ctx.Event()
    rx_spec = {
        "host": HOST,
        "port": broker.port,
        "tag": plan.prefix,
        "alarm_filter": fmt.alarm_filter,
        "stats_filter": f"{system.stats_prefix}#" if system.stats_prefix else None,
        "stats_prefix": system.stats_prefix,
        "end_topic": end_topic,
        "out": str(rx_out),
    }
    rx = ctx.Process(target=receiver_process, args=(rx_spec, rx_ready, rx_stop, shared))
    rx.start()
    gen_ready, gen_start, gen_results = ctx.Event(), ctx.Queue(), ctx.Queue()
    gen_spec = {
        "host": HOST,
        "port": broker.port,
        "plan": plan,
        "format": system.wire,
        "t_base": t_base,
        "delay_s": delay_s,
    }
    gen = ctx.Process(target=generator_process, args=(gen_spec, gen_ready, gen_start, gen_results))
    gen.start()
    try:
        if not rx_ready.wait(30) or not gen_ready.wait(300):
            raise RuntimeError("receiver or generator did not get ready")
        until = time.monotonic() + 5  # a processed count before the load starts
        while system.processed(shared) < 0 and time.monotonic() < until:
            time.sleep(0.1)
        processed_before = system.processed(shared)
        quiet_wait_s, busy_before = wait_quiet()
        t_start = time.time() + 0.3
        gen_start.put(t_start)
        pids = {
            "system": system.pid,
            "broker": broker.pid,
            "generator": gen.pid,
            "receiver": rx.pid,
        }
        window = CpuWindow(pids | system.extra_pids())
        while time.time() < t_start:
            time.sleep(0.001)
        window.begin(time.time())
        time.sleep(max(0.0, t_start + plan.messages / plan.message_rate - time.time()))
        cpu = window.end(time.time())
        gen_result = gen_results.get(timeout=plan.duration_s * 20 + 120)
        gen.join(10)
        want = processed_before + plan.readings + MARKER_READINGS
        deadline = time.monotonic() + drain_timeout_s
        while time.monotonic() < deadline:
            drained = shared["end_at"].value > 0 or not system.emits_alarms
            if drained and processed_before >= 0:
                drained = system.processed(shared) >= want
            if drained:
                break
            time.sleep(0.05)
        time.sleep(0.5)  # late and duplicate deliveries
        processed_after = system.processed(shared)
        rss = rss_bytes(system.pid)
    finally:
        rx_stop.set()
        rx.join(30)
        if gen.is_alive():
            gen.terminate()
        system.forget_sessions(broker, [*names, plan.end_session])
    with rx_out.open("rb") as f:
        received = pickle.load(f)  # noqa: S301 - written by our own receiver a moment ago
    rx_out.unlink()
    workdir.rmdir()

    if expected is None:
        expected = set(_expected(plan, delay_s))
    index = {n: s for s, n in enumerate(names)}
    got: dict[EventKey, float] = {}
    duplicates = 0
    latencies = []
    send_times = gen_result.send_times
    for t_recv, payload in received["alarms"]:
        key = fmt.alarm_key(payload)
        if key is None or key[0] not in index:
            continue
        ekey = (index[key[0]], key[1], key[2], key[3])
        if ekey in got:
            duplicates += 1
            continue
        got[ekey] = t_recv
        if key[2] == "raised":
            latencies.append(t_recv - send_times[plan.message_index(ekey[0], ekey[3])])
    missing = expected - got.keys()
    unexpected = got.keys() - expected
    dropped = [d for _, d in received["dropped"]]
    processed = None
    if processed_before >= 0 and processed_after >= 0:
        processed = int(processed_after - processed_before) - MARKER_READINGS
    ms = lambda x: None if x is None else round(1000 * x, 2)  # noqa: E731
    wall = max(gen_result.t_acked - gen_result.t_start, plan.messages / plan.message_rate)
    achieved = plan.readings / wall if gen_result.acked >= plan.messages else 0.0
    return StepResult(
        system=system.name,
        mode=mode or ("batch" if plan.batch > 1 else "single"),
        offered_rate=plan.rate,
        sessions=plan.sessions,
        batch=plan.batch,
        duration_s=plan.duration_s,
        delay_s=delay_s,
        sent_readings=plan.readings,
        acked_messages=gen_result.acked,
        achieved_rate=round(achieved, 1),
        processed=processed,
        lost=None if processed is None else plan.readings - processed,
        broker_dropped=(max(dropped) - min(dropped)) if dropped else 0,
        expected=len(expected),
        received=len(got),
        missing=len(missing),
        unexpected=len(unexpected),
        duplicates=duplicates,
        n_raised=len(latencies),
        p50_ms=ms(percentile(latencies, 50)),
        p95_ms=ms(percentile(latencies, 95)),
        p99_ms=ms(percentile(latencies, 99)),
        max_ms=ms(max(latencies) if latencies else None),
        drain_s=round(shared["end_at"].value - gen_result.t_end_marker, 3)
        if shared["end_at"].value
        else None,
        cpu={
            **cpu,
            "generator_total_s": round(gen_result.cpu_s, 2),
            "machine_before": busy_before,
            "quiet_wait_s": quiet_wait_s,
        },
        system_rss_mb=round(rss / 2**20, 1) if rss else None,
        gen_max_behind_s=round(gen_result.max_behind_s, 3),
        missing_sample=sorted(missing)[:5],
        unexpected_sample=sorted(unexpected)[:5],
    )


def scripted_plan(replicas: int, batch: int, prefix: str) -> Plan:
    from bench.workload import SCRIPT_NAMES  # noqa: PLC0415

    sessions = len(SCRIPT_NAMES) * replicas
    return Plan(sessions, sessions * 4.0, batch, 30.0, Scripted(), prefix=prefix)
