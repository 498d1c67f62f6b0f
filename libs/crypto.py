"""Personal data encrypted per person, and erased by destroying that person's key (crypto-shredding).

Why: events are immutable and hash-chained (ADR 0001), yet a person's details must be
destroyable when their retention period ends or an erasure request is granted. Every personal
field is therefore stored sealed under a data key (DEK) of its own person; destroying that one
key erases every copy of those fields in the event log, the outbox and any table that holds the
sealed token, while the hash chain (computed over ciphertext) stays verifiable.

**Envelope encryption.** Each person (`subject_ref`) gets a random 256-bit DEK, stored only
wrapped (AES-256-GCM) by a key-encryption key (KEK) in `subject_keys`. The KEK comes from
configuration (`KeyEncryptionKey.from_env`: a secrets manager or a KMS decrypts it at start-up;
locally an env var or a file). Rotating the KEK re-wraps 60-byte keys (`rewrap`), never events.

**Token format** (JSON, stored in place of the plain value)::

    {"$sealed": "v1", "subject": "subj_<32 hex>", "ct": base64(nonce[12] | ciphertext | tag[16])}

The plaintext is the canonical JSON of the value, padded with spaces (valid trailing JSON
whitespace) to a multiple of 32 bytes so that short values do not reveal their exact length.
The associated data binds the ciphertext to its subject: a token copied to another person,
or edited, fails to open (`TamperedTokenError`). The wrapped DEK is bound in the same way to
its subject and KEK id, so wrapped keys cannot be swapped between rows either.

**Erasure keeps a tombstone.** `erase` sets `wrapped_dek` and `kek_id` to NULL and stamps
`erased_at`, rather than deleting the row, so that (a) the system can tell "this person was
erased" (`open` returns `ERASED`, `status` says `ERASED`) from "this key never existed here"
(an error: wrong database or corrupt data), and (b) a late re-delivery or replay that seals
data for an erased person fails (`SubjectErasedError`) instead of silently minting a fresh key
and storing new personal data about someone who was erased. Erasing an unknown subject leaves
a tombstone too, for the same reason. The tombstone holds only the pseudonym and timestamps.

**Key cache: one transaction, never the process.** Unwrapped DEKs are cached per SQLAlchemy
transaction (sealing several fields of one person costs one key lookup) and dropped when the
transaction ends. A process-wide cache would keep opening data that another process had
erased; per transaction, an erasure committed elsewhere is seen by the next transaction. A
transaction that loaded a key before the erasure committed behaves as if it ran just before
it. Nothing enters the cache while a savepoint is open (its rollback could remove a key row
the cache would still remember), and `erase` drops the subject from it at once.

**Where to call `seal` in a command.** Load the stream first, seal afterwards (between decide
and append): the first seal for a new person inserts its key row, which is the transaction's
first write and assigns its transaction id. ADR 0002 needs that id to be assigned after the
stream read. Existing keys are only read, so sealing for a known person writes nothing.

**What erasure cannot reach** (be honest with the municipality about these):
- PostgreSQL keeps the old row version, wrapped DEK included, until vacuum reaches the page,
  which autovacuum may not do for a long time, and pruning gives no promise to overwrite the
  freed bytes. `compact_key_table` (VACUUM FULL + CHECKPOINT) rewrites the table file, after
  which the data directory no longer holds the wrapped DEK (tests/integration/test_crypto.py).
- WAL segments (including archived WAL and replicas' WAL) and base backups still hold the
  wrapped DEK until they age out (checked: right after erasure it is still in `pg_wal`). They are useless without the KEK that wrapped it, so erasure
  becomes irreversible only once that KEK is destroyed: rotate the KEK on a schedule (new KEK
  current everywhere, `rewrap`, confirm with `kek_usage`), and destroy each old KEK when the
  last backup/WAL that needs it passes its retention. An erasure is complete at most one
  rotation interval plus the backup retention after it happened; destroying an old KEK also
  makes every backup taken under it unrestorable, which is the point.
- Plaintext that left the sealed form: read models or projections that store opened values,
  exports, logs, Kafka (public events carry no personal data by ADR 0004, only `subject_ref`)
  and other services' databases (each service has its own `subject_keys`; an erasure must be
  carried out in every service that holds data about the person).
- Unsealed fields: what a service leaves in clear (dates, district codes, tags) stays.
- Process memory and filesystem remanence of deleted files: Python cannot wipe key bytes.
- Ciphertext length, rounded up to 32 bytes, and the pseudonym itself remain.

Never log parameters of statements on `subject_keys` (`log_statement`, `log_parameter_max_length`):
the wrapped DEK would then live in server logs, again readable with the KEK.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any, Final, TypeAlias

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from contracts.events import SUBJECT_REF_PATTERN

__all__ = [
    "ERASED",
    "SEALED_VERSION",
    "CryptoError",
    "Erased",
    "InvalidTokenError",
    "KeyConfigurationError",
    "KeyEncryptionKey",
    "KeyState",
    "KeyUnavailableError",
    "PersonalDataCipher",
    "SubjectErasedError",
    "TamperedTokenError",
    "compact_key_table",
    "is_sealed",
    "kek_usage",
]

JsonValue: TypeAlias = Any
"""Anything `json.dumps` accepts: dict, list, str, int, float, bool or None."""

SEALED_VERSION: Final = "v1"
SEALED_KEY: Final = "$sealed"
_NONCE_BYTES: Final = 12
_KEY_BYTES: Final = 32
_TAG_BYTES: Final = 16
_PAD_TO: Final = 32
_DATA_AAD: Final = b"kasane.sealed.v1\x00"
_DEK_AAD: Final = b"kasane.dek.v1\x00"
_SUBJECT_REF: Final = re.compile(SUBJECT_REF_PATTERN)
_KEK_ID: Final = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


# --- errors and the erased marker ---------------------------------------------------------
# Messages name subjects (pseudonyms) and KEK ids, never a value or key byte.


class CryptoError(Exception):
    """Base of every error raised here."""


class KeyConfigurationError(CryptoError):
    """The KEK configuration is missing or malformed."""


class InvalidTokenError(CryptoError):
    """The value is not a sealed token this code understands (shape, version, encoding)."""


class TamperedTokenError(CryptoError):
    """The token does not authenticate: its ciphertext was edited or it was moved to another subject."""


class KeyUnavailableError(CryptoError):
    """The subject's key cannot be used: unknown here, wrapped by an unconfigured KEK, or the
    configured KEK does not unwrap it (wrong key material, or the key row was edited)."""


class SubjectErasedError(CryptoError):
    """Refused to seal new data for a subject whose key was destroyed."""

    def __init__(self, subject_ref: str) -> None:
        super().__init__(f"{subject_ref} was erased; no new personal data may be sealed for it")
        self.subject_ref = subject_ref


class Erased(Enum):
    """What `open` returns for data whose key was destroyed: the data no longer exists.

    An enum member is a true singleton (survives copy and pickle). It is falsy, like an absent
    value; test with `value is ERASED`.
    """

    ERASED = "erased"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "ERASED"


ERASED: Final = Erased.ERASED


class KeyState(StrEnum):
    """What `subject_keys` knows about a subject."""

    LIVE = "live"
    ERASED = "erased"
    UNKNOWN = "unknown"


# --- the key-encryption key ---------------------------------------------------------------


@dataclass(frozen=True)
class KeyEncryptionKey:
    """A KEK: an id recorded next to every DEK it wraps, and 32 secret bytes (never in repr).

    Configuration format, for env vars and files alike: ``<kek_id>:<base64 of 32 bytes>``.
    """

    kek_id: str
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEK_ID.fullmatch(self.kek_id):
            raise KeyConfigurationError("a KEK id is 1-64 characters of A-Z a-z 0-9 . _ -")
        if len(self.material) != _KEY_BYTES:
            raise KeyConfigurationError(f"KEK {self.kek_id!r} must be {_KEY_BYTES} bytes")

    @classmethod
    def generate(cls, kek_id: str | None = None) -> KeyEncryptionKey:
        """A new random KEK; the default id carries its creation date, to see its age at a glance."""
        return cls(kek_id or f"kek-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(3)}", os.urandom(_KEY_BYTES))

    @classmethod
    def parse(cls, value: str) -> KeyEncryptionKey:
        """Read ``<kek_id>:<base64>``."""
        kek_id, sep, encoded = value.strip().partition(":")
        if not sep:
            raise KeyConfigurationError("a KEK is written '<kek_id>:<base64 of 32 bytes>'")
        try:
            material = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise KeyConfigurationError(f"KEK {kek_id!r} is not valid base64") from None
        return cls(kek_id, material)

    def encode(self) -> str:
        """The configuration form, ``<kek_id>:<base64>``: handle it as a secret."""
        return f"{self.kek_id}:{base64.b64encode(self.material).decode()}"

    @classmethod
    def from_env(cls, prefix: str = "KASANE", environ: Mapping[str, str] | None = None) -> KeyEncryptionKey:
        """The current KEK from ``{prefix}_KEK`` or, for mounted secrets, the file ``{prefix}_KEK_FILE``."""
        env = os.environ if environ is None else environ
        if value := env.get(f"{prefix}_KEK"):
            return cls.parse(value)
        if path := env.get(f"{prefix}_KEK_FILE"):
            return cls.parse(Path(path).read_text())
        raise KeyConfigurationError(f"set {prefix}_KEK or {prefix}_KEK_FILE to '<kek_id>:<base64>'")

    @classmethod
    def previous_from_env(
        cls, prefix: str = "KASANE", environ: Mapping[str, str] | None = None
    ) -> list[KeyEncryptionKey]:
        """Retired KEKs still needed to unwrap until `rewrap` has run: ``{prefix}_KEK_PREVIOUS``,
        comma-separated ``<kek_id>:<base64>`` entries (may be unset)."""
        env = os.environ if environ is None else environ
        return [cls.parse(item) for item in env.get(f"{prefix}_KEK_PREVIOUS", "").split(",") if item.strip()]

    def _aad(self, subject_ref: str) -> bytes:
        return _DEK_AAD + self.kek_id.encode() + b"\x00" + subject_ref.encode()

    def wrap(self, subject_ref: str, dek: bytes) -> bytes:
        """nonce | AES-256-GCM(dek), bound to this KEK's id and the subject."""
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + AESGCM(self.material).encrypt(nonce, dek, self._aad(subject_ref))

    def unwrap(self, subject_ref: str, wrapped: bytes) -> bytes:
        try:
            dek = AESGCM(self.material).decrypt(
                wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], self._aad(subject_ref)
            )
        except InvalidTag:
            raise KeyUnavailableError(
                f"the key of {subject_ref} does not unwrap with KEK {self.kek_id!r} "
                "(wrong key material for that id, or the key row was altered)"
            ) from None
        if len(dek) != _KEY_BYTES:
            raise KeyUnavailableError(f"the key of {subject_ref} has the wrong length")
        return dek


# --- tokens (pure) ------------------------------------------------------------------------


def is_sealed(value: object) -> bool:
    """Whether `value` looks like a sealed token (any version)."""
    return isinstance(value, Mapping) and SEALED_KEY in value


def _check_subject(subject_ref: str) -> None:
    if not isinstance(subject_ref, str) or not _SUBJECT_REF.fullmatch(subject_ref):
        raise ValueError("subject_ref must match " + SUBJECT_REF_PATTERN)


def _encode_plaintext(value: JsonValue) -> bytes:
    raw = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    data = raw.encode()
    return data + b" " * (-len(data) % _PAD_TO)


def _seal_with(dek: AESGCM, subject_ref: str, value: JsonValue) -> dict[str, str]:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = nonce + dek.encrypt(nonce, _encode_plaintext(value), _DATA_AAD + subject_ref.encode())
    return {SEALED_KEY: SEALED_VERSION, "subject": subject_ref, "ct": base64.b64encode(sealed).decode()}


def _parse_token(token: object) -> tuple[str, bytes]:
    """(subject_ref, nonce | ciphertext | tag) of a well-formed v1 token."""
    if not is_sealed(token):
        raise InvalidTokenError("not a sealed token")
    assert isinstance(token, Mapping)
    if token.get(SEALED_KEY) != SEALED_VERSION:
        raise InvalidTokenError("unsupported sealed-token version")
    if set(token) != {SEALED_KEY, "subject", "ct"}:
        raise InvalidTokenError("a v1 sealed token has exactly the keys $sealed, subject and ct")
    subject_ref, encoded = token["subject"], token["ct"]
    try:
        _check_subject(subject_ref)
    except ValueError:
        raise InvalidTokenError("sealed token has an invalid subject") from None
    if not isinstance(encoded, str):
        raise InvalidTokenError("sealed token ciphertext is not a string")
    try:
        sealed = base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise InvalidTokenError(f"sealed token of {subject_ref} is not valid base64") from None
    if len(sealed) < _NONCE_BYTES + _TAG_BYTES:
        raise TamperedTokenError(f"sealed token of {subject_ref} is truncated")
    return subject_ref, sealed


def _open_with(dek: AESGCM, subject_ref: str, sealed: bytes) -> JsonValue:
    try:
        plain = dek.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _DATA_AAD + subject_ref.encode())
    except InvalidTag:
        raise TamperedTokenError(
            f"sealed token of {subject_ref} does not authenticate (edited, or moved from another subject)"
        ) from None
    return json.loads(plain.decode())


# --- SQL ----------------------------------------------------------------------------------

_SELECT_KEYS = text(
    "SELECT subject_ref, kek_id, wrapped_dek FROM subject_keys WHERE subject_ref = ANY(CAST(:refs AS text[]))"
)
_CREATE_KEY = text(
    "INSERT INTO subject_keys (subject_ref, kek_id, wrapped_dek) VALUES (:s, :k, :w) "
    "ON CONFLICT (subject_ref) DO NOTHING RETURNING subject_ref"
)
_DESTROY_KEY = text(
    "UPDATE subject_keys SET wrapped_dek = NULL, kek_id = NULL, erased_at = clock_timestamp() "
    "WHERE subject_ref = :s AND erased_at IS NULL RETURNING subject_ref"
)
_TOMBSTONE = text(
    "INSERT INTO subject_keys (subject_ref, erased_at) VALUES (:s, clock_timestamp()) "
    "ON CONFLICT (subject_ref) DO NOTHING RETURNING subject_ref"
)
_STATE = text("SELECT erased_at IS NOT NULL AS erased FROM subject_keys WHERE subject_ref = :s")
_TO_REWRAP = text(
    "SELECT subject_ref, kek_id, wrapped_dek FROM subject_keys "
    "WHERE wrapped_dek IS NOT NULL AND kek_id <> :new AND subject_ref > :after "
    "ORDER BY subject_ref LIMIT :limit"
)
# Compare-and-set on the old wrapped bytes: a row erased (or re-wrapped) since it was read is
# left alone, so a concurrent erase can never be undone by writing the key back.
_REWRAP = text(
    "UPDATE subject_keys AS k SET kek_id = :new, wrapped_dek = u.w "
    "FROM unnest(CAST(:refs AS text[]), CAST(:olds AS bytea[]), CAST(:news AS bytea[])) AS u(s, o, w) "
    "WHERE k.subject_ref = u.s AND k.wrapped_dek = u.o RETURNING k.subject_ref"
)


# --- the cipher ---------------------------------------------------------------------------

_Key: TypeAlias = AESGCM | Erased


class PersonalDataCipher:
    """Seals and opens personal data under per-subject keys; erases by destroying a key.

    Construct one per process from configuration (`from_env`) and share it. `previous` KEKs
    only unwrap (during a rotation, until `rewrap` has run); new keys are always wrapped by `kek`.
    All methods work in the caller's transaction on `conn`.
    """

    def __init__(self, kek: KeyEncryptionKey, *, previous: Iterable[KeyEncryptionKey] = ()) -> None:
        self.kek = kek
        self._keks = _ring(kek, *previous)
        # Blind index: equal terms give equal tokens, and nothing else can be learnt from a token
        # without this key. Derived from the KEK, so it never sits in the database beside the
        # tokens; a KEK rotation re-derives it (rebuild the register after `rewrap`).
        self._blind_key = hmac.new(kek.material, b"kasane/blind-index/v1", hashlib.sha256).digest()
        # Unwrapped keys per live SQLAlchemy transaction; gone with the transaction object.
        self._tx_keys: weakref.WeakKeyDictionary[object, dict[str, _Key]] = weakref.WeakKeyDictionary()

    @classmethod
    def from_env(cls, prefix: str = "KASANE", environ: Mapping[str, str] | None = None) -> PersonalDataCipher:
        """``{prefix}_KEK`` (or ``_KEK_FILE``) wraps; ``{prefix}_KEK_PREVIOUS`` only unwraps."""
        return cls(
            KeyEncryptionKey.from_env(prefix, environ),
            previous=KeyEncryptionKey.previous_from_env(prefix, environ),
        )

    # -- public API --

    def blind(self, term: str) -> bytes:
        """A keyed token of `term` for searching personal data without storing it (the register)."""
        return hmac.new(self._blind_key, term.encode(), hashlib.sha256).digest()

    async def seal(self, conn: AsyncConnection, subject_ref: str, value: JsonValue) -> dict[str, str]:
        """A sealed token of `value` (any JSON value) under `subject_ref`'s key, created on first use.

        Raises SubjectErasedError if the subject was erased: new data about an erased person is
        refused rather than stored under a fresh key.
        """
        _check_subject(subject_ref)
        key = await self._key_for_sealing(conn, subject_ref)
        return _seal_with(key, subject_ref, value)

    async def open(self, conn: AsyncConnection, token: Mapping[str, Any]) -> JsonValue | Erased:
        """The value sealed in `token`, or `ERASED` if its subject's key was destroyed.

        Raises TamperedTokenError if the token was edited or moved to another subject,
        InvalidTokenError if it is not a v1 token, KeyUnavailableError if the key is missing
        here or cannot be unwrapped with the configured KEKs.
        """
        subject_ref, sealed = _parse_token(token)
        key = (await self._load(conn, {subject_ref}))[subject_ref]
        if key is ERASED:
            return ERASED
        return _open_with(key, subject_ref, sealed)

    async def seal_fields(
        self, conn: AsyncConnection, subject_ref: str, data: Mapping[str, Any], fields: Iterable[str]
    ) -> dict[str, Any]:
        """A copy of `data` with each named field replaced by its sealed token.

        A field is a key or a dotted path into nested dicts (``"person.name"``); a list or dict
        value is sealed whole. A missing path raises KeyError (fail closed: a typo must not leave
        a field in clear). Values that are already sealed are left as they are. One key lookup.
        """
        _check_subject(subject_ref)
        paths = [f.split(".") for f in fields]
        result = _copy_dicts(data)
        if not paths:
            return result
        key = await self._key_for_sealing(conn, subject_ref)
        for path in paths:
            parent = result
            for part in path[:-1]:
                child = parent.get(part)
                if not isinstance(child, dict):
                    raise KeyError(".".join(path))
                parent = child
            if path[-1] not in parent:
                raise KeyError(".".join(path))
            if not is_sealed(parent[path[-1]]):
                parent[path[-1]] = _seal_with(key, subject_ref, parent[path[-1]])
        return result

    async def open_fields(self, conn: AsyncConnection, data: Any, *, erased: Any = ERASED) -> Any:
        """A copy of `data` (dicts and lists walked recursively) with every sealed token opened.

        Tokens of erased subjects become `erased` (default `ERASED`; pass e.g. None or a JSON
        marker for output that must stay JSON). Keys of all subjects found are fetched in one query.
        """
        tokens: list[tuple[str, bytes]] = []
        _collect(data, tokens)
        keys = await self._load(conn, {subject for subject, _ in tokens}) if tokens else {}
        return _replace(data, keys, erased)

    async def erase(self, conn: AsyncConnection, subject_ref: str) -> bool:
        """Destroy the subject's key; True if a key was destroyed by this call. Idempotent.

        An unknown subject gets a tombstone (False), so that nothing can be sealed for it later.
        Race-safe with a concurrent first `seal`: if that one commits its key first, it is destroyed.
        """
        _check_subject(subject_ref)
        self._forget(conn, subject_ref)
        for _ in range(3):
            if (await conn.execute(_DESTROY_KEY, {"s": subject_ref})).first():
                return True
            if (await conn.execute(_TOMBSTONE, {"s": subject_ref})).first():
                return False
            # The row exists: erased before, or a concurrent first seal has just committed its key
            # (READ COMMITTED: this new statement sees it, and the next UPDATE destroys it).
            row = (await conn.execute(_STATE, {"s": subject_ref})).first()
            if row is not None and row.erased:
                return False
        raise CryptoError(f"could not erase {subject_ref}: its key row keeps changing")

    async def status(self, conn: AsyncConnection, subject_ref: str) -> KeyState:
        """Whether `subject_ref` has a live key here, was erased, or was never seen."""
        row = (await conn.execute(_STATE, {"s": subject_ref})).first()
        if row is None:
            return KeyState.UNKNOWN
        return KeyState.ERASED if row.erased else KeyState.LIVE

    async def rewrap(self, conn: AsyncConnection, new_kek: KeyEncryptionKey, *, batch_size: int = 500) -> int:
        """Re-wrap every live DEK not yet under `new_kek`; returns how many were re-wrapped.

        Rotation: make `new_kek` current in every process (old one as `previous`), run this, check
        `kek_usage` shows only the new id, then drop the old KEK from configuration and destroy it
        once no retained backup or WAL needs it. DEKs and events are unchanged, so cached keys and
        tokens stay valid. Resumable and idempotent; a row erased meanwhile is left erased.
        """
        ring = _ring(new_kek, *self._keks.values())
        count, after = 0, ""
        while True:
            rows = (
                await conn.execute(_TO_REWRAP, {"new": new_kek.kek_id, "after": after, "limit": batch_size})
            ).all()
            if not rows:
                return count
            refs, olds, news = [], [], []
            for row in rows:
                old_kek = ring.get(row.kek_id)
                if old_kek is None:
                    raise KeyUnavailableError(
                        f"the key of {row.subject_ref} is wrapped by KEK {row.kek_id!r}, which is not configured"
                    )
                dek = old_kek.unwrap(row.subject_ref, bytes(row.wrapped_dek))
                refs.append(row.subject_ref)
                olds.append(bytes(row.wrapped_dek))
                news.append(new_kek.wrap(row.subject_ref, dek))
            done = await conn.execute(
                _REWRAP, {"new": new_kek.kek_id, "refs": refs, "olds": olds, "news": news}
            )
            count += len(done.all())
            after = rows[-1].subject_ref

    # -- keys --

    def _cache(self, conn: AsyncConnection) -> dict[str, _Key] | None:
        sync = conn.sync_connection
        tx = sync.get_transaction() if sync is not None else None
        if tx is None or not tx.is_active:
            return None
        return self._tx_keys.setdefault(tx, {})

    def _cache_for_write(self, conn: AsyncConnection) -> dict[str, _Key] | None:
        """The cache, unless a savepoint is open: its rollback could remove a key row (or undo an
        erasure) that the cache would then still remember."""
        sync = conn.sync_connection
        if sync is None or sync.get_nested_transaction() is not None:
            return None
        return self._cache(conn)

    def _forget(self, conn: AsyncConnection, subject_ref: str) -> None:
        cache = self._cache(conn)
        if cache is not None:
            cache.pop(subject_ref, None)

    def _unwrap(self, subject_ref: str, kek_id: str | None, wrapped: bytes | None) -> _Key:
        if wrapped is None or kek_id is None:
            return ERASED
        kek = self._keks.get(kek_id)
        if kek is None:
            raise KeyUnavailableError(
                f"the key of {subject_ref} is wrapped by KEK {kek_id!r}, which is not configured"
            )
        return AESGCM(kek.unwrap(subject_ref, bytes(wrapped)))

    async def _load(
        self, conn: AsyncConnection, subjects: set[str], *, missing_ok: bool = False
    ) -> dict[str, _Key]:
        """Keys (or ERASED) of the subjects; an unknown one raises KeyUnavailableError, or is
        left out with `missing_ok`."""
        cache = self._cache(conn) or {}
        found = {s: cache[s] for s in subjects if s in cache}
        missing = sorted(subjects - found.keys())
        if missing:
            rows = (await conn.execute(_SELECT_KEYS, {"refs": missing})).all()
            for row in rows:
                found[row.subject_ref] = self._unwrap(row.subject_ref, row.kek_id, row.wrapped_dek)
            unknown = subjects - found.keys()
            if unknown and not missing_ok:
                raise KeyUnavailableError(f"no key for {min(unknown)} in this database")
            cache = self._cache_for_write(conn)  # the query may have begun the transaction
            if cache is not None:
                cache.update({s: found[s] for s in missing if s in found})
        return found

    async def _key_for_sealing(self, conn: AsyncConnection, subject_ref: str) -> AESGCM:
        """The subject's key, created if it has none. Reads first, so known subjects cost no write."""
        key = (await self._load(conn, {subject_ref}, missing_ok=True)).get(subject_ref)
        if key is None:
            key = await self._create(conn, subject_ref)
        if key is ERASED:
            raise SubjectErasedError(subject_ref)
        return key

    async def _create(self, conn: AsyncConnection, subject_ref: str) -> _Key:
        dek = os.urandom(_KEY_BYTES)
        wrapped = self.kek.wrap(subject_ref, dek)
        inserted = (
            await conn.execute(_CREATE_KEY, {"s": subject_ref, "k": self.kek.kek_id, "w": wrapped})
        ).first()
        if inserted is None:
            # Another transaction created (or erased) it first and has committed: use theirs.
            return (await self._load(conn, {subject_ref}))[subject_ref]
        key = AESGCM(dek)
        cache = self._cache_for_write(conn)
        if cache is not None:
            cache[subject_ref] = key
        return key


def _ring(*keks: KeyEncryptionKey) -> dict[str, KeyEncryptionKey]:
    ring: dict[str, KeyEncryptionKey] = {}
    for kek in keks:
        known = ring.setdefault(kek.kek_id, kek)
        if not secrets.compare_digest(known.material, kek.material):
            raise KeyConfigurationError(f"two different KEKs share the id {kek.kek_id!r}")
    return ring


def _copy_dicts(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _copy_dicts(v) if isinstance(v, Mapping) else v for k, v in data.items()}


def _collect(data: Any, tokens: list[tuple[str, bytes]]) -> None:
    if is_sealed(data):
        tokens.append(_parse_token(data))
    elif isinstance(data, Mapping):
        for value in data.values():
            _collect(value, tokens)
    elif isinstance(data, list | tuple):
        for value in data:
            _collect(value, tokens)


def _replace(data: Any, keys: Mapping[str, _Key], erased: Any) -> Any:
    if is_sealed(data):
        subject_ref, sealed = _parse_token(data)
        key = keys[subject_ref]
        return erased if key is ERASED else _open_with(key, subject_ref, sealed)
    if isinstance(data, Mapping):
        return {k: _replace(v, keys, erased) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_replace(v, keys, erased) for v in data]
    return data


# --- operations ---------------------------------------------------------------------------


async def kek_usage(conn: AsyncConnection) -> dict[str, int]:
    """Live keys per KEK id: before destroying an old KEK, its id must be absent here."""
    rows = await conn.execute(
        text("SELECT kek_id, count(*) AS n FROM subject_keys WHERE kek_id IS NOT NULL GROUP BY kek_id")
    )
    return {row.kek_id: row.n for row in rows}


async def compact_key_table(engine: AsyncEngine, *, checkpoint: bool = True) -> None:
    """Rewrite `subject_keys` so destroyed keys leave no bytes in its data files.

    An erased row's old version (with the wrapped DEK) stays in the table file until vacuum,
    and plain VACUUM can leave the bytes in free page space; VACUUM FULL writes a new file and
    the old one is truncated, then unlinked at the next checkpoint. Takes an ACCESS EXCLUSIVE
    lock on a small table (one row per person): run it in the erasure/retention job, not per
    request. CHECKPOINT needs superuser or the pg_checkpoint role; pass checkpoint=False without.
    """
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM (FULL) subject_keys"))
        if checkpoint:
            await autocommit.execute(text("CHECKPOINT"))


def main() -> None:
    """`python -m libs.crypto` prints a new KEK in configuration form (a secret: store it as one)."""
    print(KeyEncryptionKey.generate().encode())


if __name__ == "__main__":
    main()
