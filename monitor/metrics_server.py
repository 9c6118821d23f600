"""A minimal HTTP endpoint for Prometheus: `GET /metrics` answers the text format."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)
READ_TIMEOUT_S = 5.0


async def serve_metrics(
    render: Callable[[], str], host: str, port: int, *, bound: asyncio.Future[int] | None = None
) -> None:
    """Serve until cancelled; `bound` receives the port (useful with port 0)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                request = await reader.readuntil(b"\r\n\r\n")
            path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b""
            if path == b"/metrics":
                body, status = render().encode(), b"200 OK"
            else:
                body, status = b"not found; try /metrics\n", b"404 Not Found"
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Type: text/plain; version=0.0.4\r\n"
                b"Content-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    server = await asyncio.start_server(handle, host, port)
    actual = server.sockets[0].getsockname()[1]
    log.info("metrics on http://%s:%d/metrics", host, actual)
    if bound is not None and not bound.done():
        bound.set_result(actual)
    async with server:
        await server.serve_forever()
