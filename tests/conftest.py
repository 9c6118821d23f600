"""Real services for the whole test run, started once and stopped at the end.

Integration tests ask for `mosquitto` and/or `influxdb`; the first request starts the service
(building influxd the first time on a machine, which takes long and prints its progress).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.services.endpoints import InfluxEndpoint, MqttEndpoint
from vigil.services.influxdb import InfluxDB
from vigil.services.mosquitto import Mosquitto


@pytest.fixture(scope="session")
def services_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("services")


@pytest.fixture(scope="session")
def mosquitto(services_dir: Path) -> Iterator[MqttEndpoint]:
    broker = Mosquitto(services_dir)
    pid = broker.start()
    yield MqttEndpoint(host="127.0.0.1", port=broker.port, pid=pid)
    broker.stop()


@pytest.fixture
def own_mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of the test's own, for tests that stop and restart it."""
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def influx_server(services_dir: Path) -> Iterator[InfluxDB]:
    server = InfluxDB(services_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def influxdb(influx_server: InfluxDB) -> InfluxEndpoint:
    assert influx_server.pid is not None
    return InfluxEndpoint(
        url=influx_server.url,
        org=influx_server.setup.org,
        bucket=influx_server.setup.bucket,
        token=influx_server.token,
        pid=influx_server.pid,
        version=influx_server.version,
    )


@pytest.fixture
def mqtt_root() -> str:
    """A topic root of the test's own, so tests sharing the broker never see each other."""
    return f"t{uuid.uuid4().hex[:12]}"
