import contextlib
from collections.abc import Iterator
from pathlib import Path

from bench.alarms import Context


def test_own_influx_swaps_in_a_fresh_server_for_the_block_and_restores_the_shared_one(
    tmp_path: Path,
) -> None:
    started: list[str] = []
    stopped: list[str] = []

    @contextlib.contextmanager
    def fresh(tag: str) -> Iterator[str]:
        started.append(tag)
        try:
            yield f"fresh-{tag}"
        finally:
            stopped.append(tag)

    ctx = Context(tmp_path, influx="shared", fresh_influx=fresh)
    with ctx.own_influx("storage"):
        assert ctx.influx == "fresh-storage"
    assert (ctx.influx, started, stopped) == ("shared", ["storage"], ["storage"])


def test_own_influx_keeps_the_shared_server_without_a_factory(tmp_path: Path) -> None:
    ctx = Context(tmp_path, influx="shared")
    with ctx.own_influx("storage"):
        assert ctx.influx == "shared"
