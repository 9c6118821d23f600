from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.admission import Admission, Admitted
from monitor.columns import columns_of
from vigil.wire import Reading, ReadingBatch


def _batch(*readings: Reading, device: str = "hr-1") -> ReadingBatch:
    return ReadingBatch(
        gateway="gw", session="S-1", device=device, kind="hr_strap", readings=list(readings)
    )


def _r(seq: int, t: float, *, historical: bool = False) -> Reading:
    return Reading(seq=seq, t=t, values={"hr": 70.0}, historical=historical)


def test_new_readings_are_stored_and_live() -> None:
    readings = [_r(1, 100.0), _r(2, 101.0)]
    assert Admission().admit(_batch(*readings)) == Admitted(
        store=readings, live=readings, duplicates=0, late=0
    )


def test_a_redelivered_reading_is_neither_stored_nor_evaluated_again() -> None:
    admission = Admission()
    admission.admit(_batch(_r(1, 100.0), _r(2, 101.0)))
    new = _r(3, 102.0)
    assert admission.admit(_batch(_r(2, 101.0), new)) == Admitted(
        store=[new], live=[new], duplicates=1, late=0
    )


def test_devices_have_their_own_sequences() -> None:
    admission = Admission()
    admission.admit(_batch(_r(1, 100.0)))
    assert admission.admit(_batch(_r(1, 100.0), device="bp-1")).live == [_r(1, 100.0)]


def test_historical_and_late_readings_are_stored_but_not_live() -> None:
    admission = Admission(lateness_s=30.0)
    admission.admit(_batch(_r(1, 1000.0)))
    flagged, late, fresh = _r(2, 1000.5, historical=True), _r(3, 960.0), _r(4, 985.0)
    assert admission.admit(_batch(flagged, late, fresh)) == Admitted(
        store=[flagged, late, fresh], live=[fresh], duplicates=0, late=2
    )


def test_below_the_window_a_reading_is_stored_idempotently_but_never_evaluated() -> None:
    admission = Admission(window=4)
    for seq in range(20):
        admission.admit(_batch(_r(seq, 100.0 + seq)))
    old = _r(3, 103.0)
    assert admission.admit(_batch(old)) == Admitted(store=[old], live=[], duplicates=0, late=1)


def test_the_window_stays_bounded() -> None:
    admission = Admission(window=8)
    for seq in range(1000):
        admission.admit(_batch(_r(seq, float(seq))))
    assert len(admission._devices["hr-1"].seen) <= 16


def test_the_number_of_devices_is_bounded() -> None:
    admission = Admission(max_devices=2)
    for device in ("a", "b", "c"):
        admission.admit(_batch(_r(1, 1.0), device=device))
    assert list(admission._devices) == ["b", "c"]


class _Model:
    """The admission rules, one reading at a time: what the fast path must agree with."""

    def __init__(self, window: int, lateness_s: float) -> None:
        self.window, self.lateness_s = window, lateness_s
        self.seen: set[int] = set()
        self.top, self.newest_t = -1, 0.0

    def admit(self, readings: list[Reading]) -> tuple[list[int], list[int], int, int]:
        store, live, duplicates, late = [], [], 0, 0
        floor = self.top - self.window
        for r in readings:
            if r.seq in self.seen:
                duplicates += 1
                continue
            store.append(r.seq)
            if r.seq <= floor:
                late += 1
                continue
            self.seen.add(r.seq)
            self.top = max(self.top, r.seq)
            if r.historical or r.t < self.newest_t - self.lateness_s:
                late += 1
                continue
            self.newest_t = max(self.newest_t, r.t)
            live.append(r.seq)
        if len(self.seen) > 2 * self.window:  # below the window: forgotten (documented)
            self.seen = {seq for seq in self.seen if seq > self.top - self.window}
        return store, live, duplicates, late


_readings = st.lists(
    st.builds(
        _r,
        st.integers(0, 60),
        st.floats(0, 200, allow_nan=False),
        historical=st.booleans() | st.just(False),
    ),
    min_size=1,
    max_size=8,
)


@settings(max_examples=400)
@given(st.lists(_readings, min_size=1, max_size=12), st.booleans())
def test_admission_agrees_with_the_one_by_one_rules(
    batches: list[list[Reading]], as_columns: bool
) -> None:
    """Whichever path admits them: by reading, or (plain readings) from their columns."""
    admission, model = Admission(window=16, lateness_s=30.0), _Model(16, 30.0)
    for readings in batches:
        columns = columns_of(readings) if as_columns else None
        got = admission.admit(_batch(*readings), columns)
        store, live, duplicates, late = model.admit(readings)
        assert ([r.seq for r in got.store], [r.seq for r in got.live]) == (store, live)
        assert (got.duplicates, got.late) == (duplicates, late)


@given(st.integers(0, 1000), st.integers(1, 20), st.floats(0, 1000, allow_nan=False))
def test_in_order_batches_are_all_live(first: int, n: int, t0: float) -> None:
    admission = Admission()
    readings = [_r(first + i, t0 + i) for i in range(n)]
    assert admission.admit(_batch(*readings)).live == readings
    assert admission.admit(_batch(*readings)).duplicates == n
