from pathlib import Path

import pytest

from devices.errors import DevicesError
from devices.gateway.config import DeviceConfig, GatewayConfigError, from_mapping, load
from vigil.mqtt_settings import MqttSettings

GOOD = """
[gateway]
id = "gw-home-01"
outbox = "/tmp/vigil-outbox.sqlite"
lateness_s = 5

[mqtt]
url = "mqtt://gw:secret@broker.local:1884"

[[devices]]
id = "hr-01"
kind = "hr_strap"
session = "S-0001"
address = "c4:7c:8d:6a:12:34"

[[devices]]
id = "bp-01"
kind = "bp_cuff"
session = "S-0001"
name = "UA-651BLE"
"""


def test_a_full_config_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "gw.toml"
    path.write_text(GOOD)
    settings = load(path, env={})
    assert settings.id == "gw-home-01"
    assert settings.mqtt == MqttSettings(
        host="broker.local", port=1884, username="gw", password="secret"
    )
    assert settings.devices == (
        DeviceConfig(id="hr-01", kind="hr_strap", session="S-0001", address="C4:7C:8D:6A:12:34"),
        DeviceConfig(id="bp-01", kind="bp_cuff", session="S-0001", name="UA-651BLE"),
    )
    assert (settings.outbox, settings.lateness_s) == (Path("/tmp/vigil-outbox.sqlite"), 5.0)


def test_the_environment_overrides_broker_password_and_gateway_id() -> None:
    settings = from_mapping(
        {"gateway": {"id": "gw-1"}},
        env={
            "VIGIL_MQTT_URL": "mqtt://10.0.0.2",
            "VIGIL_MQTT_PASSWORD": "p",
            "VIGIL_GATEWAY_ID": "gw-2",
        },
    )
    assert (settings.id, settings.mqtt.host, settings.mqtt.password) == ("gw-2", "10.0.0.2", "p")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, r"gateway.id: a pseudonymous id is required, got None"),
        ({"gateway": {"id": "Jane Doe"}}, r"gateway.id: a pseudonymous id is required"),
        (
            {"gateway": {"id": "g"}, "devices": [{"id": "d", "kind": "hr_strap"}]},
            r"devices\[0\]: `session` is required",
        ),
        (
            {
                "gateway": {"id": "g"},
                "devices": [{"id": "d/1", "kind": "hr_strap", "session": "s"}],
            },
            r"devices\[0\].id",
        ),
        (
            {"gateway": {"id": "g"}, "devices": [{"id": "d", "kind": "toaster", "session": "s"}]},
            r"devices\[0\].kind: one of",
        ),
        (
            {
                "gateway": {"id": "g"},
                "devices": [{"id": "d", "kind": "hr_strap", "session": "s"}] * 2,
            },
            "ids must be unique",
        ),
        ({"gateway": {"id": "g", "lateness_s": "soon"}}, "gateway: could not convert"),
    ],
)
def test_each_bad_config_gets_a_typed_error_naming_the_key(
    raw: dict[str, object], message: str
) -> None:
    with pytest.raises(GatewayConfigError, match=message) as info:
        from_mapping(raw, env={})
    assert isinstance(info.value, DevicesError)


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text("[gateway\n")
    with pytest.raises(GatewayConfigError, match="cannot read gateway config"):
        load(tmp_path / "bad.toml", env={})
