"""The headline: Vigil's processor and Node-RED side by side on the identical workload.

Three measurements, each repeated with a fresh broker and a fresh system per repetition,
systems interleaved (their order rotates every repetition) so the noise of this shared
2-core box falls on all of them alike:

* throughput — a ramp of offered rates per mode (1 reading per message, 10 per message),
  1,000 sessions, about 1.1 % of readings raising; a step passes when the offered rate was
  achieved (acknowledged), no reading was lost (the system's own processed count), the
  broker dropped nothing, every expected alarm and no other arrived, p99 <= 1 s and the end
  marker drained within 2 s; a failing step is retried once; the ramp stops at a step that
  fails twice (when the first step fails twice the ramp walks down instead); the first
  repetition starts at 5k single / 25k batched, later ones one step below the previous
  maximum. A
  fresh system first gets a 3 s warm-up step at the lowest rate that is not judged (JIT,
  caches, first connections).
  Baseline: `sink` (raw-socket Python subscriber that only counts) offered far more than it
  takes: the ceiling of generator + broker + one consumer on this box, same run.
* latency — 1,000 sessions x 1 reading/s, persistence 0, ~14 % of readings crossing:
  raise latency from the generator's send time to receipt in a separate receiver process.
  Baseline: `forwarder` (raw-socket Python doing the same rules), same run.
* correctness — persistence 10 s, 13 scripted sessions kinds x N, real time: the exact
  event set of every session against hand-written expectations.
"""

from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bench.steps import Limits, StepResult, run_step, scripted_plan, wait_ready
from bench.systems import BenchBroker, System, make_system
from bench.workload import Periodic, Plan, scripted_expectations

SINGLE_RATES = (1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 25_000, 30_000, 40_000, 50_000, 60_000)
# Steps of 12,500 where the systems measured here top out (37,500-100,000), so a system that
# misses one step is not reported a whole 25,000 lower.
BATCH_RATES = (
    5_000, 10_000, 25_000, 37_500, 50_000, 62_500, 75_000, 87_500, 100_000, 125_000, 150_000,
    175_000, 200_000, 250_000, 300_000, 400_000,
)  # fmt: skip
WARMUP_S = 3.0
FIRST_STEP = 2  # 5k single, 25k batched: below every system measured so far
MODES = {"single": 1, "batch": 10}


@dataclass
class AlarmConfig:
    systems: tuple[str, ...] = ("nodered", "vigil-alarms", "vigil")
    reps: int = 3
    step_s: float = 8.0
    sessions: int = 1000
    single_rates: tuple[int, ...] = SINGLE_RATES
    batch_rates: tuple[int, ...] = BATCH_RATES
    latency_s: float = 12.0
    latency_systems: tuple[str, ...] = ("forwarder", "nodered", "vigil-alarms", "vigil")
    ceiling_s: float = 2.0
    correctness_replicas: int = 10
    nodelay: bool = False
    nodelay_reps: int = 1
    modes: tuple[str, ...] = ("single", "batch")
    correctness_systems: tuple[str, ...] = ("nodered", "vigil-alarms", "vigil")
    log: list[str] = field(default_factory=list)


@dataclass
class Context:
    """What every measurement needs: where to run, and InfluxDB when Vigil is measured.
    `fresh_influx(tag)` gives a new, empty InfluxDB for a block (see `own_influx`)."""

    run_dir: Path
    influx: Any = None
    unavailable: dict[str, str] = field(default_factory=dict)
    fresh_influx: Callable[[str], contextlib.AbstractContextManager[Any]] | None = None

    @contextlib.contextmanager
    def own_influx(self, tag: str) -> Iterator[None]:
        """Within the block, an InfluxDB that holds nothing another measurement wrote: a
        server still compacting other steps' points took 13-37 % of a core from the system
        under test (measured; the shared one when there is no `fresh_influx`)."""
        if self.fresh_influx is None or self.influx is None:
            yield
            return
        shared = self.influx
        with self.fresh_influx(tag) as endpoint:
            self.influx = endpoint
            try:
                yield
            finally:
                self.influx = shared


def say(cfg: AlarmConfig, text: str) -> None:
    line = f"{time.strftime('%H:%M:%S')} {text}"
    cfg.log.append(line)
    print(line, flush=True)


class Fresh:
    """A broker and a system, probed until alarms flow, that can be replaced by fresh ones
    (a lower step after an overloaded one must not inherit its backlog)."""

    def __init__(self, ctx: Context, name: str, delay_s: float, *, nodelay: bool) -> None:
        self.ctx, self.name, self.delay_s, self.nodelay = ctx, name, delay_s, nodelay
        self.broker = BenchBroker(ctx.run_dir / f"broker-{name}", nodelay=nodelay)
        self.system = make_system(name, ctx.run_dir, ctx.influx)

    def start(self) -> None:
        self.broker.start()
        try:
            self.system.start(self.broker, self.delay_s)
            if self.name != "sink":
                wait_ready(self.system, self.broker, self.delay_s)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.system.stop()
        self.broker.stop()

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def running(
    ctx: Context, name: str, delay_s: float, *, nodelay: bool
) -> Iterator[tuple[System, BenchBroker]]:
    """A fresh broker and a fresh system for the block; stopped afterwards."""
    fresh = Fresh(ctx, name, delay_s, nodelay=nodelay)
    fresh.start()
    try:
        yield fresh.system, fresh.broker
    finally:
        fresh.stop()


def _plan(
    cfg: AlarmConfig, rate: float, batch: int, *, duration: float, workload: Periodic, tag: str
) -> Plan:
    prefix = f"{tag}{time.time_ns() // 1_000_000 % 10**8}-"
    return Plan(cfg.sessions, rate, batch, duration, workload, prefix=prefix)


def climb(rates: tuple[int, ...], start: int, passes: Callable[[int, bool], bool]) -> int:
    """The highest rate that passes, climbing from `start` until a rate fails (`passes`
    retries as it sees fit); when `start` itself fails, walk down until one passes. The
    second argument of `passes` says "after a failure": the system should start fresh."""
    best, i, direction = 0, start, +1
    while 0 <= i < len(rates):
        if passes(rates[i], direction < 0):
            best = max(best, rates[i])
            if direction < 0:
                break
            i += 1
        elif best or i == 0:
            break
        else:
            direction, i = -1, i - 1
    return best


def ramp(
    cfg: AlarmConfig, ctx: Context, name: str, mode: str, start_index: int
) -> tuple[int, list[StepResult]]:
    rates = cfg.single_rates if mode == "single" else cfg.batch_rates
    steps: list[StepResult] = []
    fresh = Fresh(ctx, name, 0.0, nodelay=cfg.nodelay)

    def warm_up() -> None:
        workload = Periodic(100, 2)
        warm = _plan(cfg, rates[0], MODES[mode], duration=WARMUP_S, workload=workload, tag="warm")
        step = run_step(fresh.system, fresh.broker, warm, mode=mode)
        say(cfg, f"warm-up (not judged): {step.line()}")

    def passes(rate: int, after_failure: bool) -> bool:
        if after_failure:
            fresh.restart()
            warm_up()
        for attempt in (1, 2):  # one retry absorbs a stall of this noisy box
            workload = Periodic(100, 2)
            plan = _plan(cfg, rate, MODES[mode], duration=cfg.step_s, workload=workload, tag="tp")
            step = run_step(fresh.system, fresh.broker, plan, mode=mode)
            steps.append(step)
            ok = step.judge(Limits())
            say(cfg, f"ramp attempt {attempt}: {step.line()}")
            if ok:
                return True
            time.sleep(1.0)
        return False

    fresh.start()
    try:
        warm_up()
        best = climb(rates, start_index, passes)
    finally:
        fresh.stop()
    return best, steps


def throughput(cfg: AlarmConfig, ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in cfg.modes:
        rates = cfg.single_rates if mode == "single" else cfg.batch_rates
        per: dict[str, dict[str, Any]] = {n: {"max": [], "steps": []} for n in cfg.systems}
        ceiling: list[dict[str, Any]] = []
        for rep in range(cfg.reps):
            order = list(
                cfg.systems[rep % len(cfg.systems) :] + cfg.systems[: rep % len(cfg.systems)]
            )
            for name in order:
                if name in ctx.unavailable:
                    continue
                previous = per[name]["max"]
                start = FIRST_STEP  # rep 1; a step that fails twice there walks down
                if previous and previous[-1]:
                    start = max(0, rates.index(previous[-1]) - 1)
                say(cfg, f"throughput {mode} rep {rep + 1}: {name} from {rates[start]}/s")
                tag = f"throughput-{mode}-{rep + 1}-{name}"
                uses_influx = name.startswith("vigil")
                with ctx.own_influx(tag) if uses_influx else contextlib.nullcontext():
                    best, steps = ramp(cfg, ctx, name, mode, start)
                per[name]["max"].append(best)
                per[name]["steps"].extend(asdict(s) | {"rep": rep + 1} for s in steps)
            ceiling.append(sink_ceiling(cfg, ctx, mode))
        out[mode] = {
            "systems": {
                n: {"max_sustained": v["max"], "median": _median(v["max"]), "steps": v["steps"]}
                for n, v in per.items()
            },
            "ceiling": {"runs": ceiling, "median": _median([c["consumed_rate"] for c in ceiling])},
        }
    return out


def sink_ceiling(cfg: AlarmConfig, ctx: Context, mode: str) -> dict[str, Any]:
    """Offer far more than the box carries to a sink; what it consumes per second is the
    ceiling of generator + broker + one raw-socket Python consumer."""
    rate = 100_000 if mode == "single" else 1_000_000
    with running(ctx, "sink", 0.0, nodelay=cfg.nodelay) as (system, broker):
        time.sleep(0.5)
        plan = _plan(
            cfg, rate, MODES[mode], duration=cfg.ceiling_s, workload=Periodic(100, 2), tag="ceil"
        )
        step = run_step(system, broker, plan, mode=mode, drain_timeout_s=30, expected=set())
    consumed = step.processed or 0
    result = {
        "offered_rate": rate,
        "acked_rate": step.achieved_rate,
        "consumed": consumed,
        "sent": step.sent_readings,
        "consumed_rate": round(step.achieved_rate * consumed / max(1, step.sent_readings), 1),
        "cpu": step.cpu,
    }
    say(cfg, f"ceiling {mode}: {result}")
    return result


def latency(cfg: AlarmConfig, ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in cfg.modes:
        runs: dict[str, list[dict[str, Any]]] = {n: [] for n in cfg.latency_systems}
        for rep in range(cfg.reps):
            names = cfg.latency_systems
            order = list(names[rep % len(names) :] + names[: rep % len(names)])
            for name in order:
                if name in ctx.unavailable:
                    continue
                with running(ctx, name, 0.0, nodelay=cfg.nodelay) as (system, broker):
                    rate = cfg.sessions * 1.0
                    warm = _plan(
                        cfg, rate, MODES[mode], duration=2.0, workload=Periodic(8, 1), tag="warm"
                    )
                    run_step(system, broker, warm, mode=mode)  # not judged
                    plan = _plan(
                        cfg,
                        rate,
                        MODES[mode],
                        duration=cfg.latency_s,
                        workload=Periodic(8, 1),
                        tag="lat",
                    )
                    step = run_step(system, broker, plan, mode=mode)
                    step.judge(Limits(p99_ms=1e9, drain_s=1e9))
                say(cfg, f"latency {mode} rep {rep + 1}: {step.line()}")
                runs[name].append(asdict(step) | {"rep": rep + 1})
        out[mode] = {
            n: {
                "runs": r,
                "p50_ms": _median([x["p50_ms"] for x in r]),
                "p99_ms": _median([x["p99_ms"] for x in r]),
                "complete": all(x["passed"] for x in r),
            }
            for n, r in runs.items()
            if r
        }
    return out


def correctness(cfg: AlarmConfig, ctx: Context) -> dict[str, Any]:
    out: dict[str, Any] = {}
    delay = 10.0
    for mode in cfg.modes:
        for name in cfg.correctness_systems:
            if name in ctx.unavailable:
                continue
            with running(ctx, name, delay, nodelay=cfg.nodelay) as (system, broker):
                plan = scripted_plan(
                    cfg.correctness_replicas, MODES[mode], f"cor{time.time_ns() % 10**8}-"
                )
                hand = scripted_expectations(plan.sessions)
                step = run_step(system, broker, plan, delay_s=delay, mode=mode, expected=hand)
            step.judge(Limits(p99_ms=1e9, drain_s=1e9))
            say(cfg, f"correctness {mode}: {step.line()}")
            out.setdefault(mode, {})[name] = asdict(step) | {
                "all_pass": step.missing == 0 and step.unexpected == 0 and step.duplicates == 0
            }
    return out


def _median(xs: list[Any]) -> float | None:
    vals = [x for x in xs if x is not None]
    return statistics.median(vals) if vals else None
