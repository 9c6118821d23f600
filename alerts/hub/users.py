"""Clinician accounts: a TOML file of names, roles and scrypt hashes (`vigil hub user ...`).

    [users."dr-a"]
    role = "clinician"
    password = "scrypt$16384$8$1$...$..."

Names are pseudonymous ids (the wire pattern), because they travel in `Command.by` and in the
audit trail. Reading and writing are plain functions over a `Path`; `UserDirectory` is the
in-memory, read-only view the hub checks logins against.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from alerts.hub.errors import UsersFileError
from alerts.hub.passwords import is_password_hash
from vigil.wire import valid_id

Role = Literal["clinician", "supervisor"]
ROLES: tuple[str, ...] = get_args(Role)


@dataclass(frozen=True, slots=True)
class Account:
    name: str
    role: Role
    password_hash: str

    def __post_init__(self) -> None:
        if not valid_id(self.name):
            raise UsersFileError(
                f"account name {self.name!r} must match [A-Za-z0-9][A-Za-z0-9_.-]{{0,63}} "
                "(a pseudonymous id, not a person's name)"
            )
        if self.role not in ROLES:
            raise UsersFileError(f"account {self.name}: role must be one of {', '.join(ROLES)}")
        if not is_password_hash(self.password_hash):
            raise UsersFileError(f"account {self.name}: password is not a scrypt hash")


@dataclass(frozen=True, slots=True)
class UserDirectory:
    accounts: tuple[Account, ...] = ()

    def get(self, name: str) -> Account | None:
        for account in self.accounts:
            if account.name == name:
                return account
        return None

    def with_account(self, account: Account) -> UserDirectory:
        others = tuple(a for a in self.accounts if a.name != account.name)
        return UserDirectory(tuple(sorted((*others, account), key=lambda a: a.name)))

    def without(self, name: str) -> UserDirectory:
        return UserDirectory(tuple(a for a in self.accounts if a.name != name))


def parse_users(text: str, *, source: str = "users file") -> UserDirectory:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise UsersFileError(f"{source}: not valid TOML: {err}") from err
    table = document.get("users", {})
    if not isinstance(table, dict):
        raise UsersFileError(f"{source}: [users] must be a table")
    accounts = []
    for name, entry in table.items():
        if not isinstance(entry, dict):
            raise UsersFileError(f"{source}: users.{name} must be a table")
        role, password = entry.get("role"), entry.get("password")
        if not isinstance(role, str) or not isinstance(password, str):
            raise UsersFileError(f"{source}: users.{name} needs role and password strings")
        if set(entry) - {"role", "password"}:
            raise UsersFileError(f"{source}: users.{name} has unknown keys")
        accounts.append(Account(name=name, role=role, password_hash=password))  # type: ignore[arg-type]
    return UserDirectory(tuple(sorted(accounts, key=lambda a: a.name)))


def render_users(directory: UserDirectory) -> str:
    lines = [
        "# Vigil hub accounts, managed by `vigil hub user add|remove`.",
        "# Passwords are scrypt hashes; names are pseudonymous ids.",
    ]
    for account in directory.accounts:
        # Names are restricted to [A-Za-z0-9_.-], so a basic string needs no escaping.
        lines += ["", f'[users."{account.name}"]', f'role = "{account.role}"']
        lines.append(f'password = "{account.password_hash}"')
    return "\n".join(lines) + "\n"


def load_users(path: Path) -> UserDirectory:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return UserDirectory()
    except OSError as err:
        raise UsersFileError(f"cannot read {path}: {err.strerror}") from err
    return parse_users(text, source=str(path))


def save_users(path: Path, directory: UserDirectory) -> None:
    """Write atomically with owner-only permissions: the file holds password hashes."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(render_users(directory))
        tmp.replace(path)
    except OSError as err:
        raise UsersFileError(f"cannot write {path}: {err.strerror}") from err
