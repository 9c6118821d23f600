import subprocess
import sys

from vigil.cli import SUBCOMMANDS


def test_help_lists_every_subcommand_and_the_disclaimer() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "vigil.cli", "--help"], capture_output=True, text=True, check=True
    )
    for name in SUBCOMMANDS:
        assert name in out.stdout
    assert "not a certified medical device" in out.stdout.replace("\n", " ")


def test_an_unknown_subcommand_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vigil.cli", "frobnicate"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid choice: 'frobnicate'" in done.stderr


def test_global_options_may_come_before_the_subcommand() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vigil.cli", "-v", "wire", "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
