"""Micro-benchmark of the engine alone (no MQTT, no JSON): readings evaluated per second.

The workload is the Node-RED peer's periodic one (shared/peers/nodered/bench.py): sessions,
opened with one pre-dose BP reading and a dose mark (their steady state), cycle through hr,
spo2, sbp, dbp; each metric is abnormal for `abnormal` of every `period`
samples (hr alternating 130/40, spo2 85, sbp alternating 190/170, dbp 115), phase-shifted
per session. Input preparation (building Reading objects or batch columns) is done before
the clock starts; `bench/` measures the whole processor.
"""

import time
from dataclasses import dataclass

import numpy as np

from alerts.engine.batch import ReadingBatch
from alerts.engine.engine import AlarmEngine
from alerts.engine.inputs import DoseAdministered, Reading
from alerts.profiles import METRIC_CODES, Metric, Profile, apply_overrides, bundled_profile

_CYCLE = (Metric.HR, Metric.SPO2, Metric.SBP, Metric.DBP)


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchmarkResult:
    """`seconds` is wall time; `cpu_seconds` is this process's CPU time, which a shared,
    busy machine disturbs less."""

    path: str  # "scalar" or "batch"
    readings: int
    batch_size: int
    seconds: float
    cpu_seconds: float
    events: int

    @property
    def readings_per_s(self) -> float:
        return self.readings / self.seconds

    @property
    def readings_per_cpu_s(self) -> float:
        return self.readings / self.cpu_seconds


class _Stopwatch:
    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def read(self) -> tuple[float, float]:
        return time.perf_counter() - self._wall, time.process_time() - self._cpu


def _values(sessions: int, per_session: int, period: int, abnormal: int) -> np.ndarray:
    """values[s, k] of the k-th reading of session s (the peer's `Periodic.value`)."""
    s = np.arange(sessions)[:, None]
    k = np.arange(per_session)[None, :]
    metric_index, j = k % 4, k // 4
    normal = np.select(
        [metric_index == 0, metric_index == 1, metric_index == 2],
        [70 + (s * 13 + j * 7) % 25, 96 + (s + j) % 4, 115 + (s * 3 + j * 11) % 25],
        70 + (s * 5 + j * 3) % 20,
    )
    x = j + (s * 7) % period
    episode_even = (x // period) % 2 == 0
    bad = np.select(
        [metric_index == 0, metric_index == 1, metric_index == 2],
        [np.where(episode_even, 130, 40), 85, np.where(episode_even, 190, 170)],
        115,
    )
    return np.where(x % period < abnormal, bad, normal).astype(np.float64)


def _start_sessions(engine: AlarmEngine, names: tuple[str, ...], t0: float) -> None:
    """Sessions in their steady state: opened, one pre-dose BP reading, dose given."""
    for name in names:
        engine.open_session(name, started_t=t0 - 600)
        engine.on_reading(
            Reading(
                session_id=name,
                device_id="cuff",
                seq=0,
                t=t0 - 300,
                values={Metric.SBP: 125.0, Metric.DBP: 80.0},
            )
        )
        engine.on_dose(DoseAdministered(session_id=name, t=t0 - 1))


def measure_throughput(  # noqa: PLR0913  # each is a workload knob the bench sets
    *,
    path: str = "batch",
    sessions: int = 1000,
    per_session: int = 400,
    batch_size: int = 10_000,
    period: int = 100,
    abnormal: int = 2,
    profile: Profile | None = None,
) -> BenchmarkResult:
    """Evaluate sessions x per_session readings and time it (rows interleaved by session,
    1 reading/s per session; the batch path gets `batch_size` rows per call)."""
    if profile is None:
        peer = bundled_profile("peer-compat")
        profile = apply_overrides(
            peer, {"rules": {rule.rule_id: {"delay_s": 0} for rule in peer.rules}}
        )
    values = _values(sessions, per_session, period, abnormal)
    # Row order: reading k of every session, then reading k + 1 (time order across sessions).
    session_index = np.tile(np.arange(sessions), per_session)
    k = np.repeat(np.arange(per_session), sessions)
    metric_code = np.array([METRIC_CODES[m] for m in _CYCLE])[k % 4]
    t = 1_800_000_000.0 + k.astype(np.float64)
    value = values[session_index, k]
    names = tuple(f"bench{s:05d}" for s in range(sessions))
    engine = AlarmEngine(profile, capacity=sessions)
    _start_sessions(engine, names, t[0])
    events = 0
    if path == "scalar":
        readings = [
            Reading(
                session_id=names[s],
                device_id="dev",
                seq=int(kk),
                t=float(tt),
                values={_CYCLE[kk % 4]: float(v)},
            )
            for s, kk, tt, v in zip(
                session_index.tolist(), k.tolist(), t.tolist(), value.tolist(), strict=True
            )
        ]
        watch = _Stopwatch()
        for reading in readings:
            events += len(engine.on_reading(reading))
        seconds, cpu_seconds = watch.read()
        return BenchmarkResult(
            path=path,
            readings=len(readings),
            batch_size=1,
            seconds=seconds,
            cpu_seconds=cpu_seconds,
            events=events,
        )
    n = len(value)
    batches = []
    for lo in range(0, n, batch_size):
        rows = slice(lo, lo + batch_size)
        size = len(value[rows])
        # As a processor builds them: the batch names only the sessions it carries.
        present, index = np.unique(session_index[rows], return_inverse=True)
        batches.append(
            ReadingBatch(
                sessions=tuple(names[s] for s in present.tolist()),
                devices=("dev",),
                session_index=index.astype(np.intp),
                device_index=np.zeros(size, dtype=np.intp),
                metric_code=metric_code[rows],
                value=value[rows],
                t=t[rows],
                seq=k[rows].astype(np.int64),
                flags=np.zeros(size, dtype=np.int64),
                historical=np.zeros(size, dtype=bool),
            )
        )
    watch = _Stopwatch()
    for batch in batches:
        events += len(engine.on_batch(batch))
    seconds, cpu_seconds = watch.read()
    return BenchmarkResult(
        path=path,
        readings=n,
        batch_size=batch_size,
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        events=events,
    )
