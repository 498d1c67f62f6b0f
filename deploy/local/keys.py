"""Key-encryption keys for local runs: one per service, generated once, kept under the run's home.

Production takes each service's KEK from a secrets manager or KMS (`KASANE_<NAME>_KEK` or
`KASANE_<NAME>_KEK_FILE`); locally a file with mode 0600 plays that part.
"""

from pathlib import Path

from libs.crypto import KeyEncryptionKey


def kek_file(home: Path, service: str) -> Path:
    """The KEK file of `service` under `home`, created on first use."""
    path = home / "keys" / f"{service}.kek"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        path.touch(mode=0o600)
        path.write_text(KeyEncryptionKey.generate(f"{service}-local-1").encode())
    return path


def kek_env(home: Path, service: str) -> dict[str, str]:
    """The environment a service needs to find its KEK."""
    return {f"KASANE_{service.upper()}_KEK_FILE": str(kek_file(home, service))}
