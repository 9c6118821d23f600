from devices.gateway.bursts import STORED_GAP_S, historical_flags
from devices.gateway.observations import Observation


def _bp(t_dev: float | None, *, from_storage: bool = False) -> Observation:
    return Observation(values={"sbp": 120.0}, t_dev=t_dev, from_storage=from_storage)


def test_with_device_times_only_readings_well_before_the_newest_are_history() -> None:
    burst = [_bp(1000.0), _bp(4000.0), _bp(4000.0 + STORED_GAP_S + 1), _bp(4100.0)]
    assert historical_flags(burst) == [True, True, False, False]


def test_without_device_times_every_reading_but_the_last_is_history() -> None:
    assert historical_flags([_bp(None), _bp(None), _bp(None)]) == [True, True, False]
    assert historical_flags([_bp(1.0), _bp(None)]) == [True, False]


def test_a_single_reading_is_live_unless_the_device_says_it_is_stored() -> None:
    assert historical_flags([_bp(None)]) == [False]
    assert historical_flags([_bp(5.0)]) == [False]
    assert historical_flags([_bp(5.0, from_storage=True)]) == [True]


def test_an_empty_burst_is_nothing() -> None:
    assert historical_flags([]) == []
