import functools
import re

from hypothesis import given
from hypothesis import strategies as st

from monitor.columns import columns_of
from monitor.storage.points import (
    alarm_event_line,
    batch_lines,
    column_lines,
    reading_line,
    to_ns,
)
from vigil.wire import AlarmEvent, Reading, ReadingBatch


def _batch(*readings: Reading) -> ReadingBatch:
    return ReadingBatch(
        gateway="gw-1", session="S-0001", device="hr-7f3a", kind="hr_strap", readings=list(readings)
    )


def test_a_full_reading_becomes_one_line_with_every_field() -> None:
    reading = Reading(
        seq=41,
        t=1764480000.25,
        t_dev=1764479999.0,
        values={"sbp": 141.0, "dbp": 92.5},
        contact=False,
        rr_ms=[812.5, 790.0],
        flags=("cuff_loose", "body_movement"),
        historical=True,
    )
    assert batch_lines(_batch(reading)) == [
        (
            "vitals,device=hr-7f3a,gateway=gw-1,kind=hr_strap,session=S-0001 "
            'sbp=141.0,dbp=92.5,seq=41i,contact=false,flags="cuff_loose,body_movement",'
            'rr_ms="812.5,790.0",'
            "t_dev=1764479999.0,historical=true 1764480000250000000"
        )
    ]


def test_a_minimal_reading_has_values_and_seq_only() -> None:
    assert batch_lines(_batch(Reading(seq=0, t=1.5, values={"hr": 72.0}))) == [
        (
            "vitals,device=hr-7f3a,gateway=gw-1,kind=hr_strap,session=S-0001 "
            "hr=72.0,seq=0i 1500000000"
        )
    ]


def test_timestamps_keep_microseconds_exactly() -> None:
    assert to_ns(1764480000.123456) == 1764480000123456000
    assert to_ns(1764480000.1234564) == 1764480000123456000


def test_a_one_value_reading_with_contact_takes_the_short_path_to_the_same_line() -> None:
    assert batch_lines(_batch(Reading(seq=3, t=2.0, values={"spo2": 97.0}, contact=True))) == [
        (
            "vitals,device=hr-7f3a,gateway=gw-1,kind=hr_strap,session=S-0001 "
            "spo2=97.0,seq=3i,contact=true 2000000000"
        )
    ]


_readings = st.builds(
    Reading,
    seq=st.integers(0, 2**40),
    t=st.floats(1.0, 4e9),
    values=st.dictionaries(
        st.sampled_from(["hr", "spo2", "sbp", "dbp", "pr"]), st.floats(0, 300), min_size=1
    ),
    contact=st.none() | st.booleans(),
    flags=st.lists(st.sampled_from(["cuff_loose", "body_movement", "plx_invalid"]), max_size=2),
    rr_ms=st.none() | st.lists(st.floats(200, 2000), min_size=1, max_size=3),
    t_dev=st.none() | st.floats(1.0, 4e9),
    historical=st.booleans(),
)


_plain = st.builds(
    Reading,
    seq=st.integers(0, 2**40),
    t=st.floats(1.0, 4e9),
    values=st.dictionaries(
        st.sampled_from(["hr", "spo2", "cuff", "pai"]), st.floats(0, 300), min_size=1, max_size=1
    ),
    contact=st.none() | st.just(True),
)


@given(st.lists(_readings, min_size=1, max_size=6))
def test_every_reading_gets_the_general_line_whichever_path_writes_it(
    readings: list[Reading],
) -> None:
    batch = _batch(*readings)
    series = "vitals,device=hr-7f3a,gateway=gw-1,kind=hr_strap,session=S-0001"
    assert batch_lines(batch) == [reading_line(series, r) for r in readings]
    columns = columns_of(readings)
    if columns is not None:
        assert column_lines(batch, columns) == batch_lines(batch)


@given(st.lists(_plain, min_size=1, max_size=10))
def test_plain_readings_get_the_same_bytes_from_their_columns(readings: list[Reading]) -> None:
    batch = _batch(*readings)
    columns = columns_of(readings)
    assert columns is not None
    assert column_lines(batch, columns) == batch_lines(batch)


def _split(text: str, separator: str, *, quotes: bool = False) -> list[str]:
    """`text` cut at each `separator` that is not escaped (nor, with `quotes`, inside a quoted
    string); the parts keep their escapes."""
    parts, start, quoted, i = [], 0, False, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"' and quotes:
            quoted = not quoted
        elif text[i] == separator and not quoted:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    return [*parts, text[start:]]


def _parse_alarm_line(line: str) -> tuple[dict[str, str], dict[str, str], str]:
    """(tags, fields, time) of one line of line protocol; string fields without their quotes.
    Tag escapes (`\\,` `\\=` `\\ ` `\\\\`) and string escapes (`\\"` `\\\\`) are undone."""
    series = _split(line, " ")[0]  # quotes are literal in tags
    fields, time = _split(line[len(series) + 1 :], " ", quotes=True)
    measurement, *tags = _split(series, ",")
    assert measurement == "alarm_events"
    unescape_tag = functools.partial(re.sub, r"\\(.)", r"\1")
    parsed_tags = dict(tuple(map(unescape_tag, _split(tag, "="))) for tag in tags)
    parsed_fields = {}
    for field in _split(fields, ",", quotes=True):
        name, value = field.split("=", 1)
        if value.startswith('"'):
            value = re.sub(r'\\(["\\])', r"\1", value[1:-1])
        parsed_fields[name] = value
    return parsed_tags, parsed_fields, time


_tag_text = st.text(st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=12)


_alarm_events = st.builds(
    AlarmEvent,
    event_id=st.just("e"),
    session=_tag_text,
    alarm_id=st.just("S:r:1"),
    kind=st.just("raised"),
    priority=st.just("high"),
    rule=_tag_text,
    message=st.text(max_size=40),
    t=st.just(1.5),
    subject=st.none() | _tag_text,
    device=st.none() | _tag_text,
    by=st.none() | st.text(max_size=12),
)


@given(_alarm_events)
def test_an_alarm_event_line_gives_back_its_tags_and_strings(event: AlarmEvent) -> None:
    tags, fields, time = _parse_alarm_line(alarm_event_line(event))
    present = {"session": event.session, "rule": event.rule, "subject": event.subject}
    present |= {"device": event.device}
    assert tags == {"kind": "raised", "priority": "high"} | {
        name: value
        for name, value in present.items()
        if value  # empty: left out
    }
    # Line protocol has no newline escape: a newline is stored as the two characters \\n.
    assert fields["message"] == event.message.replace("\n", "\\n")
    assert fields.get("by") == (None if event.by is None else event.by.replace("\n", "\\n"))
    assert time == "1500000000"
