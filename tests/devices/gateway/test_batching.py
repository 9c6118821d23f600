import msgspec

from devices.gateway.batching import OutgoingBatch, compose
from devices.gateway.outbox import OutboxRow
from vigil.wire import Reading, ReadingBatch, Topics


def _row(row_id: int, device: str, seq: int, t: float, *, historical: bool = False) -> OutboxRow:
    return OutboxRow(
        id=row_id,
        device=device,
        session="S-1",
        kind="hr_strap",
        reading=Reading(seq=seq, t=t, values={"hr": 70.0}, historical=historical),
    )


def _decode(batch: OutgoingBatch) -> ReadingBatch:
    return msgspec.json.decode(batch.payload, type=ReadingBatch)


def test_rows_are_grouped_per_device_in_order_and_split_at_the_batch_size() -> None:
    rows = [_row(1, "a", 0, 100), _row(2, "b", 0, 100), _row(3, "a", 1, 100), _row(4, "a", 2, 100)]
    out = compose(rows, gateway="gw", topics=Topics("v"), now=100, lateness_s=10, max_per_batch=2)
    assert [b.row_ids for b in out] == [(1, 3), (4,), (2,)]
    assert [[r.seq for r in _decode(b).readings] for b in out] == [[0, 1], [2], [0]]
    assert {b.topic for b in out} == {Topics("v").readings("S-1")}
    first = _decode(out[0])
    assert (first.gateway, first.session, first.device, first.kind) == (
        "gw",
        "S-1",
        "a",
        "hr_strap",
    )


def test_late_readings_are_marked_historical_and_fresh_ones_are_not() -> None:
    rows = [_row(1, "a", 0, 100.0), _row(2, "a", 1, 110.0), _row(3, "a", 2, 111.0, historical=True)]
    out = compose(rows, gateway="gw", topics=Topics(), now=120.0, lateness_s=10, max_per_batch=50)
    assert [r.historical for r in _decode(out[0]).readings] == [True, False, True]


def test_nothing_pending_is_no_message() -> None:
    assert compose([], gateway="gw", topics=Topics(), now=0, lateness_s=10, max_per_batch=50) == []
