"""The bench's CPU accounting helpers on this machine's /proc."""

from bench.procstat import MachineCpu, wait_quiet


def test_machine_cpu_counts_forward() -> None:
    before = MachineCpu.now()
    sum(range(200_000))
    after = MachineCpu.now()
    assert after.total >= before.total
    assert 0.0 <= after.busy_pct_since(before) <= 100.0


def test_wait_quiet_returns_at_once_on_a_quiet_enough_box_and_gives_up_on_a_busy_one() -> None:
    waited, busy = wait_quiet(busy_pct=100.0, window_s=0.05, timeout_s=5.0)
    assert waited < 1.0
    assert 0.0 <= busy <= 100.0
    waited, _ = wait_quiet(busy_pct=-1.0, window_s=0.05, timeout_s=0.3)  # never quiet enough
    assert 0.3 <= waited < 2.0
