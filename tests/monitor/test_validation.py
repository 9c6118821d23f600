import msgspec
import pytest

from monitor.validation import ReadingsDecoder, Rejection, dead_letter
from vigil.wire import DeadLetter, Reading, ReadingBatch, Topics

TOPICS = Topics("vigil")
BATCH = ReadingBatch(
    gateway="gw-1",
    session="S-0001",
    device="hr-1",
    kind="hr_strap",
    readings=[Reading(seq=1, t=10.0, values={"hr": 70.0})],
)
GOOD = msgspec.json.encode(BATCH)


def test_a_valid_batch_on_its_own_topic_decodes_whole() -> None:
    assert ReadingsDecoder().decode(TOPICS.readings("S-0001"), GOOD) == BATCH


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (TOPICS.readings("S-0001"), b"\xff\xfe not json", "undecodable"),
        (TOPICS.readings("S-0001"), b'{"v": 1, "gateway": "gw-1"', "undecodable"),
        (TOPICS.readings("S-0001"), b'{"v": 1, "session": "S-0001"}', "schema_invalid"),
        (TOPICS.readings("S-0001"), GOOD.replace(b'"hr":70.0', b'"hr":"high"'), "schema_invalid"),
        (TOPICS.readings("S-0001"), GOOD.replace(b'"v":1', b'"v":2'), "unknown_version"),
        (TOPICS.readings("S-0002"), GOOD, "topic_mismatch"),
        ("vigil/v1/readings/63/S-0001", GOOD, "topic_mismatch"),
    ],
)
def test_each_bad_input_gets_its_reason(topic: str, payload: bytes, reason: str) -> None:
    result = ReadingsDecoder().decode(topic, payload)
    assert isinstance(result, Rejection)
    assert result.reason == reason


def test_a_dead_letter_keeps_text_payloads_as_text_and_binary_as_hex() -> None:
    rejection = Rejection("undecodable", "bad")
    assert dead_letter("a/b", b"\xff\x00", rejection, 5.0) == DeadLetter(
        topic="a/b", reason="undecodable: bad", t=5.0, payload="ff00"
    )
    letter = dead_letter("a/b", b"x" * 5000, rejection, 5.0)
    assert (len(letter.payload), letter.truncated) == (4096, True)
