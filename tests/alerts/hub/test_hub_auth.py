"""Pure auth cores: scrypt passwords, HMAC tokens, the accounts file."""

from __future__ import annotations

import pytest

from alerts.hub.errors import TokenError, UsersFileError
from alerts.hub.passwords import hash_password, is_password_hash, verify_password
from alerts.hub.tokens import TokenClaims, TokenSigner
from alerts.hub.users import (
    Account,
    UserDirectory,
    load_users,
    parse_users,
    render_users,
    save_users,
)

SECRET = b"s" * 32


def test_password_round_trip_and_refusals():
    stored = hash_password("correct horse", n=2**8)
    assert is_password_hash(stored)
    assert verify_password("correct horse", stored)
    assert not verify_password("correct horsE", stored)
    assert not verify_password("correct horse", None)
    assert not verify_password("correct horse", "plain-text")
    assert hash_password("x", n=2**8) != hash_password("x", n=2**8)  # salted


@pytest.mark.parametrize(
    "text",
    [
        "",
        "scrypt$1$8$1$AA==$AA==",
        "scrypt$1000$8$1$AA==$AA==",
        "bcrypt$16384$8$1$AA==$AA==",
        "scrypt$x$8$1$AA==$AA==",
        "scrypt$16384$8$1$!!$AA==",
    ],
)
def test_malformed_hashes_are_not_hashes(text):
    assert not is_password_hash(text)


def test_token_round_trip():
    signer = TokenSigner(SECRET, ttl_s=100)
    token, claims = signer.issue("dr-a", 1000.0)
    assert claims == TokenClaims(user="dr-a", issued_at=1000.0, expires_at=1100.0)
    assert signer.verify(token, 1099.9) == claims


@pytest.mark.parametrize(
    ("mutate", "now", "reason"),
    [
        (lambda t: t, 1100.0, "token expired"),
        (lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), 1000.0, "invalid token"),
        (lambda t: "v2" + t[2:], 1000.0, "invalid token"),
        (lambda t: t + ".x", 1000.0, "invalid token"),
        (lambda t: "garbage", 1000.0, "invalid token"),
        (lambda t: t, 900.0, "invalid token"),  # issued in the future: forged or a bad clock
    ],
)
def test_tokens_are_refused_with_a_safe_reason(mutate, now, reason):
    signer = TokenSigner(SECRET, ttl_s=100)
    token, _ = signer.issue("dr-a", 1000.0)
    with pytest.raises(TokenError) as err:
        signer.verify(mutate(token), now)
    assert err.value.reason == reason


def test_a_token_of_another_secret_is_invalid():
    token, _ = TokenSigner(b"t" * 32, ttl_s=100).issue("dr-a", 1000.0)
    with pytest.raises(TokenError, match="invalid token"):
        TokenSigner(SECRET, ttl_s=100).verify(token, 1000.0)


def test_weak_secrets_and_lifetimes_are_refused():
    with pytest.raises(TokenError):
        TokenSigner(b"short", ttl_s=100)
    with pytest.raises(TokenError):
        TokenSigner(SECRET, ttl_s=0)


def test_accounts_file_round_trip(tmp_path):
    path = tmp_path / "users.toml"
    assert load_users(path) == UserDirectory()
    a = Account(name="dr-a", role="clinician", password_hash=hash_password("pw", n=2**8))
    s = Account(name="sup.1", role="supervisor", password_hash=hash_password("pw", n=2**8))
    save_users(path, UserDirectory().with_account(s).with_account(a))
    loaded = load_users(path)
    assert loaded.accounts == (a, s)
    assert path.stat().st_mode & 0o777 == 0o600
    assert loaded.without("dr-a").accounts == (s,)
    assert loaded.get("nobody") is None
    assert parse_users(render_users(loaded)) == loaded


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("users = 1", "must be a table"),
        ("[users]\nx = 1", "must be a table"),
        ('[users."dr-a"]\nrole = "clinician"', "needs role and password"),
        (
            '[users."dr-a"]\nrole = "boss"\npassword = "scrypt$256$8$1$AA==$AA=="',
            "role must be one of",
        ),
        (
            '[users."Jane Doe"]\nrole = "clinician"\npassword = "scrypt$256$8$1$AA==$AA=="',
            "pseudonymous id",
        ),
        ('[users."dr-a"]\nrole = "clinician"\npassword = "hunter2"', "not a scrypt hash"),
        (
            '[users."dr-a"]\nrole = "clinician"\npassword = "scrypt$256$8$1$AA==$AA=="\nextra = 1',
            "unknown keys",
        ),
        ("[users", "not valid TOML"),
    ],
)
def test_invalid_accounts_files_name_the_problem(text, message):
    with pytest.raises(UsersFileError, match=message):
        parse_users(text)
