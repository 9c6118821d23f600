"""The alarm engine alone, in process, on one core: readings evaluated per second.

Calls the engine author's micro-benchmark (`alerts.engine.benchmark.measure_throughput`,
the peer's periodic workload in columns, 1,000 sessions) for the batch and the scalar path.
Baselines on rows of the same shape and abnormal fraction (`bench.workload.Periodic(100, 2)`,
rows interleaved by session), same process, same core, measured in between:
* `python_loop` — a plain Python loop doing one comparison per reading (the least any
  per-reading Python evaluation costs);
* `numpy_pass` — one vectorised pass (a comparison and a count) over the same arrays (the
  least any columnar evaluation costs).
The process is pinned to one CPU (`os.sched_setaffinity`); each figure is the median of
`repeats` runs, and the engine is reported as a ratio to each baseline.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

import numpy as np

from bench.workload import Periodic

SESSIONS = 1000


def _rows(per_session: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    values = Periodic(100, 2).matrix(SESSIONS, per_session)  # the same workload as the engine's
    k = np.repeat(np.arange(per_session), SESSIONS)
    session = np.tile(np.arange(SESSIONS), per_session)
    return values[session, k], (k % 4)


def python_loop(value: np.ndarray[Any, Any], metric: np.ndarray[Any, Any]) -> float:
    limits = (120.0, 90.0, 180.0, 110.0)
    vs, ms = value.tolist(), metric.tolist()
    start = time.perf_counter()
    n = 0
    for v, m in zip(vs, ms, strict=True):
        if v > limits[m]:
            n += 1
    return len(vs) / (time.perf_counter() - start)


def numpy_pass(value: np.ndarray[Any, Any], metric: np.ndarray[Any, Any]) -> float:
    limits = np.array([120.0, 90.0, 180.0, 110.0])
    start = time.perf_counter()
    int(np.count_nonzero(value > limits[metric]))
    return len(value) / (time.perf_counter() - start)


def run(repeats: int = 5, per_session: int = 400, batch_size: int = 10_000) -> dict[str, Any]:
    from alerts.engine.benchmark import measure_throughput  # noqa: PLC0415

    cpu = max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    value, metric = _rows(per_session)
    figures: dict[str, list[float]] = {
        "engine_batch": [],
        "engine_scalar": [],
        "python_loop": [],
        "numpy_pass": [],
    }
    events = {}
    for _ in range(repeats):
        batch = measure_throughput(path="batch", per_session=per_session, batch_size=batch_size)
        figures["engine_batch"].append(batch.readings_per_s)
        figures["python_loop"].append(python_loop(value, metric))
        scalar = measure_throughput(path="scalar", per_session=per_session // 4)
        figures["engine_scalar"].append(scalar.readings_per_s)
        figures["numpy_pass"].append(numpy_pass(value, metric))
        events = {"batch": batch.events, "scalar": scalar.events}
    med = {k: statistics.median(v) for k, v in figures.items()}
    return {
        "cpu": cpu,
        "readings_per_run": {
            "batch": SESSIONS * per_session,
            "scalar": SESSIONS * per_session // 4,
        },
        "batch_size": batch_size,
        "events": events,
        "repeats": repeats,
        "runs": figures,
        "median_readings_per_s": {k: round(v) for k, v in med.items()},
        "ratios": {
            "engine_batch / python_loop": round(med["engine_batch"] / med["python_loop"], 3),
            "engine_batch / numpy_pass": round(med["engine_batch"] / med["numpy_pass"], 4),
            "engine_scalar / python_loop": round(med["engine_scalar"] / med["python_loop"], 3),
        },
        "target": {"engine_batch_readings_per_s": 300_000, "met": med["engine_batch"] >= 300_000},
    }
