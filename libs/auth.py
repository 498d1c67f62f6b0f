"""Authentication: every request carries a bearer JWT, verified before anything else runs.

Tokens come from the municipality's OIDC provider in production and from the local issuer
(`deploy/local/issuer.py`) for `make run` and tests. We accept only asymmetric signatures
(ES256/RS256) from keys in the configured JWKS, and require issuer, audience, expiry and
issue time, with a lifetime of at most an hour (`KASANE_AUTH_MAX_TOKEN_LIFETIME`, seconds): a
leaked token is worth little for long. `sub`, `org` and `roles` say who acts, for which
organisation, as what; the service then checks them against the municipality's directory
(`libs.authz.check_identity`): a valid signature proves who issued the token, not that the municipality
still lets that person act so.
"""

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from fastapi import HTTPException, Request

from contracts.envelope import CODE_PATTERN
from contracts.glossary import Role

log = logging.getLogger(__name__)

ALGORITHMS = ["ES256", "RS256"]
MAX_LIFETIME = 3600
"""Seconds a token may live from its issue (exp − iat), unless configured otherwise."""
_CODE = re.compile(CODE_PATTERN)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user: str
    organisation: str
    roles: frozenset[Role]

    def has_any(self, *roles: Role) -> bool:
        return bool(self.roles.intersection(roles))


class Unauthenticated(Exception):
    """The token is missing or not acceptable; the reason is logged, not shown."""


@dataclass(frozen=True)
class AuthSettings:
    issuer: str
    audience: str
    jwks: str  # a file path locally; an https URL of the provider's JWKS in production
    max_lifetime: int = MAX_LIFETIME

    @classmethod
    def from_env(cls, service: str) -> "AuthSettings":
        return cls(
            issuer=os.environ.get("KASANE_AUTH_ISSUER", "https://auth.kasane.invalid/local"),
            audience=os.environ.get(f"KASANE_{service.upper()}_AUDIENCE", f"kasane-{service}"),
            jwks=os.environ.get("KASANE_AUTH_JWKS", str(Path(".kasane/run/issuer/jwks.json").resolve())),
            max_lifetime=int(os.environ.get("KASANE_AUTH_MAX_TOKEN_LIFETIME", MAX_LIFETIME)),
        )


class TokenVerifier:
    """Checks signature, issuer, audience and lifetime, then reads the Kasane claims."""

    def __init__(self, settings: AuthSettings) -> None:
        self.settings = settings
        self._client: jwt.PyJWKClient | None = None
        self._keys: dict[str, Any] | None = None
        if settings.jwks.startswith("https://"):
            self._client = jwt.PyJWKClient(settings.jwks, cache_keys=True, lifespan=300)

    def _key_for(self, token: str) -> Any:
        if self._client is not None:
            return self._client.get_signing_key_from_jwt(token).key
        if self._keys is None:
            jwks = json.loads(Path(self.settings.jwks).read_text())
            self._keys = {k["kid"]: jwt.PyJWK(k).key for k in jwks["keys"]}
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self._keys:
            raise Unauthenticated("unknown signing key")
        return self._keys[kid]

    def verify(self, token: str) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._key_for(token),
                algorithms=ALGORITHMS,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=30,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except (jwt.PyJWTError, ValueError, KeyError) as exc:
            raise Unauthenticated(type(exc).__name__) from exc
        if not isinstance(claims["exp"], int | float) or not isinstance(claims["iat"], int | float):
            raise Unauthenticated("exp or iat is not a number")
        if claims["exp"] - claims["iat"] > self.settings.max_lifetime:
            raise Unauthenticated("token lifetime longer than allowed")
        user, org, roles = claims.get("sub"), claims.get("org"), claims.get("roles")
        if not (isinstance(user, str) and _CODE.match(user) and isinstance(org, str) and _CODE.match(org)):
            raise Unauthenticated("bad subject or organisation claim")
        if not isinstance(roles, list) or not roles:
            raise Unauthenticated("no roles")
        try:
            return Principal(user, org, frozenset(Role(r) for r in roles))
        except ValueError as exc:
            raise Unauthenticated("unknown role") from exc


def authenticate(verifier: TokenVerifier, request: Request) -> Principal:
    """The principal of a request, or 401 with a reason a client developer can act on."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            401,
            detail="認証が必要です。Authorization: Bearer <トークン> を付けてください。",
            headers={"WWW-Authenticate": 'Bearer realm="kasane"'},
        )
    try:
        return verifier.verify(token.strip())
    except Unauthenticated as exc:
        log.warning("authentication refused on %s %s: %s", request.method, request.url.path, exc)
        raise HTTPException(
            401,
            detail="トークンが無効です（署名・発行者・対象・有効期限を確認してください）。",
            headers={"WWW-Authenticate": 'Bearer realm="kasane", error="invalid_token"'},
        ) from exc
