"""Small pure parts: settings, clock, backoff, metrics text, alarm event points."""

import asyncio

import msgspec
import pytest

from monitor.clock import ManualClock
from monitor.errors import SettingsError
from monitor.metrics import Metrics
from monitor.settings import (
    ProcessorSettings,
    Role,
    instance_shards,
    parse_shards,
    shards_label,
)
from monitor.storage.points import alarm_event_line
from monitor.storage.shipper import backoff_s
from vigil.wire import AlarmEvent


def test_shard_specs() -> None:
    assert parse_shards("0-3,8") == frozenset({0, 1, 2, 3, 8})
    assert parse_shards("all") == frozenset(range(64))
    assert instance_shards(1, 2) == frozenset(range(32, 64))
    assert shards_label(frozenset({0, 1, 2, 3, 8, 10, 11})) == "0-3+8+10-11"
    for bad in ("", "64", "5-2", "x"):
        with pytest.raises(SettingsError):
            parse_shards(bad)
    with pytest.raises(SettingsError):
        instance_shards(2, 2)


def test_settings_from_the_environment() -> None:
    env = {
        "VIGIL_MQTT_URL": "mqtt://broker:1884",
        "VIGIL_INFLUX_URL": "http://influx:8086",
        "VIGIL_INFLUX_ORG": "o",
        "VIGIL_INFLUX_BUCKET": "b",
        "VIGIL_INFLUX_TOKEN": "secret",
        "VIGIL_PROCESSOR_SHARDS": "0-31",
        "VIGIL_METRICS_PORT": "9100",
    }
    settings = ProcessorSettings.from_env(env, lateness_s=10.0)
    assert (settings.mqtt.host, settings.mqtt.port, settings.influx.bucket) == ("broker", 1884, "b")
    assert settings.shards == frozenset(range(32))
    assert settings.client_id == "vigil-processor-0-31"
    assert settings.spill_dir.name == "vigil-processor-0-31"
    assert (settings.metrics_port, settings.lateness_s) == (9100, 10.0)
    assert "secret" not in repr(settings)
    assert settings.role is Role.ALL
    with pytest.raises(SettingsError, match="VIGIL_INFLUX_URL"):
        ProcessorSettings.from_env({})


def test_each_role_of_a_split_pair_gets_its_own_session_and_spill() -> None:
    env = {"VIGIL_INFLUX_URL": "http://i", "VIGIL_INFLUX_ORG": "o", "VIGIL_INFLUX_BUCKET": "b"}
    alarms = ProcessorSettings.from_env({**env, "VIGIL_PROCESSOR_ROLE": "alarms"})
    storage = ProcessorSettings.from_env(env, role=Role.STORAGE)
    assert (alarms.client_id, storage.client_id) == (
        "vigil-processor-alarms-0-63",
        "vigil-processor-storage-0-63",
    )
    assert alarms.spill_dir != storage.spill_dir
    assert (alarms.role.evaluates, alarms.role.stores_readings) == (True, False)
    assert (storage.role.evaluates, storage.role.stores_readings) == (False, True)
    with pytest.raises(SettingsError, match="VIGIL_PROCESSOR_ROLE"):
        ProcessorSettings.from_env({**env, "VIGIL_PROCESSOR_ROLE": "both"})


def test_write_linger_is_a_setting_with_bounds() -> None:
    env = {"VIGIL_INFLUX_URL": "http://i", "VIGIL_INFLUX_ORG": "o", "VIGIL_INFLUX_BUCKET": "b"}
    assert ProcessorSettings.from_env(env).write_linger_s == 1.0
    assert ProcessorSettings.from_env(env, write_linger_s=0.0).write_linger_s == 0.0
    for bad in (-0.1, 61.0, float("nan")):
        with pytest.raises(SettingsError, match="write_linger_s"):
            ProcessorSettings.from_env(env, write_linger_s=bad)


async def test_a_manual_clock_wakes_sleepers_in_deadline_order() -> None:
    clock = ManualClock(100.0)
    woke: list[str] = []

    async def sleeper(name: str, t: float) -> None:
        await clock.sleep_until(t)
        woke.append(name)

    tasks = [
        asyncio.create_task(sleeper("late", 110.0)),
        asyncio.create_task(sleeper("soon", 105.0)),
    ]
    await asyncio.sleep(0)
    clock.advance(5.0)
    await asyncio.sleep(0)
    assert woke == ["soon"]
    clock.set(110.0)
    await asyncio.gather(*tasks)
    assert woke == ["soon", "late"]
    with pytest.raises(ValueError, match="back"):
        clock.set(1.0)


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_s(a) for a in range(1, 7)] == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_metrics_render_as_prometheus_text() -> None:
    metrics = Metrics()
    metrics.rejected["schema_invalid"] += 2
    metrics.observe_write(0.02, 500)
    metrics.gauge("spill_bytes", "spill", lambda: 42)
    text = metrics.render()
    assert 'vigil_processor_rejected_total{reason="schema_invalid"} 2' in text
    assert 'vigil_processor_rejected_total{reason="undecodable"} 0' in text
    assert 'vigil_processor_write_seconds_bucket{le="0.025"} 1' in text
    assert "vigil_processor_points_written_total 500" in text
    assert "vigil_processor_spill_bytes 42" in text
    assert text.count("# TYPE vigil_processor_rejected_total counter") == 1


def test_an_alarm_event_becomes_one_point() -> None:
    event = AlarmEvent(
        event_id="hr_high.hr-1.7.raised.7",
        session="S-1",
        alarm_id="hr_high.hr-1.7",
        kind="raised",
        priority="high",
        rule="hr_high",
        message='hr > 120 "raised"',
        t=1.5,
        onset=1.0,
        metric="hr",
        value=131.0,
        threshold=120.0,
        device="hr-1",
        seq=7,
    )
    assert alarm_event_line(event) == (
        "alarm_events,device=hr-1,kind=raised,metric=hr,priority=high,rule=hr_high,session=S-1 "
        'alarm_id="hr_high.hr-1.7",message="hr > 120 \\"raised\\"",onset=1.0,'
        "value=131.0,threshold=120.0,seq=7i 1500000000"
    )


def test_an_alarm_event_point_escapes_tags_and_strings_and_leaves_out_absent_fields() -> None:
    event = AlarmEvent(
        event_id='e"1',
        session="s,1",
        alarm_id="a=1",
        kind="raised",
        priority="high",
        rule="r 1",
        message='m\\"\n',
        t=1.5,
        threshold=1.0,
        by='dr"x',
    )
    assert alarm_event_line(event) == (
        "alarm_events,kind=raised,priority=high,rule=r\\ 1,session=s\\,1 "
        'alarm_id="a=1",message="m\\\\\\"\\n",threshold=1.0,by="dr\\"x" 1500000000'
    )


def _series_and_time(line: str) -> tuple[str, str]:
    series, rest = line.split(" ", 1)
    return series, rest.rsplit(" ", 1)[1]


def test_per_device_alarms_at_one_instant_are_separate_points() -> None:
    # A gateway going offline disconnects all its devices at once: without `subject` as a tag
    # the events would share series and time, and InfluxDB would keep only the last.
    def disconnected(device: str) -> AlarmEvent:
        return AlarmEvent(
            event_id=f"S-1:device_disconnected:{device}:1000.raised.2000",
            session="S-1",
            alarm_id=f"S-1:device_disconnected:{device}:1000",
            kind="raised",
            priority="medium",
            rule="device_disconnected",
            message="device disconnected",
            t=2.0,
            subject=device,
        )

    first, second = alarm_event_line(disconnected("ox-1")), alarm_event_line(disconnected("hr-1"))
    assert _series_and_time(first) != _series_and_time(second)
    assert first.startswith(
        "alarm_events,kind=raised,priority=medium,rule=device_disconnected,session=S-1,"
        "subject=ox-1 "
    )


def test_an_alarm_event_keeps_its_reading_time_only_when_it_differs_from_its_own() -> None:
    event = AlarmEvent(
        event_id="S-1:hr_high:1000.raised.1500",
        session="S-1",
        alarm_id="S-1:hr_high:1000",
        kind="raised",
        priority="high",
        rule="hr_high",
        message="m",
        t=1.5,
        source_t=1.5,
        subject="",
    )
    assert "source_t" not in alarm_event_line(event)
    assert "subject" not in alarm_event_line(event)  # an empty tag value is not line protocol
    later = alarm_event_line(msgspec.structs.replace(event, t=2.0))
    assert later.endswith(",source_t=1.5 2000000000")
