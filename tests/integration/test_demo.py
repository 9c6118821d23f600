"""The README's demo command runs the whole pipeline and shows readings flowing."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_the_demo_runs_every_stage_and_prints_what_flows(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "vigil.cli",
            "demo",
            # Linking nine emulated wearables took 3 s on a quiet box and 29 s once in a full
            # CI run; vitals are printed every 10 s after that.
            "--minutes",
            "1.0",
            "--hub-port",
            "0",
            "--run-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = done.stdout
    assert done.returncode == 0, done.stderr + out
    assert "InfluxDB 2.7" in out
    assert re.search(r"dashboard\] http://127\.0\.0\.1:\d+/ +clinician dr-demo", out)
    for session in ("S-DEMO-1", "S-DEMO-2", "S-DEMO-3"):
        assert re.search(rf"vitals\] {session}: hr \d+.*spo2 \d+ \(\d+ readings so far\)", out), out
    assert "alarm events seen:" in out
    logs = tmp_path / "logs"
    assert sorted(p.name for p in logs.iterdir()) == [
        "emulate.log",
        "gateway.log",
        "hub.log",
        "processor.log",
    ]
