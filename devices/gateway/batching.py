"""Outbox rows as MQTT messages: grouped per device, in order, late ones marked historical.

Pure. A reading is historical when it is published more than `lateness_s` after the gateway
received it (replayed after a broker outage or a restart) or when the device said it came
from its storage: the processor stores it but does not let it drive live alarms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import msgspec

from devices.gateway.outbox import OutboxRow
from vigil.wire import DeviceKind, ReadingBatch, Topics

_encoder = msgspec.json.Encoder()


@dataclass(frozen=True, slots=True)
class OutgoingBatch:
    topic: str
    payload: bytes
    row_ids: tuple[int, ...]


def compose(  # noqa: PLR0913 - keyword-only facts of one composition
    rows: list[OutboxRow],
    *,
    gateway: str,
    topics: Topics,
    now: float,
    lateness_s: float,
    max_per_batch: int,
) -> list[OutgoingBatch]:
    """Rows of one device share a message (up to `max_per_batch`), in their commit order.

    Devices interleave in the outbox; grouping per device across the window keeps each
    device's order, which is the only order that matters (sequence numbers are per device).
    """
    groups: dict[tuple[str, str], list[OutboxRow]] = {}
    for row in rows:
        groups.setdefault((row.device, row.session), []).append(row)
    out: list[OutgoingBatch] = []
    for group in groups.values():
        for start in range(0, len(group), max_per_batch):
            chunk = group[start : start + max_per_batch]
            out.append(
                _message(chunk, gateway=gateway, topics=topics, now=now, lateness_s=lateness_s)
            )
    return out


def _message(
    rows: list[OutboxRow], *, gateway: str, topics: Topics, now: float, lateness_s: float
) -> OutgoingBatch:
    first = rows[0]
    readings = [
        r.reading
        if r.reading.historical or now - r.reading.t <= lateness_s
        else msgspec.structs.replace(r.reading, historical=True)
        for r in rows
    ]
    batch = ReadingBatch(
        gateway=gateway,
        session=first.session,
        device=first.device,
        kind=cast("DeviceKind", first.kind),  # written from a validated DeviceKind
        readings=readings,
    )
    return OutgoingBatch(
        topic=topics.readings(first.session),
        payload=_encoder.encode(batch),
        row_ids=tuple(r.id for r in rows),
    )
