"""Where MQTT payloads become wire objects or a rejection with a reason. Pure: no I/O.

Every rejection names one reason from `REASONS`; the processor dead-letters the payload with
it, counts it and acknowledges the message: bad input never crashes the processor and is never
dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Generic, Literal, TypeVar

import msgspec

from vigil.wire import DeadLetter, ReadingBatch, shard_of

Reason = Literal[
    "undecodable",  # not JSON (or not UTF-8)
    "schema_invalid",  # JSON, but not the payload type of its topic
    "unknown_version",  # a wire version this processor does not speak
    "topic_mismatch",  # topic names another session, or a shard that is not the session's
]
REASONS: Final[tuple[Reason, ...]] = (
    "undecodable",
    "schema_invalid",
    "unknown_version",
    "topic_mismatch",
)
DEAD_LETTER_PAYLOAD_MAX = 4096
_MAX_REMEMBERED_SESSIONS = 100_000


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: Reason
    detail: str


class _Versioned(msgspec.Struct):
    v: object = None


_VERSION = msgspec.json.Decoder(_Versioned)


def _schema_rejection(payload: bytes, err: msgspec.ValidationError) -> Rejection:
    try:
        version = _VERSION.decode(payload).v
    except msgspec.DecodeError:
        version = None
    if version is not None and version != 1:
        return Rejection("unknown_version", f"wire version {version!r}; this processor speaks 1")
    return Rejection("schema_invalid", str(err))


T = TypeVar("T", bound=msgspec.Struct)


class PayloadDecoder(Generic[T]):
    """Decodes one payload type; a failure becomes a `Rejection`, never an exception."""

    def __init__(self, kind: type[T]) -> None:
        self._decoder = msgspec.json.Decoder(kind)

    def decode(self, payload: bytes) -> T | Rejection:
        try:
            return self._decoder.decode(payload)
        except msgspec.ValidationError as err:
            return _schema_rejection(payload, err)
        except msgspec.DecodeError as err:
            return Rejection("undecodable", str(err))


class ReadingsDecoder:
    """A readings message: the batch, checked against the session and shard of its topic."""

    def __init__(self) -> None:
        self._payloads = PayloadDecoder(ReadingBatch)
        # session -> the topic tail it must arrive on ("/readings/{shard}/{session}"): the
        # crc32 and formatting once per session, not per message.
        self._tails: dict[str, str] = {}

    def decode(self, topic: str, payload: bytes) -> ReadingBatch | Rejection:
        batch = self._payloads.decode(payload)
        if isinstance(batch, Rejection):
            return batch
        tail = self._tails.get(batch.session)
        if tail is None:
            if len(self._tails) >= _MAX_REMEMBERED_SESSIONS:
                self._tails.clear()
            tail = self._tails[batch.session] = (
                f"/readings/{shard_of(batch.session):02d}/{batch.session}"
            )
        if topic.endswith(tail) and topic.count("/readings/") == 1:
            return batch
        # topic: {root}/v1/readings/{shard:02d}/{session}
        _, _, rest = topic.rpartition("/readings/")
        shard, _, session = rest.partition("/")
        return Rejection(
            "topic_mismatch",
            f"topic names session {session!r} shard {shard!r}; "
            f"payload is session {batch.session!r} (shard {shard_of(batch.session):02d})",
        )


def dead_letter(topic: str, payload: bytes, rejection: Rejection, t: float) -> DeadLetter:
    """The dead-letter record: the payload as text when it is UTF-8, else hex; at most 4 KiB."""
    try:
        text = payload.decode()
    except UnicodeDecodeError:
        text = payload.hex()
    truncated = len(text) > DEAD_LETTER_PAYLOAD_MAX
    return DeadLetter(
        topic=topic,
        reason=f"{rejection.reason}: {rejection.detail}"[:1000],
        t=t,
        payload=text[:DEAD_LETTER_PAYLOAD_MAX],
        truncated=truncated,
    )
