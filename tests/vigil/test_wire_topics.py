import pytest

from vigil.wire import SHARDS, Topics, shard_of, valid_id


def test_topics_of_version_1() -> None:
    topics = Topics("vigil")
    assert topics.readings("S-0001") == f"vigil/v1/readings/{shard_of('S-0001'):02d}/S-0001"
    assert topics.readings_filter() == "vigil/v1/readings/+/+"
    assert topics.readings_filter(3) == "vigil/v1/readings/03/+"
    assert topics.device_status("hr-1") == "vigil/v1/status/device/hr-1"
    assert topics.gateway_status("gw-1") == "vigil/v1/status/gateway/gw-1"
    assert topics.gateway_events("gw-1") == "vigil/v1/events/gateway/gw-1"
    assert topics.session("S-1") == "vigil/v1/sessions/S-1"
    assert topics.alarm_events("S-1") == "vigil/v1/alarms/S-1/events"
    assert topics.alarm_state("S-1", "a1") == "vigil/v1/alarms/S-1/state/a1"
    assert topics.commands("S-1") == "vigil/v1/commands/S-1"
    assert topics.command_results("S-1") == "vigil/v1/commands/S-1/results"
    assert topics.dead_letter == "vigil/v1/deadletter"


def test_shards_are_stable_and_spread() -> None:
    assert shard_of("S-0001") == shard_of("S-0001")
    spread = {shard_of(f"S-{i:04d}") for i in range(1000)}
    assert spread == set(range(SHARDS))


@pytest.mark.parametrize("value", ["S-0001", "gw.home_3", "a", "x" * 64])
def test_pseudonymous_ids_are_accepted(value: str) -> None:
    assert valid_id(value)


@pytest.mark.parametrize("value", ["", "Jane Doe", "a/b", "+", "#", "-lead", "x" * 65, "é"])
def test_ids_that_could_break_topics_or_carry_names_are_refused(value: str) -> None:
    assert not valid_id(value)
