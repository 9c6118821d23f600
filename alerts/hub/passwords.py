"""Password hashing with scrypt (RFC 7914) and a per-account random salt. Pure, no I/O.

The stored form is ``scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`` so the cost can be raised later
without invalidating existing accounts. Verification is constant-time, and an unknown account
is checked against a dummy hash so that timing does not reveal which names exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# n = 2**14, r = 8: 16 MiB and ~50 ms per check (the parameters of RFC 7914 section 2 for
# interactive logins); a login is rare, a guessing attacker pays the same price.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
_SALT_BYTES = 16
_HASH_BYTES = 32
_MAX_N = 2**20
_FIELDS = 6


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=n,
        r=r,
        p=p,
        maxmem=128 * r * (n + p + 2) + 1024 * 1024,
        dklen=_HASH_BYTES,
    )


def hash_password(password: str, *, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(_derive(password, salt, n, r, p))}"


def is_password_hash(text: str) -> bool:
    parts = text.split("$")
    if len(parts) != _FIELDS or parts[0] != "scrypt":
        return False
    try:
        n, r, p = (int(part) for part in parts[1:4])
        base64.b64decode(parts[4], validate=True)
        base64.b64decode(parts[5], validate=True)
    except ValueError:
        return False
    return 1 < n <= _MAX_N and n & (n - 1) == 0 and 0 < r <= 32 and 0 < p <= 16


# Checked when the account does not exist, so a miss costs as much as a wrong password.
_DUMMY = hash_password("vigil-dummy-password")


def verify_password(password: str, stored: str | None) -> bool:
    """True if `password` matches `stored`; a missing or malformed `stored` never matches."""
    target = stored if stored is not None and is_password_hash(stored) else _DUMMY
    _, n, r, p, salt, expected = target.split("$")
    actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(actual, base64.b64decode(expected)) and target is stored
