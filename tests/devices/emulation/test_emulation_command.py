"""`vigil emulate`: arguments, settings, and a short run on a hub of its own."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from devices.emulation.command import EmulateSettings, configure_parser, run
from devices.emulation.errors import ScenarioError
from devices.emulation.hub import HubEndpoint

SHORT_SESSION = """
[session]
patient = "cli"
seed = 1
duration_min = 0.05

[devices.heart_rate]
[devices.pulse_oximeter]
"""


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vigil emulate")
    configure_parser(parser)
    return parser.parse_args(argv)


@pytest.fixture
def short_session(tmp_path: Path) -> Path:
    path = tmp_path / "short.toml"
    path.write_text(SHORT_SESSION)
    return path


def test_arguments_have_demo_defaults(short_session: Path) -> None:
    args = parse("--scenario", str(short_session), "--start-hub")

    settings = EmulateSettings.from_args(args)

    assert settings.speed == 60
    assert settings.start_hub == HubEndpoint("127.0.0.1", 0)
    assert settings.join_hub is None
    assert settings.start_s == 0
    assert settings.advertising_interval_ms == 20
    assert [s.patient for s in settings.scenarios] == ["cli"]


@pytest.mark.parametrize(
    "argv",
    [
        (),  # no scenario, no hub
        ("--scenario", "x.toml"),  # no hub
        ("--scenario", "x.toml", "--hub", "h:1", "--start-hub"),  # both
    ],
)
def test_a_scenario_and_exactly_one_hub_option_are_required(argv: tuple[str, ...]) -> None:
    with pytest.raises(SystemExit):
        parse(*argv)


def test_seed_override_gives_each_patient_its_own_seed_and_devices(short_session: Path) -> None:
    args = parse(
        "--scenario", str(short_session), "--scenario", str(short_session),
        "--seed", "40", "--hub", "127.0.0.1:7878", "--start-min", "2",
    )  # fmt: skip

    settings = EmulateSettings.from_args(args)

    assert [s.seed for s in settings.scenarios] == [40, 41]
    assert settings.join_hub == HubEndpoint("127.0.0.1", 7878)
    assert settings.start_s == 120
    first, second = (tuple(d.address for d in s.devices) for s in settings.scenarios)
    assert not set(first) & set(second)


def test_two_patients_with_the_same_devices_are_refused(short_session: Path) -> None:
    args = parse("--scenario", str(short_session), "--scenario", str(short_session), "--start-hub")

    with pytest.raises(ScenarioError, match="share an address"):
        EmulateSettings.from_args(args)


@pytest.mark.parametrize(
    ("extra", "message"),
    [(("--speed", "0"), "--speed must be positive"), ((), "missing.toml")],
)
def test_configuration_errors_exit_with_2_and_say_why(
    extra: tuple[str, ...], message: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing = tmp_path / "missing.toml"
    args = parse("--scenario", str(missing), "--start-hub", *extra)

    with caplog.at_level(logging.ERROR):
        assert run(args) == 2

    assert message in caplog.text


def test_a_short_session_runs_to_its_end_on_its_own_hub(
    short_session: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse("--scenario", str(short_session), "--start-hub", "--speed", "60")

    assert run(args) == 0
    assert capsys.readouterr().out.startswith("listening on 127.0.0.1:")
