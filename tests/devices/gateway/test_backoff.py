import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.gateway.backoff import Backoff


def test_delays_double_from_the_first_up_to_the_cap_without_jitter() -> None:
    policy = Backoff(first_s=0.5, factor=2, max_s=30, jitter=0.2)
    assert [policy.delay(n) for n in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_jitter_spreads_a_delay_by_its_fraction_either_way() -> None:
    policy = Backoff(first_s=10, max_s=10, jitter=0.2)
    assert (policy.delay(0, 0.0), policy.delay(0, 1.0)) == (8.0, 12.0)


def test_a_long_healthy_connection_resets_the_attempts() -> None:
    policy = Backoff(healthy_after_s=60)
    assert policy.next_attempt(5, connected_for_s=61) == 0
    assert policy.next_attempt(5, connected_for_s=3) == 6
    assert policy.next_attempt(5, connected_for_s=None) == 6


@pytest.mark.parametrize(
    "kwargs", [{"first_s": 0}, {"first_s": 5, "max_s": 1}, {"factor": 0.5}, {"jitter": 1}]
)
def test_inconsistent_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="inconsistent backoff"):
        Backoff(**kwargs)


@given(st.integers(-5, 10_000), st.floats(-1, 2))
def test_every_delay_is_positive_and_bounded(attempt: int, draw: float) -> None:
    policy = Backoff()
    assert 0 < policy.delay(attempt, draw) <= policy.max_s * (1 + policy.jitter)
