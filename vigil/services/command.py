"""`vigil services up|down|status`: the test and demo harness, from a shell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vigil.services.stack import ServiceStack, read_endpoints, stop_recorded

DEFAULT_RUN_DIR = Path("run/services")


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down", "status", "env", "build-influxd"))
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="configs, data and logs of the services (default: %(default)s)",
    )
    parser.add_argument("--no-influx", action="store_true", help="start Mosquitto only")
    parser.add_argument("--no-mqtt", action="store_true", help="start InfluxDB only")


def run(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    if args.action == "build-influxd":
        from vigil.services.influxdb import ensure_influxd  # noqa: PLC0415 - only this action builds

        binary, version = ensure_influxd()
        print(f"influxd {version}: {binary}")  # noqa: T201
        return 0
    if args.action == "up":
        if read_endpoints(run_dir):
            print(f"services already up in {run_dir}; `vigil services down` first", file=sys.stderr)  # noqa: T201
            return 1
        stack = ServiceStack(run_dir, mqtt=not args.no_mqtt, influx=not args.no_influx)
        print(stack.up().to_json())  # noqa: T201
        return 0
    if args.action == "down":
        stopped = stop_recorded(run_dir)
        print("stopped" if stopped else f"nothing running in {run_dir}")  # noqa: T201
        return 0
    endpoints = read_endpoints(run_dir)
    if endpoints is None:
        print(f"nothing running in {run_dir}", file=sys.stderr)  # noqa: T201
        return 1
    if args.action == "env":
        for key, value in endpoints.as_env().items():
            print(f"export {key}={value}")  # noqa: T201
    else:
        print(endpoints.to_json())  # noqa: T201
    return 0
