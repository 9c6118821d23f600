"""`vigil hub`: run the clinicians' hub, or manage its accounts.

vigil hub [serve] [--port 8765] [--users hub-users.toml] [--no-audit] ...
vigil hub user add NAME --role clinician|supervisor [--password-stdin]
vigil hub user remove NAME
vigil hub user list
vigil hub secret          # print a fresh token secret for VIGIL_HUB_TOKEN_SECRET
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import logging
import os
import secrets
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

from alerts.hub.app import run_hub
from alerts.hub.errors import UsersFileError
from alerts.hub.passwords import hash_password
from alerts.hub.settings import DEFAULT_PORT, HubSettings, influx_from_env, origins_from_text
from alerts.hub.tokens import MIN_SECRET_BYTES
from alerts.hub.users import ROLES, Account, load_users, save_users
from vigil.errors import ConfigError
from vigil.mqtt_settings import MqttSettings

log = logging.getLogger(__name__)

DEFAULT_USERS = Path("hub-users.toml")
_MIN_PASSWORD = 12


def configure_parser(parser: argparse.ArgumentParser) -> None:
    env = os.environ
    parser.add_argument(
        "--users",  # before the action: `vigil hub --users FILE user add ...`
        type=Path,
        default=Path(env.get("VIGIL_HUB_USERS", DEFAULT_USERS)),
        help="accounts file (env VIGIL_HUB_USERS; default %(default)s)",
    )
    actions = parser.add_subparsers(dest="hub_action", metavar="ACTION")
    _serve_options(parser)
    user = actions.add_parser("user", help="add, remove or list accounts")
    user_actions = user.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    add = user_actions.add_parser("add", help="add an account or set its password and role")
    add.add_argument("name", help="pseudonymous account id, e.g. dr-0042")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    remove = user_actions.add_parser("remove", help="remove an account")
    remove.add_argument("name")
    user_actions.add_parser("list", help="list accounts and roles")
    actions.add_parser("secret", help="print a new random token secret")


def _serve_options(parser: argparse.ArgumentParser) -> None:
    env = os.environ
    parser.add_argument("--host", default=env.get("VIGIL_HUB_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(env.get("VIGIL_HUB_PORT", str(DEFAULT_PORT)))
    )
    parser.add_argument("--mqtt-root", default="vigil", help="MQTT topic root")
    parser.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        help="an extra origin allowed to open the websocket (repeatable)",
    )
    parser.add_argument("--tls-cert", type=Path, default=env.get("VIGIL_HUB_TLS_CERT"))
    parser.add_argument("--tls-key", type=Path, default=env.get("VIGIL_HUB_TLS_KEY"))
    parser.add_argument(
        "--escalate-high-s",
        type=float,
        default=120.0,
        help="escalation time of high-priority alarms when the session's profile has none",
    )
    parser.add_argument(
        "--no-audit", action="store_true", help="run without the InfluxDB audit trail (demos)"
    )


def settings_from(args: argparse.Namespace, env: Mapping[str, str]) -> HubSettings:
    secret_text = env.get("VIGIL_HUB_TOKEN_SECRET", "")
    if secret_text:
        secret = secret_text.encode()
        if len(secret) < MIN_SECRET_BYTES:
            raise ConfigError(
                f"VIGIL_HUB_TOKEN_SECRET must be at least {MIN_SECRET_BYTES} bytes "
                "(`vigil hub secret` prints one)"
            )
    else:
        log.warning("VIGIL_HUB_TOKEN_SECRET not set: tokens will not survive a restart")
        secret = secrets.token_bytes(MIN_SECRET_BYTES)
    influx = None if args.no_audit else influx_from_env(env)
    if influx is None and not args.no_audit:
        raise ConfigError(
            "the audit trail needs InfluxDB: set VIGIL_INFLUX_URL/_ORG/_BUCKET/_TOKEN "
            "(`vigil services env`), or pass --no-audit"
        )
    origins = origins_from_text(
        ",".join([env.get("VIGIL_HUB_ALLOWED_ORIGINS", ""), *args.allowed_origin])
    )
    return HubSettings(
        mqtt=MqttSettings.from_url(
            env.get("VIGIL_MQTT_URL", "mqtt://127.0.0.1:1883"), root=args.mqtt_root
        ),
        influx=influx,
        users_file=args.users,
        token_secret=secret,
        host=args.host,
        port=args.port,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        allowed_origins=origins,
        escalation_s={"high": args.escalate_high_s},
    )


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise ConfigError("the passwords differ")
    if len(password) < _MIN_PASSWORD:
        raise ConfigError(f"a password needs at least {_MIN_PASSWORD} characters")
    return password


def _user(args: argparse.Namespace) -> int:
    path: Path = args.users
    directory = load_users(path)
    if args.user_action == "list":
        for account in directory.accounts:
            print(f"{account.name}\t{account.role}")  # noqa: T201
        return 0
    if args.user_action == "remove":
        if directory.get(args.name) is None:
            print(f"no account {args.name} in {path}", file=sys.stderr)  # noqa: T201
            return 1
        save_users(path, directory.without(args.name))
        return 0
    password = _read_password(args.password_stdin)
    account = Account(name=args.name, role=args.role, password_hash=hash_password(password))
    save_users(path, directory.with_account(account))
    print(f"{account.name} ({account.role}) saved in {path}")  # noqa: T201
    return 0


def run(args: argparse.Namespace) -> int:
    action = args.hub_action
    if action == "secret":
        print(secrets.token_urlsafe(48))  # noqa: T201
        return 0
    try:
        if action == "user":
            return _user(args)
    except UsersFileError as err:
        raise ConfigError(str(err)) from err
    settings = settings_from(args, os.environ)
    if not load_users(settings.users_file).accounts:
        log.warning("no accounts in %s: add one with `vigil hub user add`", settings.users_file)
    asyncio.run(_serve(settings))
    return 0


async def _serve(settings: HubSettings) -> None:
    """Run until SIGTERM/SIGINT, then shut down in order (clients closed, audit flushed)."""
    task = asyncio.current_task()
    assert task is not None  # always inside asyncio.run
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    # Everything allocated so far (modules, settings) lives as long as the process: moved out
    # of the collector's reach, so a full collection does not stall the alarm path scanning it.
    gc.freeze()
    with contextlib.suppress(asyncio.CancelledError):
        await run_hub(settings)
