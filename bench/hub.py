"""Alarm fan-out to clinicians through `vigil hub` (target p99 <= 10 ms at 100 clinicians).

`vigil hub` (alerts/hub, `--no-audit`) runs against a fresh nodelay broker with 100 clinician
accounts (one scrypt hash shared by all: only the token path is exercised), each assigned to
the same `sessions` sessions through retained `SessionDescriptor`s. A separate client process
(`client_processes` of them, splitting the clients) opens one websocket per clinician (tokens
minted with the hub's `TokenSigner` and secret), sends `hello`, waits for the snapshot and then
only timestamps the bytes each socket read returns; frames are parsed after the run
(`_Recorder`). The clients share the box's 2 cores with the hub, the broker and the publisher,
so the instrument is kept to about one list append per read: with websockets' own client per
connection, parsing in the clients added several ms to every delivery, hub or baseline. The raw
publisher sends `AlarmEvent`s on `vigil/v1/alarms/{session}/events` at `rate`/s for `seconds`
and records each send time by `event_id`; latency = receipt - send over every (clinician,
event) pair; missing and duplicate deliveries are counted.

Baseline, same run, same broker and clients: `bench.hub.broadcast_server`, a raw-socket MQTT
subscriber that forwards each event payload to every connected websocket (websockets
library), the least a fan-out costs in Python on this box.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

from bench.mqtt_raw import Subscriber, WindowedPublisher, utf8
from bench.steps import percentile
from bench.systems import BenchBroker
from vigil.services.process import free_port, spawn, stop_pid, wait_port
from vigil.wire import AlarmEvent, SessionDescriptor, Topics

REPO = Path(__file__).resolve().parents[1]
CLIENT_TIMEOUT_S = 120.0
CLIENT_PROCESSES = 1
_DATA = (Opcode.TEXT, Opcode.BINARY)


def _users_file(path: Path, clinicians: list[str]) -> None:
    from alerts.hub.passwords import hash_password  # noqa: PLC0415

    digest = hash_password(secrets.token_urlsafe(16))
    lines = [f'[users."{c}"]\nrole = "clinician"\npassword = "{digest}"\n' for c in clinicians]
    path.write_text("\n".join(lines))


def _tokens(secret: bytes, clinicians: list[str]) -> list[str]:
    from alerts.hub.tokens import TokenSigner  # noqa: PLC0415

    signer = TokenSigner(secret=secret, ttl_s=3600.0)
    return [signer.issue(c, time.time())[0] for c in clinicians]


def _events(sessions: list[str], count: int) -> list[tuple[str, str, bytes]]:
    """(session, event_id, payload) for `count` raise events spread over the sessions."""
    encode = msgspec.json.Encoder().encode
    out = []
    run = time.time_ns() % 10**9  # ids unique per run: the hub deduplicates by event_id
    for i in range(count):
        session = sessions[i % len(sessions)]
        alarm_id = f"{session}.hr_high.{run}-{i}"
        event_id = f"{alarm_id}.raised"
        event = AlarmEvent(
            event_id=event_id,
            session=session,
            alarm_id=alarm_id,
            kind="raised",
            priority="high",
            rule="hr_high",
            message=f"session {session}: hr > 120: raised",
            t=time.time(),
            metric="hr",
            value=132.0,
            threshold=120.0,
            seq=i,
        )
        out.append((session, event_id, encode(event)))
    return out


class _Recorder(asyncio.Protocol):
    """One websocket client that, once open, only timestamps the bytes it receives.

    The opening handshake, `hello` and the wait for the snapshot go through websockets'
    sans-I/O `ClientProtocol`; after that `data_received` appends (receipt time, bytes) and
    nothing else, and the same protocol object parses the recorded bytes after the run. A frame
    is stamped with the arrival of the read that completed it: the instrument costs about one
    list append per socket read, so 100 clients in one process hardly delay each other.
    The hub's 20 s pings go unanswered while recording; runs end well before its ping timeout.
    """

    def __init__(self, url: str, token: str, opened: asyncio.Future[None]) -> None:
        self.ws = ClientProtocol(parse_uri(url), max_size=None)
        self.token = token
        self.opened = opened
        self.transport: asyncio.Transport | None = None
        self.recording = False
        self.chunks: list[tuple[float, bytes]] = []
        self.early: list[tuple[float, bytes]] = []  # frames that came with the snapshot

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.ws.send_request(self.ws.connect())
        self._write()

    def data_received(self, data: bytes) -> None:
        if self.recording:
            self.chunks.append((time.time(), data))
            return
        t = time.time()
        self.ws.receive_data(data)
        for event in self.ws.events_received():
            if isinstance(event, Response):
                if self.token:
                    hello = {"type": "hello", "v": 1, "token": self.token}
                    self.ws.send_text(json.dumps(hello).encode())
                else:
                    self._start()
            elif not isinstance(event, Frame) or event.opcode is not Opcode.TEXT:
                continue
            elif self.opened.done():  # open: later frames of the same read are recorded
                self.early.append((t, bytes(event.data)))
            elif json.loads(bytes(event.data)).get("type") == "snapshot":
                self._start()
        self._write()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed while opening"))

    def _start(self) -> None:
        self.recording = True
        self.opened.set_result(None)

    def _write(self) -> None:
        assert self.transport is not None
        for data in self.ws.data_to_send():
            if data:
                self.transport.write(data)

    def frames(self) -> list[tuple[float, bytes]]:
        """(receipt time, payload) of every data frame received while recording."""
        out = list(self.early)
        for t, chunk in self.chunks:
            self.ws.receive_data(chunk)
            frames = [e for e in self.ws.events_received() if isinstance(e, Frame)]
            out += [(t, bytes(f.data)) for f in frames if f.opcode in _DATA]
        return out


async def _connect(
    loop: asyncio.AbstractEventLoop, recorder: _Recorder, host: str, port: int
) -> None:
    await loop.create_connection(lambda: recorder, host, port)


async def _clients(
    url: str,
    tokens: list[str],
    ready: Any,  # noqa: ANN401 - a multiprocessing Event
    done_at: Any,  # noqa: ANN401 - a multiprocessing Value("d")
) -> dict[str, Any]:
    """One recording websocket per token; frames are parsed after the load has run."""
    loop = asyncio.get_running_loop()
    host, port = url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
    recorders = [_Recorder(url, token, loop.create_future()) for token in tokens]
    for recorder in recorders:
        await _connect(loop, recorder, host, int(port))
    await asyncio.wait_for(asyncio.gather(*(r.opened for r in recorders)), 60)
    gc.freeze()  # what exists now is never collected: no collector pauses in the measurement
    ready.set()
    deadline = time.monotonic() + CLIENT_TIMEOUT_S
    # The end time is set by the publishing process: a shared value, polled.
    while time.monotonic() < deadline and not (done_at.value and time.time() > done_at.value):  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    for recorder in recorders:
        if recorder.transport is not None:
            recorder.transport.abort()
    return {"received": [_event_ids(r.frames()) for r in recorders]}


def _event_ids(frames: list[tuple[float, bytes]]) -> list[tuple[float, str]]:
    """(receipt time, event_id) of the alarm events among one client's frames (the hub wraps
    them in `alarm_event`; the baseline forwards the bare `AlarmEvent`)."""
    out = []
    for t, frame in frames:
        msg = json.loads(frame)
        event = msg.get("event") if msg.get("type") == "alarm_event" else msg
        if isinstance(event, dict) and "event_id" in event:
            out.append((t, event["event_id"]))
    return out


def client_process(spec: dict[str, Any], ready: Any, done_at: Any) -> None:  # noqa: ANN401 - multiprocessing proxies
    """Entry of a websocket clients' process: spec has url, tokens, out."""
    result = asyncio.run(_clients(spec["url"], spec["tokens"], ready, done_at))
    Path(spec["out"]).write_text(json.dumps(result))


def broadcast_server(mqtt_port: int, ws_port: int) -> None:
    """Baseline: MQTT alarm events -> every connected websocket, nothing else."""
    import websockets  # noqa: PLC0415

    async def main() -> None:
        clients: set[Any] = set()

        async def handler(ws: Any) -> None:  # noqa: ANN401
            clients.add(ws)
            try:
                await ws.wait_closed()
            finally:
                clients.discard(ws)

        async with websockets.serve(handler, "127.0.0.1", ws_port, ping_interval=None):
            sub = Subscriber(
                "127.0.0.1", mqtt_port, "bench-broadcast", [("vigil/v1/alarms/+/events", 1)]
            )
            loop = asyncio.get_running_loop()
            queue: asyncio.Queue[bytes] = asyncio.Queue()

            def readable() -> None:
                for _, _, payload in sub.poll(0):
                    queue.put_nowait(payload)

            loop.add_reader(sub.sock, readable)
            while True:
                payload = await queue.get()
                websockets.broadcast(clients, payload.decode())

    asyncio.run(main())


def _measure(
    broker: BenchBroker,
    url: str,
    tokens: list[str],
    sessions: list[str],
    *,
    rate: float,
    seconds: float,
    processes: int,
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    count = int(rate * seconds)
    events = _events(sessions, count)
    done_at = ctx.Value("d", 0.0)
    stem = f"/tmp/vigil-bench-hub-{os.getpid()}-{time.time_ns()}"  # noqa: S108 - our own files, removed below
    outs = [f"{stem}-{n}.json" for n in range(processes)]
    readies, clients = [], []
    for n, out in enumerate(outs):
        ready = ctx.Event()
        spec = {"url": url, "tokens": tokens[n::processes], "out": out}
        clients.append(ctx.Process(target=client_process, args=(spec, ready, done_at)))
        readies.append(ready)
        clients[-1].start()
    if not all(ready.wait(90) for ready in readies):
        for process in clients:
            process.terminate()
        raise RuntimeError("websocket clients did not connect")
    time.sleep(0.5)
    pub = WindowedPublisher("127.0.0.1", broker.port, f"bench-hub-pub-{time.time_ns()}", 100)
    sent: dict[str, float] = {}
    topics = Topics()
    start = time.time()
    for i, (session, event_id, payload) in enumerate(events):
        due = start + i / rate
        while (wait := due - time.time()) > 0:
            pub.pump(min(wait, 0.01))
        sent[event_id] = time.time()
        pub.publish(utf8(topics.alarm_events(session)), payload)
        pub.pump(0)
    pub.flush(10)
    pub.close()
    done_at.value = time.time() + 5.0
    received: list[list[tuple[float, str]]] = []
    for process, out in zip(clients, outs, strict=True):
        process.join(CLIENT_TIMEOUT_S)
        received += json.loads(Path(out).read_text())["received"]
        Path(out).unlink()
    latencies: list[float] = []
    missing = duplicates = 0
    for per_client in received:
        ids = [e for _, e in per_client if e in sent]
        duplicates += len(ids) - len(set(ids))
        missing += len(set(sent) - set(ids))
        seen: set[str] = set()
        for t, e in per_client:
            if e in sent and e not in seen:
                seen.add(e)
                latencies.append(t - sent[e])
    return {
        "clients": len(tokens),
        "client_processes": processes,
        "events": count,
        "deliveries": len(latencies),
        "missing": missing,
        "duplicates": duplicates,
        "p50_ms": _ms(percentile(latencies, 50)),
        "p99_ms": _ms(percentile(latencies, 99)),
        "max_ms": _ms(max(latencies) if latencies else None),
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 2)


def run(run_dir: Path, *, repeats: int = 3, clinicians: int = 100, sessions: int = 50,
        rate: float = 35.0, seconds: float = 10.0,
        client_processes: int = CLIENT_PROCESSES) -> dict[str, Any]:  # fmt: skip
    broker = BenchBroker(run_dir / "broker-hub", nodelay=True)
    broker.start()
    names = [f"dr-{i:03d}" for i in range(clinicians)]
    session_ids = [f"hub{time.time_ns() % 10**6}s{i:03d}" for i in range(sessions)]
    users = run_dir / "hub-users.toml"
    _users_file(users, names)
    secret = secrets.token_bytes(32)
    pub = WindowedPublisher("127.0.0.1", broker.port, "bench-hub-sessions", 100)
    encode = msgspec.json.Encoder().encode
    for s in session_ids:
        desc = SessionDescriptor(
            session=s,
            patient=f"p-{s}",
            devices=[f"{s}-d"],
            profile="peer-compat",
            clinicians=names,
            started=time.time(),
        )
        pub.publish(utf8(Topics().session(s)), encode(desc), retain=True)
    pub.flush(10)
    pub.close()
    runs: dict[str, list[dict[str, Any]]] = {"hub": [], "broadcast": []}
    try:
        for _ in range(repeats):
            port = free_port()
            env = {
                "VIGIL_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
                "VIGIL_HUB_TOKEN_SECRET": secret.hex(),
                "VIGIL_HUB_USERS": str(users),
                "PYTHONPATH": str(REPO),
            }
            argv = [sys.executable, "-m", "vigil.cli", "hub", "--port", str(port), "--no-audit"]
            log = run_dir / "hub.log"
            pid = spawn(argv, log, env=env).pid
            try:
                wait_port("127.0.0.1", port, pid=pid, timeout_s=30, log_path=log, what="vigil hub")
                time.sleep(1.0)  # retained sessions reach the hub
                tokens = _tokens(secret.hex().encode(), names)
                url = f"ws://127.0.0.1:{port}/ws"
                runs["hub"].append(
                    _measure(
                        broker,
                        url,
                        tokens,
                        session_ids,
                        rate=rate,
                        seconds=seconds,
                        processes=client_processes,
                    )
                )
            finally:
                stop_pid(pid)
            port = free_port()
            ctx = mp.get_context("spawn")
            server = ctx.Process(target=broadcast_server, args=(broker.port, port))
            server.start()
            try:
                time.sleep(1.5)
                url = f"ws://127.0.0.1:{port}"
                runs["broadcast"].append(
                    _measure(
                        broker,
                        url,
                        [""] * clinicians,
                        session_ids,
                        rate=rate,
                        seconds=seconds,
                        processes=client_processes,
                    )
                )
            finally:
                server.terminate()
                server.join(5)
            print(f"hub: {runs['hub'][-1]} | broadcast: {runs['broadcast'][-1]}", flush=True)
    finally:
        broker.stop()
    med = {k: statistics.median(r["p99_ms"] or float("inf") for r in v) for k, v in runs.items()}
    return {
        "status": "measured",
        "what": f"AlarmEvent publish -> websocket receipt, {clinicians} clinicians x "
        f"{sessions} sessions, {rate:g} events/s for {seconds:g} s",
        "target": {"p99_ms": 10.0, "met": med["hub"] <= 10.0},
        "runs": runs,
        "median": {
            "hub_p50_ms": statistics.median(r["p50_ms"] or float("inf") for r in runs["hub"]),
            "hub_p99_ms": med["hub"],
            "broadcast_p50_ms": statistics.median(r["p50_ms"] for r in runs["broadcast"]),
            "broadcast_p99_ms": med["broadcast"],
        },
        "ratios": {"hub / broadcast p99": round(med["hub"] / med["broadcast"], 2)},
    }
