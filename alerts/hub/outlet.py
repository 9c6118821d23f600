"""Where queued frames leave for the clinicians' sockets: the hub's fan-out edge.

The core puts one shared `Outgoing` (its websocket frame encoded once) into every client's
`ClientQueue`; each put calls `Outlet.notify`, which only marks the outlet dirty. Once per turn
of the event loop, `FlushScheduler` flushes every dirty outlet synchronously:

* **Fast path** (the normal case): the connection is open and its transport's write buffer is
  below the high-water mark, so the queued frames are written to the transport at once, joined
  into one write. No task wakes up, nothing is awaited and nothing is re-encoded per client: an
  alarm reaches 100 sockets in one pass, as `websockets.broadcast` does.
* **Slow path**: what does not fit under the high-water mark is left in the queue and the
  outlet's writer task takes over, sending with `ServerConnection.send`, which waits for the
  socket to drain. Until the queue is empty again the fast path stays off for that client, so
  frames keep their order. A client that stays behind overflows its bounded queue and the core
  disconnects it (4429).

Every frame written is reported to the core (`HubCore.sent`): delivery receipts and latency.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from alerts.hub.core import Client, HubCore

Clock = Callable[[], float]


class FlushScheduler:
    """Flushes the outlets that have something new, once per turn of the event loop."""

    __slots__ = ("_dirty", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._dirty: dict[Outlet, None] = {}  # insertion-ordered: first queued, first written
        self._scheduled = False

    def mark(self, outlet: Outlet) -> None:
        self._dirty[outlet] = None
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        dirty, self._dirty = self._dirty, {}
        for outlet in dirty:
            outlet.flush()


class Outlet:
    """One connection's way out: the fast synchronous path and the writer task behind it."""

    __slots__ = (
        "_clock",
        "_core",
        "_draining",
        "_high_water",
        "_scheduler",
        "_wake",
        "_ws",
        "client",
    )

    def __init__(
        self, ws: ServerConnection, core: HubCore, clock: Clock, scheduler: FlushScheduler
    ) -> None:
        self._ws = ws
        self._core = core
        self._clock = clock
        self._scheduler = scheduler
        self._high_water = ws.transport.get_write_buffer_limits()[1]
        self._wake = asyncio.Event()
        self._draining = False  # the writer task owns the queue until it is empty
        self.client: Client | None = None  # set once the core has attached the connection

    def notify(self) -> None:
        """The client's queue has something new (called by `ClientQueue.put`)."""
        self._scheduler.mark(self)

    def flush(self) -> None:
        client = self.client
        if client is None or self._draining:
            return
        ws = self._ws
        if ws.protocol.state is not State.OPEN:
            return  # closing: the reader and the kicker end the connection
        transport = ws.transport
        room = self._high_water - transport.get_write_buffer_size()
        queue = client.queue
        written = []
        while room > 0 and (item := queue.pop()) is not None:
            written.append(item)
            room -= len(item.frame)
        if written:
            frames = [item.frame for item in written]
            transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
            now, mono = self._clock(), time.monotonic()
            for item in written:
                self._core.sent(client, item, now, mono)
        if queue.depth:
            self._draining = True
            self._wake.set()

    async def run(self) -> None:
        """The slow path: send what the fast path left, waiting for the socket to drain."""
        ws, core = self._ws, self._core
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                client = self.client
                if client is None:
                    continue
                while (item := client.queue.pop()) is not None:
                    await ws.send(item.data, text=True)
                    core.sent(client, item, self._clock(), time.monotonic())
                self._draining = False
        except ConnectionClosed:
            return
