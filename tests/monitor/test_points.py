from monitor.storage.points import batch_lines, to_ns
from vigil.wire import Reading, ReadingBatch


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
        flags=["cuff_loose", "body_movement"],
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


def test_a_minimal_reading_has_values_seq_and_historical_only() -> None:
    assert batch_lines(_batch(Reading(seq=0, t=1.5, values={"hr": 72.0}))) == [
        (
            "vitals,device=hr-7f3a,gateway=gw-1,kind=hr_strap,session=S-0001 "
            "hr=72.0,seq=0i,historical=false 1500000000"
        )
    ]


def test_timestamps_keep_microseconds_exactly() -> None:
    assert to_ns(1764480000.123456) == 1764480000123456000
    assert to_ns(1764480000.1234564) == 1764480000123456000
