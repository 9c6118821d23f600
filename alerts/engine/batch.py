"""The fast path: evaluate many flattened readings at once with the scalar path's results.

A row is one metric value of one reading. Most rows change nothing but the metric's
last-seen time, its latest value and its rate windows: the value is inside every threshold
(and, once the baseline is fixed, rise) rule's bounds, and the session's trackers for that
metric are idle. Numpy applies those changes for all such rows at once (the rate windows take
their values in row order). Every other row goes through `Session.on_row` in row order,
exactly as the scalar path would. A row takes the scalar path when:

* it is not quiet itself: flagged, outside the quiet bounds, or its (session, metric) is
  busy (a tracker pending or active, a stale alarm to clear, baseline collection before the
  dose, a gate tracker in progress), or
* another row of the same (session, metric) in the batch is not quiet (so every row after
  a state change sees the new state), or any row of the same session is flagged (gate
  trackers span metrics), or
* its (session, metric) has rate rules and the group's lowest or highest value could reach a
  rule's limit against the highest (lowest) value the window could then hold.

So calm rows are exactly those whose scalar evaluation would emit nothing and change nothing
else, and the events are identical, in order.

Numpy costs a few microseconds per call whatever the size, so a batch smaller than
`SMALL_BATCH_ROWS` is cheaper row by row: it goes through `Session.on_row` entirely.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from alerts.engine.compiled import flag_bits
from alerts.engine.events import AlarmEvent
from alerts.engine.inputs import Reading
from alerts.engine.slot_table import METRIC_COUNT
from alerts.profiles import METRIC_CODES, Metric

if TYPE_CHECKING:
    from alerts.engine.engine import AlarmEngine

Ints = npt.NDArray[np.intp]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# Measured on the peer workload (docs/alarms.md): below ~64 rows the vectorised path's fixed
# cost per batch exceeds what it saves.
SMALL_BATCH_ROWS = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class ReadingBatch:
    """Flattened readings as columns; row order is arrival order.

    `session_index` and `device_index` point into `sessions` and `devices`; `metric_code`
    is `alerts.profiles.METRIC_CODES[metric]`; `flags` is the quality bitmask of
    `flag_bits(contact, flags)`.
    """

    sessions: tuple[str, ...]
    devices: tuple[str, ...]
    session_index: npt.NDArray[np.intp]
    device_index: npt.NDArray[np.intp]
    metric_code: npt.NDArray[np.intp]
    value: npt.NDArray[np.float64]
    t: npt.NDArray[np.float64]
    seq: npt.NDArray[np.int64]
    flags: npt.NDArray[np.int64]
    historical: npt.NDArray[np.bool_]

    def __post_init__(self) -> None:
        n = len(self.value)
        columns = (
            self.session_index,
            self.device_index,
            self.metric_code,
            self.t,
            self.seq,
            self.flags,
            self.historical,
        )
        if any(column.shape != (n,) for column in columns):
            msg = "every column of a ReadingBatch must be one-dimensional and of equal length"
            raise ValueError(msg)

    def __len__(self) -> int:
        return len(self.value)

    @classmethod
    def from_readings(cls, readings: Iterable[Reading]) -> "ReadingBatch":
        builder = BatchBuilder()
        for reading in readings:
            builder.add_reading(reading)
        return builder.build()


@dataclass(slots=True)
class BatchBuilder:
    """Collects rows for a `ReadingBatch` (the processor's side of the fast path)."""

    _sessions: dict[str, int] = field(default_factory=dict)
    _devices: dict[str, int] = field(default_factory=dict)
    _session_index: list[int] = field(default_factory=list)
    _device_index: list[int] = field(default_factory=list)
    _metric_code: list[int] = field(default_factory=list)
    _value: list[float] = field(default_factory=list)
    _t: list[float] = field(default_factory=list)
    _seq: list[int] = field(default_factory=list)
    _flags: list[int] = field(default_factory=list)
    _historical: list[bool] = field(default_factory=list)

    def add(  # noqa: PLR0913  # one row has this many columns
        self,
        *,
        session_id: str,
        device_id: str,
        metric: Metric,
        value: float,
        t: float,
        seq: int,
        flags: int = 0,
        historical: bool = False,
    ) -> None:
        self._session_index.append(self._sessions.setdefault(session_id, len(self._sessions)))
        self._device_index.append(self._devices.setdefault(device_id, len(self._devices)))
        self._metric_code.append(METRIC_CODES[metric])
        self._value.append(value)
        self._t.append(t)
        self._seq.append(seq)
        self._flags.append(flags)
        self._historical.append(historical)

    def add_rows(
        self, session_id: str, device_id: str, rows: Sequence[tuple[int, float, float, int, int]]
    ) -> None:
        """Rows of one device, each (metric code, value, t, seq, flags)."""
        if rows:
            codes, values, ts, seqs, flags = zip(*rows, strict=True)
            self.add_columns(
                session_id, device_id, codes=codes, values=values, ts=ts, seqs=seqs, flags=flags
            )

    def add_columns(  # noqa: PLR0913  # the columns of one device's rows
        self,
        session_id: str,
        device_id: str,
        *,
        codes: Sequence[int],
        values: Sequence[float],
        ts: Sequence[float],
        seqs: Sequence[int],
        flags: Sequence[int] | None = None,
    ) -> None:
        """Rows of one device as columns of equal length (`flags` None: all unflagged): the
        processor's bulk path, a column extend per message instead of a call per row."""
        n = len(codes)
        if not n:
            return
        session = self._sessions.setdefault(session_id, len(self._sessions))
        device = self._devices.setdefault(device_id, len(self._devices))
        self._session_index.extend([session] * n)
        self._device_index.extend([device] * n)
        self._metric_code.extend(codes)
        self._value.extend(values)
        self._t.extend(ts)
        self._seq.extend(seqs)
        self._flags.extend([0] * n if flags is None else flags)
        self._historical.extend([False] * n)

    def add_reading(self, reading: Reading) -> None:
        """Every metric of a reading, in its order (the scalar path's order)."""
        bits = flag_bits(reading.contact, reading.flags)
        for metric, value in reading.values.items():
            if metric in METRIC_CODES:
                self.add(
                    session_id=reading.session_id,
                    device_id=reading.device_id,
                    metric=metric,
                    value=value,
                    t=reading.t,
                    seq=reading.seq,
                    flags=bits,
                    historical=reading.historical,
                )

    def __len__(self) -> int:
        return len(self._value)

    def evaluate_rows(self, engine: "AlarmEngine") -> tuple[AlarmEvent, ...]:
        """The rows through the scalar path straight from the lists: a batch too small to
        vectorise skips building its numpy columns (eight arrays, ~20 us, per message)."""
        return _evaluate_row_lists(
            engine,
            tuple(self._sessions),
            tuple(self._devices),
            zip(
                self._session_index,
                self._device_index,
                self._metric_code,
                self._value,
                self._t,
                self._seq,
                self._flags,
                self._historical,
                strict=True,
            ),
        )

    def build(self) -> ReadingBatch:
        return ReadingBatch(
            sessions=tuple(self._sessions),
            devices=tuple(self._devices),
            session_index=np.array(self._session_index, dtype=np.intp),
            device_index=np.array(self._device_index, dtype=np.intp),
            metric_code=np.array(self._metric_code, dtype=np.intp),
            value=np.array(self._value, dtype=np.float64),
            t=np.array(self._t, dtype=np.float64),
            seq=np.array(self._seq, dtype=np.int64),
            flags=np.array(self._flags, dtype=np.int64),
            historical=np.array(self._historical, dtype=bool),
        )


def evaluate_rows(engine: "AlarmEngine", batch: ReadingBatch) -> tuple[AlarmEvent, ...]:
    """Row by row through `Session.on_row`: the scalar path on batch columns."""
    return _evaluate_row_lists(
        engine,
        batch.sessions,
        batch.devices,
        zip(
            batch.session_index.tolist(),
            batch.device_index.tolist(),
            batch.metric_code.tolist(),
            batch.value.tolist(),
            batch.t.tolist(),
            batch.seq.tolist(),
            batch.flags.tolist(),
            batch.historical.tolist(),
            strict=True,
        ),
    )


_Row = tuple[int, int, int, float, float, int, int, bool]  # one row of the columns, in order


def _evaluate_row_lists(
    engine: "AlarmEngine",
    sessions: Sequence[str],
    devices: Sequence[str],
    rows: Iterable[_Row],
) -> tuple[AlarmEvent, ...]:
    out: list[AlarmEvent] = []
    touched: set[int] = set()
    for session_index, device_index, code, value, t, seq, bits, historical in rows:
        if historical:
            continue
        if not (math.isfinite(t) and math.isfinite(value)):
            engine.invalid_rows += 1
            continue
        session = engine.session_for_batch(sessions[session_index], t)
        session.on_row(devices[device_index], code, value, t, seq, bits, out)
        touched.add(session.slot)
    engine.mark_dirty(touched)
    return tuple(out)


def evaluate_batch(
    engine: "AlarmEngine", batch: ReadingBatch, *, vector_min_rows: int = SMALL_BATCH_ROWS
) -> tuple[AlarmEvent, ...]:
    """Evaluate a batch: vectorised from `vector_min_rows` rows, row by row below."""
    if len(batch) < vector_min_rows:
        return evaluate_rows(engine, batch)
    engine.refresh_dirty()
    live = ~batch.historical
    valid = live & np.isfinite(batch.value) & np.isfinite(batch.t)
    engine.invalid_rows += int(np.count_nonzero(live & ~valid))
    rows = np.flatnonzero(valid)
    if rows.size == 0:
        return ()
    slot = _slots(engine, batch, rows)
    code = batch.metric_code[rows]
    value = batch.value[rows]
    flags = batch.flags[rows]
    key = slot * METRIC_COUNT + code
    hot = _hot(engine, slot, code, key, value, flags)
    calm = ~hot
    if calm.any():
        _apply_calm(engine, slot[calm], code[calm], key[calm], value[calm], batch.t[rows[calm]])
    out: list[AlarmEvent] = []
    if hot.any():
        hot_rows = rows[hot]
        hot_slots = slot[hot]
        devices = batch.devices
        session_at = engine.session_at
        for row_slot, device, row_code, row_value, row_t, row_seq, row_flags in zip(
            hot_slots.tolist(),
            batch.device_index[hot_rows].tolist(),
            code[hot].tolist(),
            value[hot].tolist(),
            batch.t[hot_rows].tolist(),
            batch.seq[hot_rows].tolist(),
            flags[hot].tolist(),
            strict=True,
        ):
            session_at(row_slot).on_row(
                devices[device], row_code, row_value, row_t, row_seq, row_flags, out
            )
        engine.mark_dirty(set(hot_slots.tolist()))
    return tuple(out)


def _slots(engine: "AlarmEngine", batch: ReadingBatch, rows: Ints) -> Ints:
    """The engine slot of each valid row's session, opening unknown sessions at their first
    valid row, in row order, as the scalar path does."""
    row_session = batch.session_index[rows]
    if rows.size == len(batch):
        # The common case, without np.unique: every row valid and every named session open
        # (the processor's builder names only sessions that have rows).
        named_slots = engine.slots_of(batch.sessions)
        if min(named_slots) >= 0:
            return np.array(named_slots, dtype=np.intp)[row_session]
    # Look up only the sessions present (a batch may name more).
    present, first = np.unique(row_session, return_index=True)
    present_slots = engine.slots_of([batch.sessions[index] for index in present.tolist()])
    slot_of = np.full(len(batch.sessions), -1, dtype=np.intp)
    slot_of[present] = present_slots
    if min(present_slots) < 0:
        for position in np.argsort(first, kind="stable").tolist():
            if present_slots[position] < 0:
                index = int(present[position])
                opening_t = float(batch.t[rows[first[position]]])
                slot_of[index] = engine.session_for_batch(batch.sessions[index], opening_t).slot
    return slot_of[row_session]


def _hot(  # noqa: PLR0913, PLR0917  # the batch's columns
    engine: "AlarmEngine", slot: Ints, code: Ints, key: Ints, value: Floats, flags: Ints
) -> Bools:
    """Rows that must go through `Session.on_row` (see the module docstring)."""
    table = engine.table
    quiet = (
        (flags == 0)
        & ~table.busy[slot, code]
        & (value >= table.quiet_low[slot, code])
        & (value <= table.quiet_high[slot, code])
    )
    hot_key = np.bincount(key[~quiet], minlength=table.used * METRIC_COUNT).astype(bool)
    rate = quiet & table.rate[slot, code]
    if rate.any():
        # A group with rate rules is calm only if its lowest and highest values cannot
        # reach a rule's limit against the window; checked per group.
        rate_keys, rate_values = key[rate], value[rate]
        order = np.argsort(rate_keys, kind="stable")
        sorted_keys, sorted_values = rate_keys[order], rate_values[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        lows = np.minimum.reduceat(sorted_values, starts).tolist()
        highs = np.maximum.reduceat(sorted_values, starts).tolist()
        for group, low, high in zip(sorted_keys[starts].tolist(), lows, highs, strict=True):
            group_slot, group_code = divmod(group, METRIC_COUNT)
            if not engine.session_at(group_slot).rate_calm(group_code, low, high):
                hot_key[group] = True
    hot_session = np.bincount(slot[flags != 0], minlength=table.used).astype(bool)
    hot: Bools = hot_key[key] | hot_session[slot]
    return hot


def _apply_calm(  # noqa: PLR0913, PLR0917  # the calm rows' columns
    engine: "AlarmEngine", slot: Ints, code: Ints, key: Ints, value: Floats, t: Floats
) -> None:
    """What calm rows change: last-seen time, latest value, rate windows."""
    table = engine.table
    np.maximum.at(table.last_seen, (slot, code), t)
    # The latest value per (session, metric) is that of its last calm row.
    keys, last = np.unique(key[::-1], return_index=True)
    table.latest.reshape(-1)[keys] = value[::-1][last]
    pushes = table.rate[slot, code]
    if pushes.any():
        session_at = engine.session_at
        for row_slot, row_code, row_t, row_value in zip(
            slot[pushes].tolist(),
            code[pushes].tolist(),
            t[pushes].tolist(),
            value[pushes].tolist(),
            strict=True,
        ):
            session_at(row_slot).push_rates(row_code, row_t, row_value)
