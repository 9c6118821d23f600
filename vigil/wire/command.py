"""`vigil wire schemas|check`: publish the wire contract's JSON Schemas under docs/schemas/."""

from __future__ import annotations

import argparse
import sys

from vigil.wire.schemas import stale, write_all


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        choices=("schemas", "check"),
        help="schemas: regenerate docs/schemas; check: fail if they are stale",
    )


def run(args: argparse.Namespace) -> int:
    if args.action == "schemas":
        for path in write_all():
            print(path)  # noqa: T201
        return 0
    if names := stale():
        print(f"stale schemas (run `vigil wire schemas`): {', '.join(names)}", file=sys.stderr)  # noqa: T201
        return 1
    return 0
