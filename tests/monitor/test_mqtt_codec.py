"""MQTT 5 packets: golden bytes (OASIS MQTT 5.0 figures), stream splitting, malformed input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor import mqtt_codec as codec


def test_connect_golden_bytes() -> None:
    packet = codec.connect(
        "proc-1",
        keepalive_s=15,
        clean_start=False,
        session_expiry_s=604800,
        receive_maximum=1000,
        username="u",
        password="p",
    )
    assert packet == bytes.fromhex(
        "10 21"  # CONNECT, remaining length 33
        "0004 4d515454 05"  # "MQTT", protocol level 5
        "c0 000f"  # username + password, no clean start; keepalive 15 s
        "08 21 03e8 11 00093a80"  # properties: receive maximum 1000, session expiry 7 days
        "0006 70726f632d31"  # client id "proc-1"
        "0001 75 0001 70"  # username "u", password "p"
    )


def test_a_clean_connect_without_credentials_sends_no_session_expiry() -> None:
    packet = codec.connect(
        "c", keepalive_s=0, clean_start=True, session_expiry_s=0, receive_maximum=10
    )
    assert packet == bytes.fromhex("10 11 0004 4d515454 05 02 0000 03 21 000a 0001 63")


def test_publish_puback_subscribe_unsubscribe_golden_bytes() -> None:
    assert codec.publish(b"a/b", b"hi", packet_id=7, qos=1, retain=True) == bytes.fromhex(
        "33 0a 0003 612f62 0007 00 6869"
    )
    assert codec.publish(b"a", b"", packet_id=0, qos=0, retain=False) == bytes.fromhex(
        "30 04 0001 61 00"
    )
    assert codec.puback(0x1234) == bytes.fromhex("40 02 1234")
    assert codec.subscribe(1, ["a/#", "b"], qos=1) == bytes.fromhex(
        "82 0d 0001 00 0003 612f23 01 0001 62 01"
    )
    assert codec.unsubscribe(2, ["a/#"]) == bytes.fromhex("a2 08 0002 00 0003 612f23")


@pytest.mark.parametrize(
    ("n", "encoded"),
    [(0, "00"), (127, "7f"), (128, "8001"), (16383, "ff7f"), (16384, "808001"),
     (268_435_455, "ffffff7f")],
)  # fmt: skip
def test_variable_byte_integers_match_the_standard_table(n: int, encoded: str) -> None:
    assert codec.varint(n) == bytes.fromhex(encoded)


def test_a_variable_byte_integer_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="out of range"):
        codec.varint(268_435_456)


def test_connack_with_receive_maximum_and_session_present() -> None:
    (connack,) = codec.PacketReader().feed(bytes.fromhex("20 06 01 00 03 21 0014"))
    assert connack == codec.Connack(
        session_present=True, reason=0, properties={codec.RECEIVE_MAXIMUM: 20}
    )


def test_a_refusing_connack_carries_its_reason_and_reason_string() -> None:
    (connack,) = codec.PacketReader().feed(bytes.fromhex("20 09 00 87 06 1f 0003 6e6f21"))
    assert connack == codec.Connack(
        session_present=False, reason=0x87, properties={codec.REASON_STRING: "no!"}
    )


def test_inbound_publish_with_properties_and_retain() -> None:
    # QoS 1, retain; properties: message expiry (0x02, 4 bytes) and a user property pair.
    body = bytes.fromhex("0003 612f62 0009 0c 02 0000003c 26 0001 6b 0001 76") + b"{}"
    reader = codec.PacketReader()
    (message,) = reader.feed(bytes([0x33, len(body)]) + body)
    assert message == codec.Inbound(topic="a/b", payload=b"{}", packet_id=9, retain=True)


def test_acks_pings_and_a_server_disconnect() -> None:
    packets = codec.PacketReader().feed(
        bytes.fromhex("40 02 0005 40 03 0006 97 90 04 0002 00 01 b0 03 0003 00 d0 00 e0 01 8b")
    )
    assert packets == [
        codec.Acked(codec.PUBACK, 5, b"\x00"),
        codec.Acked(codec.PUBACK, 6, b"\x97"),
        codec.Acked(codec.SUBACK, 2, b"\x01"),
        codec.Acked(codec.UNSUBACK, 3, b""),
        codec.Signal(codec.PINGRESP),
        codec.Signal(codec.DISCONNECT, 0x8B),
    ]


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=30), st.binary(max_size=300), st.booleans()),
        min_size=1,
        max_size=20,
    ),
    st.lists(st.integers(1, 64), min_size=1, max_size=50),
)
def test_publishes_survive_any_split_of_the_stream(
    messages: list[tuple[str, bytes, bool]], cuts: list[int]
) -> None:
    stream = b"".join(
        codec.publish(topic.encode(), payload, packet_id=i + 1, qos=1, retain=retain)
        for i, (topic, payload, retain) in enumerate(messages)
    )
    reader, got, at = codec.PacketReader(), [], 0
    for cut in cuts * (len(stream) // sum(cuts) + 1):
        got += reader.feed(stream[at : at + cut])
        at += cut
    assert got == [
        codec.Inbound(topic, payload, i + 1, retain)
        for i, (topic, payload, retain) in enumerate(messages)
    ]


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_protocol_error(data: bytes) -> None:
    try:
        packets = codec.PacketReader().feed(data)
    except codec.ProtocolError:
        return
    assert all(
        isinstance(p, codec.Connack | codec.Acked | codec.Inbound | codec.Signal) for p in packets
    )


@pytest.mark.parametrize(
    ("hex_bytes", "why"),
    [
        ("30 ff ff ff ff 7f", "longer than four bytes"),
        ("10 00", "unexpected packet type 1"),
        ("36 03 0001 61", "QoS 3"),
        ("32 04 0002 ff fe", "not UTF-8"),
        ("20 04 00 00 01 99", "unknown property"),
        ("20 03 00 00 05", "beyond the packet"),
        ("32 05 0001 61 0001", "truncated property length"),
    ],
)
def test_malformed_packets_raise_protocol_error(hex_bytes: str, why: str) -> None:
    with pytest.raises(codec.ProtocolError, match=why):
        codec.PacketReader().feed(bytes.fromhex(hex_bytes))
