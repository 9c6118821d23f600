"""The wire contract: what each payload accepts, what it rejects, and that the published JSON
Schemas say the same as the decoder."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.wire import FLAGS, METRICS, Reading, ReadingBatch, SessionPending
from vigil.wire.schemas import PAYLOAD_TYPES, SCHEMA_DIR, schema_text, stale

GOOD = {
    "v": 1,
    "gateway": "gw-1",
    "session": "S-0001",
    "device": "ox-91c2",
    "kind": "pulse_oximeter",
    "readings": [
        {
            "seq": 7,
            "t": 1764480000.5,
            "values": {"spo2": 97.0, "pr": 64.0},
            "flags": ["plx_validated"],
        }
    ],
}


def _with(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def _with_reading(**changes: object) -> bytes:
    reading = {**GOOD["readings"][0], **changes}  # type: ignore[index]
    return json.dumps({**GOOD, "readings": [reading]}).encode()


def test_a_good_batch_decodes_to_the_whole_object() -> None:
    assert msgspec.json.decode(json.dumps(GOOD).encode(), type=ReadingBatch) == ReadingBatch(
        gateway="gw-1",
        session="S-0001",
        device="ox-91c2",
        kind="pulse_oximeter",
        readings=[
            Reading(
                seq=7, t=1764480000.5, values={"spo2": 97.0, "pr": 64.0}, flags=("plx_validated",)
            )
        ],
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "Input data was truncated"),
        (b"not json", "malformed"),
        (_with(v=2), "Invalid enum value 2 - at `$.v`"),
        (_with(session="Jane Doe"), "at `$.session`"),
        (_with(session="a/b"), "at `$.session`"),
        (_with(session="#"), "at `$.session`"),
        (_with(session="S-0001\n"), "at `$.session`"),  # Python's `$` would accept it
        (_with(device=""), "at `$.device`"),
        (_with(gateway="g" * 65), "at `$.gateway`"),
        (_with(gateway=7), "Expected `str`, got `int` - at `$.gateway`"),
        (_with(kind="toaster"), "Invalid enum value 'toaster' - at `$.kind`"),
        (_with(readings=[]), "length >= 1"),
        (_with(extra=1), "unknown field `extra`"),
        (_with_reading(seq=-1), "Expected `int` >= 0 - at `$.readings[0].seq`"),
        (_with_reading(values={"glucose": 5.0}), "Invalid enum value 'glucose'"),
        (_with_reading(values={"hr": "fast"}), "Expected `float`, got `str`"),
        (_with_reading(flags=["on_fire"]), "Invalid enum value 'on_fire'"),
        (_with_reading(t=-5), "Expected `float` >= 0"),
        (_with_reading(rr_ms=[0]), "Expected `float` > 0"),
        (b'{"v":1,"readings":[{"seq":1,"t":1,"values":{"hr":NaN}}]}', "malformed"),
    ],
)
def test_each_bad_payload_gets_a_decode_error_that_says_where(payload: bytes, reason: str) -> None:
    with pytest.raises(msgspec.DecodeError, match=None) as info:
        msgspec.json.decode(payload, type=ReadingBatch)
    assert reason in str(info.value)


def test_committed_schemas_are_what_the_types_generate() -> None:
    assert stale() == []
    assert sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json")) == sorted(
        f"{name}.schema.json" for name in PAYLOAD_TYPES
    )


def _schema(name: str) -> dict[str, object]:
    return json.loads(schema_text(name))  # type: ignore[no-any-return]


ids = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.-]{0,20}\Z")
readings = st.builds(
    Reading,
    seq=st.integers(0, 2**40),
    t=st.floats(0, 4e9),
    values=st.dictionaries(st.sampled_from(sorted(METRICS)), st.floats(-1e6, 1e6), min_size=1),
    t_dev=st.none() | st.floats(0, 4e9),
    rr_ms=st.none() | st.lists(st.floats(1, 3000), min_size=1, max_size=4),
    contact=st.none() | st.booleans(),
    flags=st.lists(st.sampled_from(sorted(FLAGS)), max_size=3).map(tuple),
    historical=st.booleans(),
)
batches = st.builds(
    ReadingBatch,
    gateway=ids,
    session=ids,
    device=ids,
    kind=st.sampled_from(["hr_strap", "bp_cuff", "pulse_oximeter"]),
    readings=st.lists(readings, min_size=1, max_size=5),
)


@given(batches)
def test_every_encodable_batch_validates_against_the_published_schema(batch: ReadingBatch) -> None:
    raw = msgspec.json.encode(batch)
    jsonschema.validate(json.loads(raw), _schema("reading-batch"))
    assert msgspec.json.decode(raw, type=ReadingBatch) == batch


@given(
    st.dictionaries(
        st.sampled_from([*GOOD, "extra"]),
        st.none()
        | st.integers()
        | st.text(max_size=5)
        | st.sampled_from(["gw-1", "a\n", "x" * 65]),
    )
)
def test_schema_and_decoder_agree_on_arbitrary_objects(obj: dict[str, object]) -> None:
    schema_ok = jsonschema.Draft202012Validator(_schema("reading-batch")).is_valid(obj)
    try:
        msgspec.json.decode(json.dumps(obj).encode(), type=ReadingBatch)
    except msgspec.ValidationError:
        decoder_ok = False
    else:
        decoder_ok = True
    assert schema_ok == decoder_ok


def test_schema_dir_is_inside_the_repository() -> None:
    assert Path(__file__).resolve().parents[2] / "docs" / "schemas" == SCHEMA_DIR


alarm_keys = st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,30}\Z")


@given(
    ids,
    st.dictionaries(alarm_keys | st.sampled_from(["a/b", "", "x y", "#"]), st.floats(0, 4e9)),
)
def test_pending_delays_and_their_schema_agree(session: str, pending: dict[str, float]) -> None:
    raw = msgspec.json.encode({"v": 1, "session": session, "pending": pending, "t": 1.0})
    schema_ok = jsonschema.Draft202012Validator(_schema("session-pending")).is_valid(
        json.loads(raw)
    )
    try:
        decoded = msgspec.json.decode(raw, type=SessionPending)
    except msgspec.ValidationError:
        assert not schema_ok
        assert set(pending) & {"a/b", "", "x y", "#"}
    else:
        assert schema_ok
        assert decoded.pending == pending
