"""The end-to-end benchmark's clinicians: one websocket per token, in a process of their own.

Each client sends `hello`, waits for its snapshot, then timestamps every frame; frames are
parsed only after the run (so the clients cost little on the shared cores), keeping the
`alarm_event`s of rule hr_high, kind `raised`, as `[client, device, seq, receipt time]`.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

CONNECT_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 600.0


def raised_alarms(client: int, frames: list[tuple[float, str | bytes]]) -> list[list[Any]]:
    """`[client, device, seq, t]` of the hr_high `raised` alarm events among the frames."""
    out: list[list[Any]] = []
    for t, frame in frames:
        msg = json.loads(frame)
        if msg.get("type") != "alarm_event":
            continue
        event = msg.get("event") or {}
        if event.get("kind") == "raised" and event.get("rule") == "hr_high":
            out.append([client, event.get("device"), event.get("seq"), t])
    return out


async def _clients(url: str, tokens: list[str], ready: Any, done_at: Any) -> list[list[Any]]:  # noqa: ANN401 - multiprocessing proxies
    import websockets  # noqa: PLC0415

    frames: list[list[tuple[float, str | bytes]]] = [[] for _ in tokens]
    opened = [asyncio.Event() for _ in tokens]

    async def one(i: int, token: str) -> None:
        async with websockets.connect(url, max_size=None, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "hello", "v": 1, "token": token}))
            while json.loads(await ws.recv()).get("type") != "snapshot":
                pass
            opened[i].set()
            mine, clock = frames[i], time.time
            async for frame in ws:
                mine.append((clock(), frame))

    tasks = [asyncio.create_task(one(i, tok)) for i, tok in enumerate(tokens)]
    await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), CONNECT_TIMEOUT_S)
    ready.set()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline and not (done_at.value and time.time() > done_at.value):
        if any(t.done() for t in tasks):  # a dropped client would hide its alarms
            break
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return [a for i, mine in enumerate(frames) for a in raised_alarms(i, mine)]


def client_process(spec: dict[str, Any], ready: Any, done_at: Any) -> None:  # noqa: ANN401 - multiprocessing proxies
    """Entry of the clients' process: spec has url, tokens, out."""
    alarms = asyncio.run(_clients(spec["url"], spec["tokens"], ready, done_at))
    Path(spec["out"]).write_text(json.dumps(alarms))
