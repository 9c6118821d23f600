"""The `vigil` command line: one subcommand per process of the pipeline.

Each subcommand lives in the package it drives and exposes `configure_parser(parser)` and
`run(args) -> int`; they are imported only when chosen, so `vigil --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from vigil.errors import VigilError

# name -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "services": ("vigil.services.command", "start/stop the real Mosquitto and InfluxDB 2.x"),
    "session": ("vigil.sessions", "start, end and list monitoring sessions"),
    "demo": ("vigil.demo", "run the whole pipeline on emulated patients and print what flows"),
    "processor": ("monitor.command", "consume readings, store them in InfluxDB, evaluate alarms"),
    "hub": (
        "alerts.hub.command",
        "run the clinicians' hub (websocket + dashboard) or manage its accounts",
    ),
    "gateway": ("devices.gateway.command", "run the home gateway: BLE wearables to MQTT"),
    "emulate": ("devices.emulation.command", "run bumble-emulated wearables from scenarios"),
    "wire": ("vigil.wire.command", "print or check the MQTT wire contract's JSON Schemas"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vigil",
        description="Vigil: real-time vital-sign monitoring for at-home therapy sessions. "
        "Decision support only, not a certified medical device.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in SUBCOMMANDS.items():
        sub.add_parser(name, help=help_text, description=help_text)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    # Two passes: the first finds the subcommand, whose module then declares its own options.
    chosen = next((arg for arg in argv if arg in SUBCOMMANDS), None)
    if chosen is not None:
        module = importlib.import_module(SUBCOMMANDS[chosen][0])
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001
        module.configure_parser(subparsers.choices[chosen])
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(args.verbose, 2)],
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    module = importlib.import_module(SUBCOMMANDS[args.command][0])
    try:
        result: int = module.run(args)
    except VigilError as err:
        print(f"vigil {args.command}: {err}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
