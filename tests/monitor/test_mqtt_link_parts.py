"""How a socket read reaches the handler and how its PUBACKs leave: whole below
`SPLIT_FROM` messages, in two halves from there, acknowledgements always in arrival order.

No broker: the link's transport is a recorder (the wire behaviour is covered against the real
Mosquitto in test_mqtt_consumer.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from monitor import mqtt_codec as codec
from monitor.mqtt_consumer import SPLIT_FROM, Handled, MqttLink
from vigil.mqtt_settings import MqttSettings


class _Transport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return False


class _Handler:
    def __init__(self, gates: list[asyncio.Future[None] | None] | None = None) -> None:
        self.parts: list[list[int]] = []
        self.gates = gates or []

    def __call__(self, messages: Sequence[codec.Inbound]) -> Handled:
        self.parts.append([m.packet_id for m in messages])
        gate = self.gates[len(self.parts) - 1] if len(self.parts) <= len(self.gates) else None
        return Handled(done=gate)


def _link(handler: _Handler) -> tuple[MqttLink, _Transport]:
    link = MqttLink(
        MqttSettings(host="127.0.0.1", port=1), client_id="t", handler=handler, persistent=False
    )
    transport = _Transport()
    link._transport = transport  # type: ignore[assignment]
    return link, transport


def _read(n: int) -> list[codec.Packet]:
    return [codec.Inbound("vigil/v1/readings/0/s", b"{}", i, False) for i in range(1, n + 1)]


def _acked(writes: list[bytes]) -> list[list[int]]:
    return [[int.from_bytes(w[i + 2 : i + 4]) for i in range(0, len(w), 4)] for w in writes]


async def test_a_small_read_is_one_part_with_one_write() -> None:
    handler = _Handler()
    link, transport = _link(handler)
    link.on_packets(_read(SPLIT_FROM - 1))
    assert handler.parts == [list(range(1, SPLIT_FROM))]
    assert _acked(transport.writes) == [list(range(1, SPLIT_FROM))]


async def test_a_large_read_is_handled_and_acknowledged_in_two_halves() -> None:
    handler = _Handler()
    link, transport = _link(handler)
    link.on_packets(_read(21))
    assert handler.parts == [list(range(1, 12)), list(range(12, 22))]
    # The first half's PUBACKs leave before the second half is handled.
    assert _acked(transport.writes) == [list(range(1, 12)), list(range(12, 22))]
    assert link.handling == 0


async def test_a_second_half_done_first_still_waits_for_the_first() -> None:
    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    handler = _Handler(gates=[gate, None])
    link, transport = _link(handler)
    link.on_packets(_read(10))
    assert transport.writes == []
    assert link.handling == 10
    gate.set_result(None)
    await asyncio.sleep(0)  # the gate's callback
    await asyncio.sleep(0)  # the flush it schedules
    assert [i for w in _acked(transport.writes) for i in w] == list(range(1, 11))
    assert link.handling == 0
