"""`scripts/bench [NAME...]`: run benchmarks, write JSON + a markdown summary to bench/results/.

Names (default: all of them, in this order; about 40 min with 3 repetitions, 28 with 2):
  throughput       processor vs Node-RED: max sustained readings/s, single and batched
  latency          alarm latency p50/p99 at 1,000 sessions x 1 reading/s (broker Nagle on)
  latency-nodelay  the same with the broker's set_tcp_nodelay true
  correctness      exact alarm event sets with a 10 s persistence delay
  engine           the alarm engine in process, one core
  storage          end to end with InfluxDB: stored readings/s, memory per session
  gateway          notifications -> acknowledged publishes, and their latency
  hub              alarm fan-out to 100 clinicians through `vigil hub` (p99 target 10 ms)
  e2e              BLE notification -> dashboard websocket at 100 sessions (p99 target 25 ms)
  throughput-nodelay  (only when named) the throughput ramp on the nodelay broker, 1 rep
  smoke            a tiny run of the side-by-side path (seconds), for tests
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import alarms, e2e, engine, gateway, hub, storage
from bench.report import summary

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
ORDER = (
    "engine",
    "gateway",
    "correctness",
    "latency",
    "latency-nodelay",
    "throughput",
    "storage",
    "hub",
    "e2e",
)
EXTRA = ("throughput-nodelay", "smoke")  # run only when named
VIGIL_SYSTEMS = ("vigil-alarms", "vigil")
NEEDS_INFLUX = {
    "throughput",
    "throughput-nodelay",
    "latency",
    "latency-nodelay",
    "correctness",
    "storage",
    "smoke",
}


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    versions: dict[str, str] = {"python": platform.python_version()}
    for tool, argv in {"mosquitto": ["mosquitto", "-h"], "node": ["node", "--version"]}.items():
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            versions[tool] = (done.stdout or done.stderr).splitlines()[0].strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            versions[tool] = "?"
    return {"nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(), "versions": versions}


def _influx(run_dir: Path) -> Any:  # noqa: ANN401 - InfluxDB from vigil.services
    from vigil.services.influxdb import InfluxDB  # noqa: PLC0415

    server = InfluxDB(run_dir / "influxdb")
    server.start()
    return server


def _endpoint(server: Any) -> Any:  # noqa: ANN401
    from vigil.services.endpoints import InfluxEndpoint  # noqa: PLC0415

    return InfluxEndpoint(
        url=server.url,
        org=server.setup.org,
        bucket=server.setup.bucket,
        token=server.token,
        pid=server.pid,
        version=server.version,
    )


def smoke(cfg: alarms.AlarmConfig, ctx: alarms.Context) -> dict[str, Any]:
    """One short step per system, single mode, and a short latency run: proves the wiring."""
    cfg.single_rates, cfg.step_s, cfg.reps, cfg.modes = (2000,), 3.0, 1, ("single",)
    cfg.latency_s = 4.0
    out: dict[str, Any] = {}
    for name in cfg.latency_systems:
        if name in ctx.unavailable:
            continue
        best, steps = alarms.ramp(cfg, ctx, name, "single", 0)
        out[name] = {"max_sustained": best, "step": steps[-1].__dict__}
    return out


def run_names(names: list[str], args: argparse.Namespace) -> int:
    run_dir = Path(tempfile.mkdtemp(prefix="vigil-bench-run-"))
    cfg = alarms.AlarmConfig(reps=args.reps, nodelay=False, nodelay_reps=args.nodelay_reps)
    if args.systems:
        cfg.systems = tuple(s for s in args.systems if s != "forwarder")
        cfg.latency_systems = tuple(args.systems)
        cfg.correctness_systems = tuple(args.systems)
    ctx = alarms.Context(run_dir)
    from bench.vigil_processor import available  # noqa: PLC0415

    wants_vigil = any(s.startswith("vigil") for s in (*cfg.systems, *cfg.latency_systems))
    if (why := available()) is not None:
        ctx.unavailable.update(dict.fromkeys(VIGIL_SYSTEMS, why))
    server = None
    if wants_vigil and "vigil" not in ctx.unavailable and NEEDS_INFLUX & set(names):
        server = _influx(run_dir)
        ctx.influx = _endpoint(server)
        ctx.fresh_influx = functools.partial(_fresh_influx, run_dir)
    jobs: dict[str, Callable[[], dict[str, Any]]] = {
        "engine": lambda: engine.run(repeats=args.reps + 2),
        "gateway": lambda: gateway.run(run_dir, repeats=args.reps, readings=10_000),
        "correctness": lambda: alarms.correctness(cfg, ctx),
        "latency": lambda: alarms.latency(cfg, ctx),
        "latency-nodelay": lambda: _nodelay(cfg, ctx),
        "throughput": lambda: alarms.throughput(cfg, ctx),
        "throughput-nodelay": lambda: _throughput_nodelay(cfg, ctx),
        "storage": lambda: _storage_on_fresh_influxdb(cfg, ctx),
        "hub": lambda: hub.run(run_dir, repeats=args.reps),
        "e2e": lambda: e2e.run(run_dir, repeats=args.reps),
        "smoke": lambda: smoke(cfg, ctx),
    }
    results_dir = Path(args.results)
    results_dir.mkdir(parents=True, exist_ok=True)
    failures = 0
    try:
        for name in names:
            alarms.say(cfg, f"=== {name}")
            started = time.time()
            try:
                result = jobs[name]()
            except Exception as err:  # noqa: BLE001 - one broken benchmark must not hide the rest
                failures += 1
                alarms.say(cfg, f"{name} failed: {err!r}")
                continue
            notes = [f"{k} skipped: {v}" for k, v in ctx.unavailable.items()]
            doc = {
                "name": name,
                "meta": {
                    "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started)),
                    "seconds": time.time() - started,
                    "machine": machine(),
                    "reps": args.reps,
                },
                "notes": notes,
                "result": result,
            }
            (results_dir / f"{name}.json").write_text(json.dumps(doc, indent=1, default=str))
            (results_dir / "summary.md").write_text(summary(results_dir))
            alarms.say(cfg, f"wrote {results_dir / (name + '.json')}")
    finally:
        if server is not None:
            server.stop()
        if not os.environ.get("BENCH_KEEP_RUN_DIR"):  # logs, spills, InfluxDB data: large
            shutil.rmtree(run_dir, ignore_errors=True)
    return 1 if failures else 0


def _storage_on_fresh_influxdb(cfg: alarms.AlarmConfig, ctx: alarms.Context) -> dict[str, Any]:
    """`storage` on an InfluxDB of its own: every throughput step names 1,000 new sessions, so
    after a throughput run the shared server holds ~40,000 sessions' series and is still
    compacting them (measured: the store lag at 25,000 readings/s went from 0.1 s to 1.3 s)."""
    with ctx.own_influx("storage"):
        return storage.run(cfg, ctx)


@contextlib.contextmanager
def _fresh_influx(run_dir: Path, tag: str) -> Iterator[Any]:
    server = _influx(run_dir / tag)
    try:
        yield _endpoint(server)
    finally:
        server.stop()


def _throughput_nodelay(cfg: alarms.AlarmConfig, ctx: alarms.Context) -> dict[str, Any]:
    """The throughput ramp on the nodelay broker, one repetition (a diagnostic, not default)."""
    cfg.nodelay, reps = True, cfg.reps
    cfg.reps = 1
    try:
        return alarms.throughput(cfg, ctx)
    finally:
        cfg.nodelay, cfg.reps = False, reps


def _nodelay(cfg: alarms.AlarmConfig, ctx: alarms.Context) -> dict[str, Any]:
    """The latency measurement on the broker variant with `set_tcp_nodelay true`; one
    repetition unless `--nodelay-reps` asks for more (it is the variant, not the headline)."""
    cfg.nodelay, reps = True, cfg.reps
    cfg.reps = cfg.nodelay_reps
    try:
        return alarms.latency(cfg, ctx)
    finally:
        cfg.nodelay, cfg.reps = False, reps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="scripts/bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument("names", nargs="*", metavar="NAME", help="default: all but smoke")
    ap.add_argument("--reps", type=int, default=3, help="repetitions of each measurement")
    ap.add_argument(
        "--nodelay-reps", type=int, default=1, help="repetitions of latency-nodelay (default 1)"
    )
    ap.add_argument(
        "--systems",
        nargs="+",
        choices=("forwarder", "nodered", *VIGIL_SYSTEMS),
        help="limit the systems",
    )
    ap.add_argument("--results", default=str(RESULTS), help="where JSON and summary.md go")
    args = ap.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, so every `finally` stops what it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    names = args.names or list(ORDER)
    unknown = [n for n in names if n not in (*ORDER, *EXTRA)]
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    return run_names(names, args)


if __name__ == "__main__":
    sys.exit(main())
