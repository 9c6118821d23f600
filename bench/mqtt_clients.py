# ruff: noqa: ANN401 - the candidates' callbacks are untyped third-party signatures
"""Which MQTT client should the processor consume with? Receive rate at QoS 1 with late acks.

The processor may acknowledge a reading only after it is durably handled, so what matters is
each client's receive rate when the PUBACK is sent by the application *after* processing, in
groups (one "commit" per event-loop turn, as `monitor.pipeline` does), not on arrival.

Method: for each candidate and mode, a fresh persistent session subscribes at QoS 1 and
disconnects; a raw-socket publisher preloads N wire `ReadingBatch` messages into the broker's
queue for it; then the candidate connects and the time to drain the queue (every message
decoded with msgspec, a trivial threshold check, acknowledged) is measured. Preloading keeps the
publisher's CPU out of the measurement on a 2-core box; the broker still shares the cores.

    uv run python bench/mqtt_clients.py [--messages 60000] [--runs 3] [--inflight 20,1000]

`--inflight` is Mosquitto's `max_inflight_messages` (QoS 1 messages sent to a client and not
yet acknowledged): 1000 in our harness, Mosquitto's default 20 in the peer benchmark's broker.
Candidates: the processor's own link (`monitor.mqtt_consumer`, MQTT 5, one handler call and
one PUBACK write per socket read), gmqtt (MQTT 5, `optimistic_acknowledgement=False`: PUBACK
when the async callback returns), paho with `manual_ack=True` driven by our own asyncio loop,
aiomqtt 2.5.1 with its private paho client switched to manual ack; and, for reference only,
gmqtt acking on arrival.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import socket
import statistics
import struct
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import msgspec

from vigil.services.mosquitto import Mosquitto
from vigil.wire import Reading, ReadingBatch, Topics

HOST = "127.0.0.1"
DECODER = msgspec.json.Decoder(ReadingBatch)


def payloads(count: int, per_message: int) -> list[tuple[str, bytes]]:
    topics = Topics("bench")
    out = []
    seq = 0
    t0 = 1_764_480_000.0
    for i in range(count):
        session = f"S{i % 1000:04d}"
        readings = []
        for _ in range(per_message):
            readings.append(Reading(seq=seq, t=t0 + seq / 1024, values={"hr": 70.0 + seq % 30}))
            seq += 1
        batch = ReadingBatch(
            gateway="gw-1",
            session=session,
            device=f"d{i % 1000}",
            kind="hr_strap",
            readings=readings,
        )
        out.append((topics.readings(session), msgspec.json.encode(batch)))
    return out


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _packet(header: int, body: bytes) -> bytes:
    return bytes([header]) + _remaining_length(len(body)) + body


def _utf8(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def raw_preload(port: int, messages: list[tuple[str, bytes]]) -> None:
    """A minimal MQTT 3.1.1 QoS 1 publisher: coalesced writes, a 1,000-message window."""
    with socket.create_connection((HOST, port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connect = _utf8("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _utf8("preload")
        sock.sendall(_packet(0x10, connect))
        sock.recv(4)
        sent = acked = 0
        buf = b""
        while acked < len(messages):
            chunk = []
            while sent < len(messages) and sent - acked < 1000 and len(chunk) < 200:
                topic, payload = messages[sent]
                mid = sent % 65535 + 1
                chunk.append(_packet(0x32, _utf8(topic) + struct.pack("!H", mid) + payload))
                sent += 1
            if chunk:
                sock.sendall(b"".join(chunk))
            buf += sock.recv(65536)
            acked += len(buf) // 4
            buf = buf[len(buf) // 4 * 4 :]


@dataclasses.dataclass
class Tally:
    expected: int
    messages: int = 0
    readings: int = 0
    alarms: int = 0
    done: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)

    def handle(self, payload: bytes) -> None:
        batch = DECODER.decode(payload)
        for reading in batch.readings:
            if reading.values.get("hr", 0.0) > 120:
                self.alarms += 1
        self.messages += 1
        self.readings += len(batch.readings)
        if self.messages >= self.expected:
            self.done.set()


class GroupCommit:
    """Acks released once per loop turn, as the processor's commit step does."""

    def __init__(self) -> None:
        self._future: asyncio.Future[None] | None = None

    def join(self) -> asyncio.Future[None]:
        if self._future is None:
            loop = asyncio.get_running_loop()
            self._future = loop.create_future()
            loop.call_soon(self._release)
        return self._future

    def _release(self) -> None:
        future, self._future = self._future, None
        if future is not None:
            future.set_result(None)


async def gmqtt_consume(port: int, client_id: str, tally: Tally, *, ack_after: bool) -> None:
    import gmqtt  # noqa: PLC0415 - optional: installed only to measure it

    commit = GroupCommit()

    if ack_after:

        async def on_message(_c: Any, _topic: str, payload: bytes, _qos: int, _p: Any) -> int:
            tally.handle(payload)
            await commit.join()
            return 0

        callback: Callable[..., Any] = on_message
    else:

        def on_message_sync(_c: Any, _topic: str, payload: bytes, _qos: int, _p: Any) -> int:
            tally.handle(payload)
            return 0

        callback = on_message_sync
    client = gmqtt.Client(
        client_id,
        clean_session=False,
        optimistic_acknowledgement=not ack_after,
        session_expiry_interval=3600,
    )
    client.on_message = callback
    await client.connect(HOST, port, version=gmqtt.constants.MQTTv50)
    await tally.done.wait()
    await asyncio.sleep(0.05)
    await client.disconnect()


async def paho_consume(port: int, client_id: str, tally: Tally) -> None:
    import paho.mqtt.client as mqtt  # noqa: PLC0415

    loop = asyncio.get_running_loop()
    pending: list[int] = []
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False, manual_ack=True
    )

    def flush() -> None:
        mids = pending[:]
        pending.clear()
        for mid in mids:
            client.ack(mid, 1)

    def on_message(_c: Any, _u: Any, message: Any) -> None:
        tally.handle(message.payload)
        if not pending:
            loop.call_soon(flush)
        pending.append(message.mid)

    client.on_message = on_message
    client.on_socket_register_write = lambda c, _u, sock: loop.add_writer(sock, c.loop_write)
    client.on_socket_unregister_write = lambda _c, _u, sock: loop.remove_writer(sock)
    client.connect(HOST, port, keepalive=60)
    sock = client.socket()
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    loop.add_reader(sock, client.loop_read)
    await tally.done.wait()
    await asyncio.sleep(0.05)
    loop.remove_reader(sock)
    client.disconnect()


async def aiomqtt2_consume(port: int, client_id: str, tally: Tally) -> None:
    import aiomqtt  # noqa: PLC0415

    async with aiomqtt.Client(
        HOST,
        port,
        identifier=client_id,
        clean_session=False,
        socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
    ) as client:
        paho = client._client  # noqa: SLF001 - aiomqtt 2 does not expose manual ack
        paho.manual_ack_set(True)  # noqa: FBT003 - paho's signature
        queue = client._queue  # noqa: SLF001 - the documented iterator is 2-3x slower
        while not tally.done.is_set():
            message = await queue.get()
            tally.handle(message.payload)
            paho.ack(message.mid, 1)


async def vigil_consume(port: int, client_id: str, tally: Tally) -> None:
    """The processor's own link (monitor.mqtt_consumer): one handler call per socket read."""
    from monitor.mqtt_consumer import Handled, MqttLink  # noqa: PLC0415
    from vigil.mqtt_settings import MqttSettings  # noqa: PLC0415

    commit = GroupCommit()

    def handle(messages: Any) -> Handled:
        for message in messages:
            tally.handle(message.payload)
        return Handled(done=commit.join())

    settings = MqttSettings(host=HOST, port=port)
    async with MqttLink(settings, client_id=client_id, handler=handle, persistent=True):
        await tally.done.wait()
        await asyncio.sleep(0.05)


def subscribe_persistent(port: int, client_id: str, topic: str) -> None:
    import paho.mqtt.client as mqtt  # noqa: PLC0415

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
    if client_id.startswith(("gmqtt", "vigil")):
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        from paho.mqtt.packettypes import PacketTypes  # noqa: PLC0415
        from paho.mqtt.properties import Properties  # noqa: PLC0415

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        client.connect(HOST, port, clean_start=False, properties=props)
    else:
        client.connect(HOST, port)
    client.subscribe(topic, qos=1)
    for _ in range(20):
        client.loop(0.05)
    client.disconnect()
    client.loop(0.05)


CANDIDATES: dict[str, Callable[[int, str, Tally], Coroutine[Any, Any, None]]] = {
    "vigil's own MQTT 5 link, ack after processing": vigil_consume,
    "gmqtt, ack after processing": lambda p, c, t: gmqtt_consume(p, c, t, ack_after=True),
    "paho, manual ack, own loop": paho_consume,
    "aiomqtt 2.5.1, manual ack via private paho": aiomqtt2_consume,
    "gmqtt, ack on arrival (reference, loses on crash)": lambda p, c, t: gmqtt_consume(
        p, c, t, ack_after=False
    ),
}


def measure(port: int, name: str, messages: list[tuple[str, bytes]]) -> tuple[float, float]:
    # MQTT 5 candidates need a session that outlives the subscriber (session expiry).
    prefix = next((p for p in ("gmqtt", "vigil") if name.startswith(p)), "other")
    client_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    asyncio.run(_subscribe(port, client_id))
    raw_preload(port, messages)

    async def consume() -> float:
        tally = Tally(expected=len(messages))
        start = time.perf_counter()
        task = asyncio.create_task(CANDIDATES[name](port, client_id, tally))
        await asyncio.wait_for(tally.done.wait(), 300)
        elapsed = time.perf_counter() - start
        await asyncio.wait_for(task, 30)
        return tally.readings / elapsed

    readings_per_s = asyncio.run(consume())
    per_message = len(DECODER.decode(messages[0][1]).readings)
    return readings_per_s / per_message, readings_per_s


async def _subscribe(port: int, client_id: str) -> None:
    await asyncio.get_running_loop().run_in_executor(
        None, subscribe_persistent, port, client_id, Topics("bench").readings_filter()
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--inflight", default="20,1000")
    parser.add_argument("--only", default="", help="substring of the candidates to run")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    results = []
    for inflight in (int(x) for x in args.inflight.split(",")):
        for per_message in (1, 10):
            count = args.messages if per_message == 1 else args.messages // 2
            messages = payloads(count, per_message)
            for name in CANDIDATES:
                if args.only not in name:
                    continue
                # A broker per candidate: sessions left by earlier candidates would grow the
                # persistence file the broker rewrites every second and slow the later ones.
                with tempfile.TemporaryDirectory() as tmp:
                    broker = Mosquitto(Path(tmp))
                    broker.config = dataclasses.replace(
                        broker.config, max_inflight_messages=inflight
                    )
                    broker.start()
                    try:
                        runs = [measure(broker.port, name, messages) for _ in range(args.runs)]
                    finally:
                        broker.stop()
                row = {
                    "client": name,
                    "inflight": inflight,
                    "readings_per_msg": per_message,
                    "msgs_per_s": round(statistics.median(r[0] for r in runs)),
                    "readings_per_s": round(statistics.median(r[1] for r in runs)),
                    "runs_msgs_per_s": [round(r[0]) for r in runs],
                }
                results.append(row)
                print(json.dumps(row), flush=True)
    print("\n| client | broker inflight | readings/msg | msgs/s | readings/s |")
    print("|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['client']} | {r['inflight']} | {r['readings_per_msg']} | "
            f"{r['msgs_per_s']:,} | {r['readings_per_s']:,} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
