"""Session tokens: HMAC-SHA256-signed claims with an expiry. Pure: the caller passes the time.

Form: ``v1.<claims>.<signature>``, both base64url without padding; the claims are JSON
``{"sub": name, "iat": issued, "exp": expires}`` (epoch seconds). The role is not in the
token: it is looked up in the accounts file at every hello, so removing an account or changing
its role takes effect on the next connection.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field

import msgspec

from alerts.hub.errors import TokenError

_PREFIX = "v1"
MIN_SECRET_BYTES = 32
# Clocks of one deployment agree within seconds; a token "issued" later than this is forged
# or from a misconfigured host.
_SKEW_S = 60.0


class _Claims(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    sub: str
    iat: float
    exp: float


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user: str
    issued_at: float
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenSigner:
    secret: bytes = field(repr=False)
    ttl_s: float

    def __post_init__(self) -> None:
        if len(self.secret) < MIN_SECRET_BYTES:
            raise TokenError(f"the token secret must be at least {MIN_SECRET_BYTES} bytes")
        if self.ttl_s <= 0:
            raise TokenError("the token lifetime must be > 0 s")

    def _sign(self, body: str) -> str:
        mac = hmac.new(self.secret, f"{_PREFIX}.{body}".encode("ascii"), hashlib.sha256)
        return _b64(mac.digest())

    def issue(self, user: str, now: float) -> tuple[str, TokenClaims]:
        claims = TokenClaims(user=user, issued_at=now, expires_at=now + self.ttl_s)
        body = _b64(msgspec.json.encode(_Claims(sub=user, iat=now, exp=claims.expires_at)))
        return f"{_PREFIX}.{body}.{self._sign(body)}", claims

    def verify(self, token: str, now: float) -> TokenClaims:
        """The claims of a valid token; `TokenError` ("invalid token", "token expired") if not."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _PREFIX:  # prefix, claims, signature
            raise TokenError("invalid token")
        expected = self._sign(parts[1]).encode("ascii")
        if not hmac.compare_digest(expected, parts[2].encode("ascii", "replace")):
            raise TokenError("invalid token")
        try:
            claims = msgspec.json.decode(_unb64(parts[1]), type=_Claims)
        except (ValueError, msgspec.DecodeError) as err:
            raise TokenError("invalid token") from err
        if claims.iat > now + _SKEW_S:
            raise TokenError("invalid token")
        if now >= claims.exp:
            raise TokenError("token expired")
        return TokenClaims(user=claims.sub, issued_at=claims.iat, expires_at=claims.exp)
