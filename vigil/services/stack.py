"""The services a run needs, brought up together and recorded in `<run_dir>/services.json`."""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType

from vigil.services.endpoints import Endpoints, InfluxEndpoint, MqttEndpoint
from vigil.services.influxdb import InfluxDB
from vigil.services.mosquitto import Mosquitto
from vigil.services.process import stop_pid

STATE_FILE = "services.json"


class ServiceStack:
    """Mosquitto and/or InfluxDB for one run; a context manager that always cleans up."""

    def __init__(self, run_dir: Path, *, mqtt: bool = True, influx: bool = True) -> None:
        self.run_dir = run_dir.resolve()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Built before anything starts, so a missing binary fails fast and starts nothing.
        self.influx = InfluxDB(self.run_dir) if influx else None
        self.mosquitto = Mosquitto(self.run_dir) if mqtt else None

    def up(self) -> Endpoints:
        try:
            if self.mosquitto:
                self.mosquitto.start()
            if self.influx:
                self.influx.start()
        except BaseException:
            self.down()
            raise
        endpoints = self.endpoints()
        (self.run_dir / STATE_FILE).write_text(endpoints.to_json())
        return endpoints

    def endpoints(self) -> Endpoints:
        mqtt = influx = None
        if self.mosquitto and self.mosquitto.pid is not None:
            mqtt = MqttEndpoint(host="127.0.0.1", port=self.mosquitto.port, pid=self.mosquitto.pid)
        if self.influx and self.influx.pid is not None:
            influx = InfluxEndpoint(
                url=self.influx.url,
                org=self.influx.setup.org,
                bucket=self.influx.setup.bucket,
                token=self.influx.token,
                pid=self.influx.pid,
                version=self.influx.version,
            )
        return Endpoints(run_dir=self.run_dir, mqtt=mqtt, influx=influx)

    def down(self) -> None:
        if self.mosquitto:
            self.mosquitto.stop()
        if self.influx:
            self.influx.stop()
        with contextlib.suppress(FileNotFoundError):
            (self.run_dir / STATE_FILE).unlink()

    def __enter__(self) -> Endpoints:
        return self.up()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.down()


def read_endpoints(run_dir: Path) -> Endpoints | None:
    try:
        return Endpoints.from_json((run_dir / STATE_FILE).read_text())
    except FileNotFoundError:
        return None


def stop_recorded(run_dir: Path) -> Endpoints | None:
    """Stop the services another process started in `run_dir` (for `vigil services down`)."""
    endpoints = read_endpoints(run_dir)
    if endpoints is None:
        return None
    for pid in (e.pid for e in (endpoints.mqtt, endpoints.influx) if e is not None):
        stop_pid(pid, timeout_s=30.0)
    (run_dir / STATE_FILE).unlink()
    return endpoints
