"""CPU and memory accounting from /proc (Linux), so the bench needs no psutil.

CPU is user + system time in seconds (100 % = one core over the wall time); machine-wide
figures come from /proc/stat and are in % of all cores.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None, *, children: bool = False) -> float | None:
    """User + system CPU seconds of `pid` (plus its reaped children's when asked)."""
    if not pid:
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is field 3 (state): utime, stime are fields 14, 15; cutime, cstime 16, 17
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICKS


def tree_cpu_seconds(pid: int | None) -> float | None:
    """CPU seconds of `pid` and its live descendants (a wrapper script and its worker)."""
    if not pid:
        return None
    total = cpu_seconds(pid)
    if total is None:
        return None
    for child in children_of(pid):
        total += tree_cpu_seconds(child) or 0.0
    return total


def children_of(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text().split()
            out.extend(int(c) for c in text)
    except OSError:
        return out
    return out


def rss_bytes(pid: int | None) -> int | None:
    if not pid:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


@dataclass(frozen=True, slots=True)
class MachineCpu:
    busy: int
    total: int
    steal: int = 0  # time the hypervisor ran someone else while our vCPUs wanted to run

    @classmethod
    def now(cls) -> MachineCpu:
        parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
        idle = parts[3] + parts[4]  # idle + iowait
        steal = parts[7] if len(parts) > 7 else 0
        total = sum(parts[:8])
        return cls(busy=total - idle - steal, total=total, steal=steal)

    def busy_pct_since(self, before: MachineCpu) -> float:
        return round(100 * (self.busy - before.busy) / max(1, self.total - before.total), 1)

    def steal_pct_since(self, before: MachineCpu) -> float:
        """Stolen time in % of one core (like the per-process figures)."""
        cores = os.cpu_count() or 1
        return round(
            100 * cores * (self.steal - before.steal) / max(1, self.total - before.total), 1
        )


@dataclass(slots=True)
class CpuWindow:
    """CPU used by some processes over a wall-clock window."""

    pids: dict[str, int | None]
    start: dict[str, float | None] | None = None
    machine: MachineCpu | None = None
    wall: float = 0.0

    def begin(self, now: float) -> None:
        self.start = {name: tree_cpu_seconds(pid) for name, pid in self.pids.items()}
        self.machine = MachineCpu.now()
        self.wall = now

    def end(self, now: float) -> dict[str, float | None]:
        """% of one core per process over the window, plus `machine` in % of all cores."""
        assert self.start is not None
        assert self.machine is not None
        wall = max(1e-9, now - self.wall)
        out: dict[str, float | None] = {}
        for name, pid in self.pids.items():
            before, after = self.start[name], tree_cpu_seconds(pid)
            ok = before is not None and after is not None
            out[name] = round(100 * (after - before) / wall, 1) if ok else None  # type: ignore[operator]
        now_machine = MachineCpu.now()
        machine = now_machine.busy_pct_since(self.machine)
        ours = sum(v for v in out.values() if v is not None)
        out["machine"] = machine
        # A vCPU the hypervisor deschedules shows neither busy nor idle: every process above
        # then gets less than it asked for, while the box looks half idle.
        out["steal"] = now_machine.steal_pct_since(self.machine)
        # busy time of everything else on the box (other users), in % of one core
        out["others"] = round(max(0.0, machine * (os.cpu_count() or 1) - ours), 1)
        return out


QUIET_BUSY_PCT = 10.0  # of the whole machine: an idle box here reads 1-4 %


def wait_quiet(
    *, busy_pct: float = QUIET_BUSY_PCT, window_s: float = 0.5, timeout_s: float = 90.0
) -> tuple[float, float]:
    """Wait until the machine is quiet for one `window_s`: (seconds waited, last busy %).

    A step must not start while InfluxDB compacts what an earlier system wrote (measured: a
    third of a core for minutes after the default role's steps), or every system measured
    next pays for it. Gives up after `timeout_s` and says so through the busy figure.
    """
    started = time.monotonic()
    while True:
        before = MachineCpu.now()
        time.sleep(window_s)
        busy = MachineCpu.now().busy_pct_since(before)
        waited = time.monotonic() - started
        if busy <= busy_pct or waited >= timeout_s:
            return round(waited, 1), busy
