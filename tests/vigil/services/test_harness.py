"""The services harness against the real binaries: start, restart, stop, and clear failures."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from vigil.errors import ServiceError
from vigil.services import influxdb as influx_module
from vigil.services import mosquitto as mosquitto_module
from vigil.services.endpoints import Endpoints
from vigil.services.influxdb import InfluxDB
from vigil.services.mosquitto import Mosquitto
from vigil.services.process import pid_alive
from vigil.services.stack import STATE_FILE, ServiceStack

pytestmark = pytest.mark.integration


def _mosquitto_rr(port: int, *args: str) -> str:
    return subprocess.run(
        ["mosquitto_sub", "-p", str(port), "-C", "1", "-W", "5", *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def test_a_restarted_broker_keeps_its_port_and_retained_messages(own_mosquitto: Mosquitto) -> None:
    port = own_mosquitto.port
    subprocess.run(
        ["mosquitto_pub", "-p", str(port), "-t", "k", "-m", "kept", "-r", "-q", "1"], check=True
    )
    own_mosquitto.stop()
    own_mosquitto.start()
    assert own_mosquitto.port == port
    assert _mosquitto_rr(port, "-t", "k") == "kept"


def test_a_broker_that_cannot_start_says_why(own_mosquitto: Mosquitto, tmp_path: Path) -> None:
    clash = Mosquitto(tmp_path / "second", port=own_mosquitto.port)
    with pytest.raises(ServiceError, match=r"mosquitto exited during start; last log lines:\n"):
        clash.start()


def test_missing_mosquitto_without_root_tells_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mosquitto_module, "find_mosquitto", lambda: None)
    monkeypatch.setattr(mosquitto_module.os, "geteuid", lambda: 1000)
    with pytest.raises(ServiceError, match="apt-get install mosquitto mosquitto-clients"):
        mosquitto_module.ensure_installed()


def test_missing_influxd_without_a_build_script_tells_what_to_do(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(influx_module, "find_influxd", lambda _version="": None)
    monkeypatch.setattr(influx_module, "BUILD_SCRIPT", tmp_path / "absent")
    with pytest.raises(ServiceError, match=r"put influxd 2\.x on PATH or set VIGIL_INFLUXD"):
        influx_module.ensure_influxd()


def test_a_build_without_toolchains_says_which_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(influx_module, "find_influxd", lambda _version="": None)
    monkeypatch.setenv("VIGIL_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(
        ServiceError, match=r"install go >= 1.23 and Rust, or put influxd 2.x on PATH"
    ):
        influx_module.ensure_influxd()


def test_influxdb_restarts_on_the_same_storage_with_the_same_token(tmp_path: Path) -> None:
    server = InfluxDB(tmp_path)
    server.start()
    try:
        token, port = server.token, server.port
        server.stop()
        server.start()
        assert (server.token, server.port) == (token, port)
        request = urllib.request.Request(
            f"{server.url}/api/v2/buckets?name=vitals", headers={"Authorization": f"Token {token}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert [b["name"] for b in json.load(response)["buckets"]] == ["vitals"]
    finally:
        server.stop()


def test_the_stack_records_its_endpoints_and_leaves_nothing_running(tmp_path: Path) -> None:
    stack = ServiceStack(tmp_path)
    with stack as endpoints:
        assert Endpoints.from_json((tmp_path / STATE_FILE).read_text()) == endpoints
        assert endpoints.mqtt
        assert endpoints.influx
        pids = [endpoints.mqtt.pid, endpoints.influx.pid]
        assert all(pid_alive(pid) for pid in pids)
        assert endpoints.as_env()["VIGIL_INFLUX_TOKEN"] == endpoints.influx.token
    assert not any(pid_alive(pid) for pid in pids)
    assert not (tmp_path / STATE_FILE).exists()


def test_services_up_and_down_from_a_shell(tmp_path: Path) -> None:
    vigil = [sys.executable, "-m", "vigil.cli", "services"]
    up = subprocess.run(
        [*vigil, "up", "--no-influx", "--run-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    endpoints = Endpoints.from_json(up.stdout)
    assert endpoints.mqtt
    assert pid_alive(endpoints.mqtt.pid)
    again = subprocess.run(
        [*vigil, "up", "--run-dir", str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert again.returncode == 1
    assert "already up" in again.stderr
    down = subprocess.run(
        [*vigil, "down", "--run-dir", str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert down.stdout.strip() == "stopped"
    assert not pid_alive(endpoints.mqtt.pid)
