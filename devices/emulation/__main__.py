"""`python -m devices.emulation ...`: the `vigil emulate` command on its own."""

from __future__ import annotations

import argparse
import logging
import sys

from devices.emulation.command import configure_parser, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devices.emulation")
    configure_parser(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
