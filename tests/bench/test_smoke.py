"""A tiny real run of the side-by-side path: broker, baseline forwarder, generator, receiver.

Node-RED and Vigil's processor take part when they are at hand (Node-RED installed in the
cache by an earlier `scripts/bench`; InfluxDB for Vigil is too slow to start for a smoke test).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import report, run
from bench.steps import Limits, run_step, wait_ready
from bench.systems import BenchBroker, make_system, nodered_home
from bench.workload import Periodic, Plan

pytestmark = pytest.mark.integration


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BenchBroker]:
    b = BenchBroker(tmp_path / "broker")
    b.start()
    yield b
    b.stop()


def _tiny_step(name: str, broker: BenchBroker, tmp_path: Path) -> None:
    system = make_system(name, tmp_path)
    system.start(broker, 0.0)
    try:
        wait_ready(system, broker, 0.0)
        plan = Plan(50, 500.0, 10, 2.0, Periodic(8, 1), prefix=f"smoke{time.time_ns() % 10**6}-")
        step = run_step(system, broker, plan)
    finally:
        system.stop()
    assert step.judge(Limits()), step.line()
    assert (step.lost, step.missing, step.unexpected, step.duplicates) == (0, 0, 0, 0)
    assert step.n_raised > 0


def test_forwarder_baseline_passes_a_tiny_step(broker: BenchBroker, tmp_path: Path) -> None:
    _tiny_step("forwarder", broker, tmp_path)


@pytest.mark.skipif(
    not (nodered_home() / "node_modules" / ".bin" / "node-red").exists(),
    reason="Node-RED not installed in the cache (scripts/bench installs it)",
)
def test_nodered_flow_passes_a_tiny_step(broker: BenchBroker, tmp_path: Path) -> None:
    _tiny_step("nodered", broker, tmp_path)


def test_cli_writes_json_and_a_summary(tmp_path: Path) -> None:
    # The engine bench: the quickest real one (seconds; e2e links 100 straps for minutes).
    assert run.main(["engine", "--reps", "1", "--results", str(tmp_path)]) == 0
    assert (tmp_path / "engine.json").exists()
    text = (tmp_path / "summary.md").read_text()
    assert "## engine" in text
    assert "readings/s batched" in text
    assert report.summary(tmp_path) == text
