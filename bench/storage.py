"""End to end with storage on: readings stored in InfluxDB per second with none lost, and
memory per active session.

* stored throughput — Vigil's processor with a real InfluxDB 2.7; a ramp of offered rates in
  10-readings-per-message mode; a step passes when the offered rate was achieved, the
  processor counted every reading, every expected alarm and no other arrived, the end
  marker drained within 2 s (the processor kept up), and a Flux `count()` finds every
  reading of the step in InfluxDB within `store_lag_s` of the end of the load (alarm p99 is
  reported, not judged: it is `throughput`'s criterion). Baseline, same run, same InfluxDB:
  the `direct` ceiling, the same points written straight to InfluxDB's HTTP API in
  5,000-line batches.
* memory per session — a fresh processor, RSS before and after `sessions` sessions each
  sent one reading of every metric; (after - before) / sessions. Baseline, same run:
  Node-RED on the same workload.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
from typing import Any

from bench.alarms import WARMUP_S, AlarmConfig, Context, Fresh, climb, running, say
from bench.procstat import rss_bytes
from bench.steps import Limits, run_step
from bench.workload import Periodic, Plan

STORAGE_RATES = (10_000, 25_000, 50_000, 75_000, 100_000, 125_000, 150_000, 200_000)
HTTP_TIMEOUT_S = 60.0
MEMORY_REPS = 1  # RSS deltas repeat to within 1 % (25.0-25.2 KB per Vigil session, 3 runs)
DRAIN_S = 2.0  # as in `throughput`: a processor that falls behind does not sustain the rate


def _query(influx: Any, flux: str) -> str:  # noqa: ANN401 - InfluxEndpoint
    request = urllib.request.Request(  # noqa: S310 - loopback URL from the harness
        f"{influx.url}/api/v2/query?org={influx.org}",
        data=flux.encode(),
        method="POST",
        headers={
            "Authorization": f"Token {influx.token}",
            "Content-Type": "application/vnd.flux",
            "Accept": "application/csv",
        },
    )
    with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310
        return response.read().decode()


def count_points(influx: Any, prefix: str, *, measurement: str = "vitals") -> int:  # noqa: ANN401
    """Readings of the plan's sessions (`<prefix>s00042`, not the end marker's `<prefix>end`)
    in InfluxDB: one `seq` field per reading."""
    flux = (
        f'from(bucket: "{influx.bucket}") |> range(start: -3h, stop: 1h)'
        f' |> filter(fn: (r) => r._measurement == "{measurement}" and r._field == "seq"'
        f" and r.session =~ /^{prefix}s/) |> group() |> count()"
    )
    total = 0
    for line in _query(influx, flux).splitlines()[1:]:
        cells = line.strip().split(",")
        if len(cells) > 3 and cells[-1].isdigit():
            total += int(cells[-1])
    return total


def wait_stored(influx: Any, prefix: str, want: int, timeout_s: float) -> tuple[int, float]:  # noqa: ANN401
    """(points found, seconds waited) once `want` are there or the timeout passed."""
    start = time.monotonic()
    found = 0
    while True:
        found = count_points(influx, prefix)
        waited = time.monotonic() - start
        if found >= want or waited > timeout_s:
            return found, round(waited, 2)
        time.sleep(0.5)


def direct_ceiling(influx: Any, points: int = 200_000, batch: int = 5000) -> dict[str, Any]:  # noqa: ANN401
    """Points/s written straight to InfluxDB's HTTP API, one request at a time."""
    prefix = f"direct{time.time_ns() % 10**8}-"
    t0 = int(time.time() * 1e6) * 1000
    lines = [
        f"vitals,device={prefix}s{i % 1000:05d}-d,gateway=gw-bench,kind=hr_strap,"
        f"session={prefix}s{i % 1000:05d} hr={70 + i % 20}.0,seq={i // 1000}i,historical=false "
        f"{t0 + (i // 1000) * 1_000_000}"
        for i in range(points)
    ]
    url = f"{influx.url}/api/v2/write?org={influx.org}&bucket={influx.bucket}&precision=ns"
    start = time.perf_counter()
    for lo in range(0, points, batch):
        body = "\n".join(lines[lo : lo + batch]).encode()
        request = urllib.request.Request(  # noqa: S310
            url, data=body, method="POST", headers={"Authorization": f"Token {influx.token}"}
        )
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S):  # noqa: S310
            pass
    seconds = time.perf_counter() - start
    found, _ = wait_stored(influx, prefix, points, 30)
    return {"points": points, "stored": found, "seconds": round(seconds, 3),
            "points_per_s": round(points / seconds, 1)}  # fmt: skip


def stored_ramp(
    cfg: AlarmConfig, ctx: Context, start_index: int, store_lag_s: float
) -> tuple[int, list[dict[str, Any]]]:
    steps: list[dict[str, Any]] = []
    fresh = Fresh(ctx, "vigil", 0.0, nodelay=cfg.nodelay)

    def warm_up() -> None:
        warm = Plan(cfg.sessions, STORAGE_RATES[0], 10, WARMUP_S, Periodic(100, 2), prefix="warm-")
        step = run_step(fresh.system, fresh.broker, warm)
        say(cfg, f"storage warm-up (not judged): {step.line()}")

    def passes(rate: int, after_failure: bool) -> bool:
        if after_failure:
            fresh.restart()
            warm_up()
        for attempt in (1, 2):
            prefix = f"st{time.time_ns() // 1_000_000 % 10**8}-"
            plan = Plan(cfg.sessions, rate, 10, cfg.step_s, Periodic(100, 2), prefix=prefix)
            step = run_step(fresh.system, fresh.broker, plan, mode="batch")
            # Storage is judged on storage: alarm latency is `throughput`'s criterion.
            step.judge(Limits(p99_ms=1e9, drain_s=DRAIN_S))
            found, lag = wait_stored(ctx.influx, prefix, plan.readings, store_lag_s + 30)
            ok = bool(step.passed) and found == plan.readings and lag <= store_lag_s
            steps.append({
                "rate": rate, "attempt": attempt, "passed": ok, "stored": found,
                "sent": plan.readings, "store_lag_s": lag, "step": step.__dict__,
                "influxdb_cpu": step.cpu.get("influxdb"),
            })  # fmt: skip
            say(cfg, f"storage {rate}/s attempt {attempt}: stored {found}/{plan.readings} "
                     f"lag {lag} s -> {'PASS' if ok else 'FAIL'} | {step.line()}")  # fmt: skip
            if ok:
                return True
        return False

    fresh.start()
    try:
        warm_up()
        best = climb(STORAGE_RATES, start_index, passes)
    finally:
        fresh.stop()
    return best, steps


def memory_per_session(cfg: AlarmConfig, ctx: Context, name: str, sessions: int) -> dict[str, Any]:
    with running(ctx, name, 0.0, nodelay=cfg.nodelay) as (system, broker):
        time.sleep(1.0)
        before = rss_bytes(system.pid) or 0
        prefix = f"mem{time.time_ns() // 1_000_000 % 10**8}-"
        plan = Plan(sessions, sessions * 0.8, 4, 5.0, Periodic(100, 2), prefix=prefix)
        step = run_step(system, broker, plan, mode="batch", drain_timeout_s=60)
        time.sleep(2.0)
        after = rss_bytes(system.pid) or 0
    result = {
        "sessions": sessions,
        "rss_before_mb": round(before / 2**20, 1),
        "rss_after_mb": round(after / 2**20, 1),
        "bytes_per_session": round((after - before) / sessions),
        "alarms_complete": step.missing == 0 and step.unexpected == 0,
    }
    say(cfg, f"memory {name}: {result}")
    return result


def run(cfg: AlarmConfig, ctx: Context, *, sessions_for_memory: int = 10_000,
        store_lag_s: float = 5.0) -> dict[str, Any]:  # fmt: skip
    direct = []
    maxima: list[int] = []
    steps: list[dict[str, Any]] = []
    memory: dict[str, list[dict[str, Any]]] = {"vigil": [], "nodered": []}
    for rep in range(cfg.reps):
        direct.append(direct_ceiling(ctx.influx))
        say(cfg, f"storage direct ceiling rep {rep + 1}: {direct[-1]}")
        start = 1  # 25k; a later repetition starts one step below the previous maximum
        if maxima and maxima[-1]:
            start = max(0, STORAGE_RATES.index(maxima[-1]) - 1)
        best, rep_steps = stored_ramp(cfg, ctx, start, store_lag_s)
        maxima.append(best)
        steps.extend(s | {"rep": rep + 1} for s in rep_steps)
        for name, runs in memory.items():
            if name not in ctx.unavailable and rep < MEMORY_REPS:
                runs.append(memory_per_session(cfg, ctx, name, sessions_for_memory))
    direct_med = statistics.median(d["points_per_s"] for d in direct)
    best_med = statistics.median(maxima)
    per_session = {
        n: statistics.median(r["bytes_per_session"] for r in runs)
        for n, runs in memory.items()
        if runs
    }
    return {
        "max_stored_readings_per_s": maxima,
        "median": best_med,
        "direct_ceiling": direct,
        "direct_median_points_per_s": direct_med,
        "ratio_stored_to_direct": round(best_med / direct_med, 3),
        "store_lag_limit_s": store_lag_s,
        "steps": steps,
        "memory": memory,
        "memory_bytes_per_session_median": per_session,
        "target": {"stored_readings_per_s": 50_000, "met": best_med >= 50_000},
    }
