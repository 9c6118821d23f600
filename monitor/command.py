"""`vigil processor`: the stream processor as a process. SIGTERM or SIGINT flush and exit 0."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from pathlib import Path

from alerts.profiles import BUNDLED_PROFILES
from monitor.engine_evaluator import DEFAULT_PROFILE, EngineEvaluator
from monitor.errors import MonitorError
from monitor.processor import run_processor
from monitor.settings import ProcessorSettings, Role, instance_shards, parse_shards

log = logging.getLogger(__name__)
GC_GEN0_THRESHOLD = 50_000


def configure_parser(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Consume readings of the owned shards from MQTT, store them in InfluxDB (through a "
        "durable local spill), evaluate alarms. Services come from VIGIL_MQTT_URL and "
        "VIGIL_INFLUX_URL/ORG/BUCKET/TOKEN."
    )
    owned = parser.add_mutually_exclusive_group()
    owned.add_argument("--shards", help="shards this instance owns: 0-31, 0,5,9-12 or all")
    owned.add_argument("--instance", type=int, help="this instance's number, with --instances")
    parser.add_argument("--instances", type=int, default=1, help="how many instances share")
    parser.add_argument(
        "--role",
        choices=[role.value for role in Role],
        help="all: judge and store (default); alarms / storage: half of a split pair that "
        "consumes the same shards (docs/processor.md)",
    )
    parser.add_argument("--client-id", help="MQTT client id (default: from the shards)")
    parser.add_argument("--root", help="MQTT topic root (default: vigil)")
    parser.add_argument("--spill-dir", type=Path, help="spill root (default: run/processor)")
    parser.add_argument("--metrics-port", type=int, help="serve /metrics here (0: any port)")
    parser.add_argument("--lateness", type=float, default=30.0, help="seconds (default: 30)")
    parser.add_argument(
        "--fsync-interval",
        type=float,
        default=1.0,
        help="fsync the spill every so many seconds; 0: before every acknowledgement",
    )
    parser.add_argument("--max-in-flight", type=int, default=1000, help="MQTT Receive Maximum")
    parser.add_argument(
        "--write-linger",
        type=float,
        default=1.0,
        help="seconds a partial InfluxDB batch waits, from its oldest line (default: 1)",
    )
    parser.add_argument(
        "--profile",
        default=DEFAULT_PROFILE,
        choices=BUNDLED_PROFILES,
        help="alarm profile of sessions that name none (default: %(default)s)",
    )


def settings_from_args(args: argparse.Namespace) -> ProcessorSettings:
    shards = None
    if args.shards:
        shards = parse_shards(args.shards)
    elif args.instance is not None:
        shards = instance_shards(args.instance, args.instances)
    return ProcessorSettings.from_env(
        shards=shards,
        role=Role(args.role) if args.role else None,
        client_id=args.client_id,
        spill_root=args.spill_dir,
        metrics_port=args.metrics_port,
        root=args.root,
        lateness_s=args.lateness,
        fsync_interval_s=args.fsync_interval,
        max_in_flight=args.max_in_flight,
        write_linger_s=args.write_linger,
    )


async def _main(settings: ProcessorSettings, profile: str) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    # The stream allocates a few objects per reading that die young. With the default gen-0
    # threshold (700) the collector ran thousands of times a second and its older-generation
    # passes rescanned every long-lived object (py-spy: ~15 % of the processor at 50k
    # readings/s, billed to msgspec's decode). What exists now lives as long as the process.
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 20, 20)
    try:
        await run_processor(settings, evaluator=EngineEvaluator(profile))
    except asyncio.CancelledError:
        log.info("stopped by signal; spill flushed")


def run(args: argparse.Namespace) -> int:
    try:
        settings = settings_from_args(args)
        asyncio.run(_main(settings, args.profile))
    except MonitorError as err:
        print(f"vigil processor: {err}", file=sys.stderr)  # noqa: T201
        return 2
    return 0
