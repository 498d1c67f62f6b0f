"""A small local token issuer for `make run` and tests (production uses the municipality's OIDC).

Keeps an ES256 key pair under its home folder, publishes the public key as a JWKS file the
services read, and signs tokens for the demo users of the directory.

    python -m deploy.local.issuer token soudan-sato    # prints a bearer token for curl
"""

import json
import sys
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from contracts import programs
from libs.auth import MAX_LIFETIME
from libs.directory import Directory

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_HOME = ROOT / ".kasane" / "run" / "issuer"
ISSUER = "https://auth.kasane.invalid/local"
AUDIENCES = [f"kasane-{s}" for s in (*programs.NAMES, programs.DIRECTORY, programs.PROJECTIONS)]


class LocalIssuer:
    def __init__(self, home: Path = DEFAULT_HOME, issuer: str = ISSUER) -> None:
        self.home = home
        self.issuer = issuer
        self.key_file = home / "signing-key.pem"
        self.jwks_file = home / "jwks.json"
        self.kid = "local-1"
        if not self.key_file.exists():
            self._create_key()
        self._key = serialization.load_pem_private_key(self.key_file.read_bytes(), password=None)

    def _create_key(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.key_file.touch(mode=0o600)
        self.key_file.write_bytes(pem)
        public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        public |= {"kid": self.kid, "use": "sig", "alg": "ES256"}
        self.jwks_file.write_text(json.dumps({"keys": [public]}, indent=2))

    def token(
        self,
        user: str,
        organisation: str,
        roles: list[str],
        *,
        audience: str | list[str] = AUDIENCES,
        lifetime: int = MAX_LIFETIME,
        issuer: str | None = None,
        now: float | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": issuer or self.issuer,
            "aud": audience,
            "sub": user,
            "org": organisation,
            "roles": roles,
            "iat": issued,
            "exp": issued + lifetime,
            "jti": str(uuid.uuid4()),
        }
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})

    def token_for(self, user_id: str, directory: Directory | None = None, **kwargs: object) -> str:
        user = (directory or Directory.load()).users[user_id]
        return self.token(user.id, user.organisation, sorted(user.roles), **kwargs)  # type: ignore[arg-type]


class Tokens:
    """Bearer tokens of the directory's users for a long-running client (the demo loader, the fault
    workload): each renewed well before the hour a token may live."""

    def __init__(
        self, issuer: LocalIssuer, directory: Directory, renew_after: float = MAX_LIFETIME / 2
    ) -> None:
        self.issuer = issuer
        self.directory = directory
        self.renew_after = renew_after
        self._minted: dict[str, tuple[float, str]] = {}

    def __getitem__(self, user: str) -> str:
        now = time.monotonic()
        minted = self._minted.get(user)
        if minted is None or now - minted[0] > self.renew_after:
            minted = (now, self.issuer.token_for(user, self.directory))
            self._minted[user] = minted
        return minted[1]


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] != "token":
        print("usage: python -m deploy.local.issuer token <user-id>", file=sys.stderr)
        return 2
    directory = Directory.load()
    if sys.argv[2] not in directory.users:
        print(f"unknown user; demo users: {', '.join(directory.users)}", file=sys.stderr)
        return 2
    print(LocalIssuer().token_for(sys.argv[2], directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
