"""Process edge: stop cleanly on SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Coroutine

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def until_signalled(work: Coroutine[object, object, None]) -> None:
    """Run `work`; SIGINT or SIGTERM cancel it, which counts as a clean stop."""
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)
