"""`vigil hub`: account management and the settings built from environment and options."""

from __future__ import annotations

import argparse
import io

import pytest

from alerts.hub import command
from alerts.hub.passwords import verify_password
from alerts.hub.settings import HubSettings, origins_from_text
from alerts.hub.users import load_users
from vigil.errors import ConfigError
from vigil.mqtt_settings import MqttSettings

ENV = {
    "VIGIL_MQTT_URL": "mqtt://broker.local:1884",
    "VIGIL_INFLUX_URL": "http://influx:8086",
    "VIGIL_INFLUX_ORG": "o",
    "VIGIL_INFLUX_BUCKET": "b",
    "VIGIL_INFLUX_TOKEN": "t",
    "VIGIL_HUB_TOKEN_SECRET": "z" * 40,
    "VIGIL_HUB_ALLOWED_ORIGINS": "https://ward.example, https://night.example/",
}


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vigil hub")
    command.configure_parser(parser)
    return parser.parse_args(argv)


def add_user(monkeypatch, users, name: str, role: str, password: str) -> int:
    """`vigil hub --users USERS user add NAME --role ROLE --password-stdin`."""
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    argv = ("--users", str(users), "user", "add", name, "--role", role, "--password-stdin")
    return command.run(parse(*argv))


def test_user_add_list_remove(tmp_path, monkeypatch, capsys):
    users = tmp_path / "users.toml"
    assert add_user(monkeypatch, users, "dr-a", "supervisor", "a long enough secret") == 0
    account = load_users(users).get("dr-a")
    assert account.role == "supervisor"
    assert verify_password("a long enough secret", account.password_hash)
    assert command.run(parse("--users", str(users), "user", "list")) == 0
    assert "dr-a\tsupervisor" in capsys.readouterr().out
    assert command.run(parse("--users", str(users), "user", "remove", "dr-a")) == 0
    assert command.run(parse("--users", str(users), "user", "remove", "dr-a")) == 1
    with pytest.raises(ConfigError, match="at least 12"):
        add_user(monkeypatch, users, "dr-b", "clinician", "short")
    with pytest.raises(ConfigError, match="pseudonymous id"):
        add_user(monkeypatch, users, "Jane Doe", "clinician", "a long enough secret")


def test_settings_from_environment_and_options(tmp_path):
    args = parse(
        "--users",
        str(tmp_path / "u.toml"),
        "--port",
        "9000",
        "--allowed-origin",
        "http://x.example",
        "--escalate-high-s",
        "90",
    )
    settings = command.settings_from(args, ENV)
    assert settings.mqtt == MqttSettings(host="broker.local", port=1884, root="vigil")
    assert settings.influx.bucket == "b"
    assert settings.port == 9000
    assert settings.allowed_origins == (
        "https://ward.example",
        "https://night.example",
        "http://x.example",
    )
    assert dict(settings.escalation_s) == {"high": 90.0}
    assert settings.token_secret == b"z" * 40
    assert "zzzz" not in repr(settings)  # the secret never reaches a log line


@pytest.mark.parametrize(
    ("env", "argv", "message"),
    [
        ({**ENV, "VIGIL_HUB_TOKEN_SECRET": "short"}, (), "at least 32 bytes"),
        ({k: v for k, v in ENV.items() if not k.startswith("VIGIL_INFLUX")}, (), "--no-audit"),
        ({**ENV, "VIGIL_INFLUX_TOKEN": ""}, (), "VIGIL_INFLUX_TOKEN not set"),
        ({**ENV, "VIGIL_HUB_ALLOWED_ORIGINS": "ward.example"}, (), "must start with http"),
        (ENV, ("--tls-cert", "cert.pem"), "both a certificate and a key"),
    ],
)
def test_bad_settings_are_refused_with_advice(tmp_path, env, argv, message):
    with pytest.raises(ConfigError, match=message):
        command.settings_from(parse("--users", str(tmp_path / "u.toml"), *argv), env)


def test_no_audit_needs_no_influx_and_a_missing_secret_is_generated(tmp_path):
    settings = command.settings_from(parse("--users", str(tmp_path / "u.toml"), "--no-audit"), {})
    assert settings.influx is None
    assert len(settings.token_secret) == 32
    assert origins_from_text("") == ()


def test_secret_prints_a_usable_secret(capsys):
    assert command.run(parse("secret")) == 0
    assert len(capsys.readouterr().out.strip()) >= 32


def test_tls_context_is_built_only_with_both_files(tmp_path):
    settings = HubSettings(
        mqtt=MqttSettings(), influx=None, users_file=tmp_path / "u", token_secret=b"x" * 32
    )
    assert settings.ssl_context() is None
    assert not settings.tls
