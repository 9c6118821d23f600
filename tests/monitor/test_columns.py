"""A readings message as columns: only when every reading is plain."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.columns import Columns, columns_of
from vigil.wire import Reading


def _r(seq: int, **changes: Any) -> Reading:
    fields: dict[str, Any] = {"seq": seq, "t": 100.0 + seq, "values": {"hr": 60.0 + seq}}
    return Reading(**{**fields, **changes})


def test_plain_readings_become_columns_in_order() -> None:
    readings = [_r(1), _r(2, contact=True), _r(3, values={"cuff": 80.0})]
    assert columns_of(readings) == Columns(
        seqs=[1, 2, 3],
        times=[101.0, 102.0, 103.0],
        metrics=["hr", "hr", "cuff"],
        values=[61.0, 62.0, 80.0],
        contacts=[None, True, None],
    )


@pytest.mark.parametrize(
    "odd",
    [
        _r(2, values={"sbp": 120.0, "dbp": 80.0}),
        _r(2, flags=("body_movement",)),
        _r(2, rr_ms=[800.0]),
        _r(2, t_dev=5.0),
        _r(2, historical=True),
        _r(2, contact=False),
    ],
    ids=["two values", "flags", "rr", "device clock", "historical", "contact lost"],
)
def test_one_reading_that_is_not_plain_keeps_the_whole_message_on_the_reading_paths(
    odd: Reading,
) -> None:
    assert columns_of([_r(1), odd, _r(3)]) is None
