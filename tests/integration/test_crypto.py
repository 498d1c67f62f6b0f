"""Per-person encryption and crypto-shredding (libs/crypto.py) against real PostgreSQL."""

import asyncio
import base64
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from libs.crypto import (
    ERASED,
    InvalidTokenError,
    KeyEncryptionKey,
    KeyState,
    KeyUnavailableError,
    PersonalDataCipher,
    SubjectErasedError,
    TamperedTokenError,
    compact_key_table,
    is_sealed,
    kek_usage,
)
from libs.eventstore import NewEvent, PostgresSession
from tests.polling import eventually

CANARY = "カナリア山田　𠮷太郎"
PERSON = {
    "name": "山田　太郎",
    "name_kana": "ヤマダ　タロウ",
    "birth_date": "1961-04-01",
    "address": "東京都千代田区千代田1-1",
    "phone": None,
}
HOUSEHOLD = [
    {"relation": "母", "age": 88, "name": "山田　花子"},
    {"relation": "長男", "age": 52, "name": None},
]


def new_subject() -> str:
    return f"subj_{uuid.uuid4().hex}"


@pytest.fixture
def kek() -> KeyEncryptionKey:
    return KeyEncryptionKey.generate("kek-test-a")


@pytest.fixture
def cipher(kek: KeyEncryptionKey) -> PersonalDataCipher:
    return PersonalDataCipher(kek)


async def seal(engine: AsyncEngine, cipher: PersonalDataCipher, subject: str, value: object) -> dict:
    async with engine.begin() as conn:
        return await cipher.seal(conn, subject, value)


async def open_(engine: AsyncEngine, cipher: PersonalDataCipher, token: dict) -> object:
    async with engine.connect() as conn:
        return await cipher.open(conn, token)


async def erase(engine: AsyncEngine, cipher: PersonalDataCipher, subject: str) -> bool:
    async with engine.begin() as conn:
        return await cipher.erase(conn, subject)


async def wrapped_dek(engine: AsyncEngine, subject: str) -> bytes:
    async with engine.connect() as conn:
        value = (
            await conn.execute(
                text("SELECT wrapped_dek FROM subject_keys WHERE subject_ref = :s"), {"s": subject}
            )
        ).scalar_one()
    return bytes(value)


async def waiting_on_a_lock(engine: AsyncEngine, pid: int) -> None:
    """Returns once backend `pid` is blocked on a lock: the race is really happening."""

    async def probe() -> bool:
        async with engine.connect() as conn:
            wait = (
                await conn.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
                )
            ).scalar_one_or_none()
        return wait == "Lock"

    await eventually(probe, timeout=10, what=f"backend {pid} waiting on a lock")


async def backend_pid(conn: AsyncConnection) -> int:
    return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()


# --- sealing and opening ------------------------------------------------------------------


async def test_round_trip_of_japanese_text_and_nested_values(engine, cipher) -> None:
    subject = new_subject()
    nested = {"person": PERSON, "household": HOUSEHOLD, "flags": [True, False], "score": 1.5}
    async with engine.begin() as conn:
        tokens = [await cipher.seal(conn, subject, value) for value in (CANARY, nested, HOUSEHOLD, None, 0)]
    # Tokens are plain JSON: they survive jsonb storage unchanged.
    tokens = json.loads(json.dumps(tokens))
    async with engine.connect() as conn:
        opened = [await cipher.open(conn, t) for t in tokens]
    assert opened == [CANARY, nested, HOUSEHOLD, None, 0]


async def test_token_format_and_no_plaintext_in_ciphertext(engine, cipher) -> None:
    subject = new_subject()
    token = await seal(engine, cipher, subject, {"summary": CANARY * 3})
    assert set(token) == {"$sealed", "subject", "ct"}
    assert token["$sealed"] == "v1" and token["subject"] == subject
    raw = base64.b64decode(token["ct"])
    document = json.dumps(token, ensure_ascii=False).encode()
    for needle in (CANARY, "カナリア", "𠮷", "summary"):
        for encoding in ("utf-8", "utf-16-le"):
            assert needle.encode(encoding) not in raw
            assert needle.encode(encoding) not in document
    # The same value sealed twice differs (fresh nonce), so equal values are not linkable.
    assert await seal(engine, cipher, subject, {"summary": CANARY * 3}) != token


async def test_a_token_moved_to_another_subject_does_not_open(engine, cipher) -> None:
    alice, bob = new_subject(), new_subject()
    token = await seal(engine, cipher, alice, CANARY)
    await seal(engine, cipher, bob, "bob")
    with pytest.raises(TamperedTokenError):
        await open_(engine, cipher, {**token, "subject": bob})


async def test_tampered_or_malformed_tokens_are_refused(engine, cipher) -> None:
    subject = new_subject()
    token = await seal(engine, cipher, subject, CANARY)
    raw = bytearray(base64.b64decode(token["ct"]))
    for position in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        flipped = bytearray(raw)
        flipped[position] ^= 0x01
        with pytest.raises(TamperedTokenError):
            await open_(engine, cipher, {**token, "ct": base64.b64encode(bytes(flipped)).decode()})
    with pytest.raises(TamperedTokenError):
        await open_(engine, cipher, {**token, "ct": base64.b64encode(bytes(raw[:20])).decode()})
    for malformed in (
        {**token, "$sealed": "v9"},
        {**token, "ct": "not base64!"},
        {**token, "extra": 1},
        {"a": 1},
    ):
        with pytest.raises(InvalidTokenError):
            await open_(engine, cipher, malformed)


async def test_a_wrong_kek_cannot_open(engine, cipher, kek) -> None:
    token = await seal(engine, cipher, new_subject(), CANARY)
    same_id_other_bytes = PersonalDataCipher(KeyEncryptionKey.generate(kek.kek_id))
    with pytest.raises(KeyUnavailableError, match="does not unwrap"):
        await open_(engine, same_id_other_bytes, token)
    other_id = PersonalDataCipher(KeyEncryptionKey.generate("kek-test-b"))
    with pytest.raises(KeyUnavailableError, match="not configured"):
        await open_(engine, other_id, token)


async def test_a_wrapped_key_copied_to_another_persons_row_does_not_unwrap(engine, cipher) -> None:
    alice, bob = new_subject(), new_subject()
    await seal(engine, cipher, alice, CANARY)
    bob_token = await seal(engine, cipher, bob, "ボブ")
    async with engine.begin() as conn:
        await conn.execute(
            text("UPDATE subject_keys SET wrapped_dek = :w WHERE subject_ref = :s"),
            {"w": await wrapped_dek(engine, alice), "s": bob},
        )
    with pytest.raises(KeyUnavailableError, match="does not unwrap"):
        await open_(engine, cipher, bob_token)


async def test_a_token_of_a_subject_unknown_here_is_an_error_not_erased(engine, cipher) -> None:
    token = await seal(engine, cipher, new_subject(), CANARY)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM subject_keys"))
    with pytest.raises(KeyUnavailableError, match="no key"):
        await open_(engine, cipher, token)


async def test_seal_fields_and_open_fields(engine, cipher) -> None:
    subject = new_subject()
    data = {"case_id": "c-1", "person": PERSON, "household": HOUSEHOLD, "summary": CANARY, "district": "d-01"}
    async with engine.begin() as conn:
        sealed = await cipher.seal_fields(
            conn, subject, data, ["person.name", "person.address", "household", "summary"]
        )
        with pytest.raises(KeyError, match=r"person\.nmae"):
            await cipher.seal_fields(conn, subject, data, ["person.nmae"])
    assert data["person"]["name"] == "山田　太郎"  # the input is not modified
    assert (
        is_sealed(sealed["person"]["name"])
        and is_sealed(sealed["household"])
        and is_sealed(sealed["summary"])
    )
    assert sealed["person"]["birth_date"] == "1961-04-01" and sealed["district"] == "d-01"
    assert CANARY not in json.dumps(sealed, ensure_ascii=False)
    async with engine.begin() as conn:
        # Sealing again is a no-op for sealed fields.
        assert await cipher.seal_fields(conn, subject, sealed, ["summary"]) == sealed
    async with engine.connect() as conn:
        assert await cipher.open_fields(conn, sealed) == data
        assert await cipher.open_fields(conn, [sealed, {"x": [sealed["summary"]]}]) == [data, {"x": [CANARY]}]


# --- erasure ------------------------------------------------------------------------------


async def test_erasure_erases_every_token_of_that_person_only(engine, cipher) -> None:
    alice, bob = new_subject(), new_subject()
    async with engine.begin() as conn:
        alice_tokens = [await cipher.seal(conn, alice, v) for v in (CANARY, PERSON, HOUSEHOLD)]
        bob_token = await cipher.seal(conn, bob, "ボブ")
        document = await cipher.seal_fields(
            conn, alice, {"person": PERSON, "summary": CANARY}, ["person", "summary"]
        )
    assert await erase(engine, cipher, alice) is True
    async with engine.connect() as conn:
        assert [await cipher.open(conn, t) for t in alice_tokens] == [ERASED, ERASED, ERASED]
        assert await cipher.open(conn, bob_token) == "ボブ"
        assert await cipher.open_fields(conn, document) == {"person": ERASED, "summary": ERASED}
        assert await cipher.open_fields(conn, document, erased=None) == {"person": None, "summary": None}
        assert await cipher.status(conn, alice) is KeyState.ERASED
        assert await cipher.status(conn, bob) is KeyState.LIVE
        assert await cipher.status(conn, new_subject()) is KeyState.UNKNOWN
        row = (
            await conn.execute(text("SELECT * FROM subject_keys WHERE subject_ref = :s"), {"s": alice})
        ).one()
    assert row.wrapped_dek is None and row.kek_id is None and row.erased_at is not None


async def test_erase_is_idempotent_and_an_erased_person_gets_no_new_data(engine, cipher) -> None:
    subject = new_subject()
    await seal(engine, cipher, subject, CANARY)
    assert await erase(engine, cipher, subject) is True
    assert await erase(engine, cipher, subject) is False
    with pytest.raises(SubjectErasedError):
        await seal(engine, cipher, subject, "again")
    # Erasing someone never seen leaves a tombstone, so nothing can be sealed for them later.
    stranger = new_subject()
    assert await erase(engine, cipher, stranger) is False
    with pytest.raises(SubjectErasedError):
        async with engine.begin() as conn:
            await cipher.seal_fields(conn, stranger, {"name": "x"}, ["name"])
    async with engine.connect() as conn:
        assert await cipher.status(conn, stranger) is KeyState.ERASED


async def test_erasure_inside_the_transaction_that_cached_the_key(engine, cipher) -> None:
    subject = new_subject()
    async with engine.begin() as conn:
        token = await cipher.seal(conn, subject, CANARY)
        assert await cipher.open(conn, token) == CANARY
        assert await cipher.erase(conn, subject) is True
        assert await cipher.open(conn, token) is ERASED
        with pytest.raises(SubjectErasedError):
            await cipher.seal(conn, subject, CANARY)


async def test_erasure_by_another_process_is_seen_by_the_next_transaction(engine, kek) -> None:
    """Two ciphers stand for two processes: no key outlives the transaction that loaded it."""
    reader, eraser = PersonalDataCipher(kek), PersonalDataCipher(kek)
    subject = new_subject()
    token = await seal(engine, reader, subject, CANARY)
    assert await open_(engine, reader, token) == CANARY
    assert await erase(engine, eraser, subject) is True
    assert await open_(engine, reader, token) is ERASED


async def test_hash_chain_stays_verifiable_after_erasure(engine, cipher) -> None:
    alice, bob = new_subject(), new_subject()
    for subject, stream in ((alice, "intake-case-a"), (bob, "intake-case-b")):
        async with engine.begin() as conn:
            data = {"subject_ref": subject, "person": PERSON, "summary": CANARY, "district": "d-01"}
            sealed = await cipher.seal_fields(conn, subject, data, ["person", "summary"])
            await PostgresSession(conn, None).append(
                stream, "IntakeCase", 0, [NewEvent("ConsultationReceived", sealed)]
            )
            more = await cipher.seal_fields(conn, subject, {"reason": CANARY}, ["reason"])
            await PostgresSession(conn, None).append(
                stream, "IntakeCase", 1, [NewEvent("ReferredToCoordination", more)]
            )
    assert await erase(engine, cipher, alice) is True
    async with engine.connect() as conn:
        report = await PostgresSession(conn, None).verify_chain()
        assert report.ok, report.problems
        assert report.events == 4
        erased = [
            await cipher.open_fields(conn, e.data)
            for e in await PostgresSession(conn, None).read_stream("intake-case-a")
        ]
        kept = [
            await cipher.open_fields(conn, e.data)
            for e in await PostgresSession(conn, None).read_stream("intake-case-b")
        ]
    assert erased[0] == {"subject_ref": alice, "person": ERASED, "summary": ERASED, "district": "d-01"}
    assert erased[1] == {"reason": ERASED}
    assert kept[0]["person"] == PERSON and kept[1] == {"reason": CANARY}


# --- races and transactions ---------------------------------------------------------------


async def test_concurrent_first_seals_of_a_new_subject_share_one_key(engine, cipher, kek) -> None:
    subject = new_subject()
    other = PersonalDataCipher(kek)  # another process
    async with engine.connect() as first, engine.connect() as second:
        await first.begin()
        await second.begin()
        second_pid = await backend_pid(second)
        token_1 = await cipher.seal(first, subject, "一")  # inserted, not committed
        racing = asyncio.create_task(other.seal(second, subject, "二"))
        await waiting_on_a_lock(engine, second_pid)  # its INSERT waits for the first transaction
        await first.commit()
        token_2 = await racing
        await second.commit()
    async with engine.connect() as conn:
        count = (
            await conn.execute(
                text("SELECT count(*) FROM subject_keys WHERE subject_ref = :s"), {"s": subject}
            )
        ).scalar_one()
        assert count == 1
        assert await cipher.open(conn, token_1) == "一"
        assert await cipher.open(conn, token_2) == "二"
        assert await other.open(conn, token_1) == "一"


async def test_erase_racing_a_first_seal_destroys_the_key_that_wins(engine, cipher, kek) -> None:
    subject = new_subject()
    eraser = PersonalDataCipher(kek)
    async with engine.connect() as sealing, engine.connect() as erasing:
        await sealing.begin()
        await erasing.begin()
        erasing_pid = await backend_pid(erasing)
        token = await cipher.seal(sealing, subject, CANARY)
        racing = asyncio.create_task(eraser.erase(erasing, subject))
        await waiting_on_a_lock(engine, erasing_pid)
        await sealing.commit()
        assert await racing is True
        await erasing.commit()
    assert await open_(engine, cipher, token) is ERASED


async def test_one_key_lookup_per_person_per_transaction(engine, cipher) -> None:
    subject = new_subject()
    await seal(engine, cipher, subject, "exists")
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if "subject_keys" in statement:
            statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with engine.begin() as conn:
            sealed = await cipher.seal_fields(
                conn, subject, PERSON, ["name", "name_kana", "address", "phone"]
            )
            await cipher.seal(conn, subject, CANARY)
            assert await cipher.open_fields(conn, sealed) == PERSON
        assert len(statements) == 1 and statements[0].lstrip().startswith("SELECT")
        async with engine.begin() as conn:  # a new transaction looks the key up again
            await cipher.open_fields(conn, sealed)
        assert len(statements) == 2
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def test_a_key_created_in_a_rolled_back_savepoint_is_not_reused(engine, cipher) -> None:
    subject = new_subject()
    async with engine.begin() as conn:
        savepoint = await conn.begin_nested()
        await cipher.seal(conn, subject, "lost")
        await savepoint.rollback()
        token = await cipher.seal(conn, subject, CANARY)
    assert await open_(engine, cipher, token) == CANARY


# --- what erasure leaves on disk ----------------------------------------------------------


def files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in sorted(folder.rglob("*")) if p.is_file() and needle in p.read_bytes()]


async def test_after_compaction_the_erased_key_is_in_no_data_file(engine, cipher) -> None:
    alice, bob = new_subject(), new_subject()
    async with engine.begin() as conn:
        sealed = await cipher.seal_fields(conn, alice, {"summary": CANARY}, ["summary"])
        await PostgresSession(conn, None).append(
            "intake-case-a", "IntakeCase", 0, [NewEvent("Noted", sealed)]
        )
        await cipher.seal(conn, bob, "ボブ")
    alice_dek, bob_dek = await wrapped_dek(engine, alice), await wrapped_dek(engine, bob)
    async with engine.connect() as conn:
        data_dir = Path((await conn.execute(text("SHOW data_directory"))).scalar_one())
        database = (
            data_dir
            / "base"
            / str(
                (
                    await conn.execute(text("SELECT oid FROM pg_database WHERE datname = current_database()"))
                ).scalar_one()
            )
        )
        table_file = (
            data_dir / (await conn.execute(text("SELECT pg_relation_filepath('subject_keys')"))).scalar_one()
        )
        await conn.execute(text("CHECKPOINT"))
    # The scan works: both keys are on disk, in the table's own file.
    assert table_file in files_containing(database, alice_dek)
    assert table_file in files_containing(database, bob_dek)

    assert await erase(engine, cipher, alice) is True
    await compact_key_table(engine)

    assert files_containing(database, alice_dek) == []
    async with engine.connect() as conn:
        new_file = (
            data_dir / (await conn.execute(text("SELECT pg_relation_filepath('subject_keys')"))).scalar_one()
        )
    assert new_file in files_containing(database, bob_dek)
    # And the event log never held the plaintext, only ciphertext.
    assert files_containing(database, CANARY.encode()) == []
    async with engine.connect() as conn:
        assert (await PostgresSession(conn, None).verify_chain()).ok


# --- KEK rotation -------------------------------------------------------------------------


async def test_rewrap_moves_every_live_key_to_the_new_kek(engine, cipher, kek) -> None:
    alice, bob, carol = new_subject(), new_subject(), new_subject()
    tokens = {s: await seal(engine, cipher, s, f"{s}:{CANARY}") for s in (alice, bob, carol)}
    await erase(engine, cipher, carol)
    before = await wrapped_dek(engine, alice)
    new_kek = KeyEncryptionKey.generate("kek-test-b")

    async with engine.begin() as conn:
        assert await cipher.rewrap(conn, new_kek, batch_size=1) == 2
        assert await kek_usage(conn) == {"kek-test-b": 2}
        assert await cipher.rewrap(conn, new_kek) == 0  # idempotent, resumable

    assert await wrapped_dek(engine, alice) != before
    rotated = PersonalDataCipher(new_kek)  # the old KEK is no longer configured at all
    async with engine.connect() as conn:
        assert await rotated.open(conn, tokens[alice]) == f"{alice}:{CANARY}"
        assert await rotated.open(conn, tokens[bob]) == f"{bob}:{CANARY}"
        assert await rotated.open(conn, tokens[carol]) is ERASED
        with pytest.raises(KeyUnavailableError, match="not configured"):
            await cipher.open(conn, tokens[alice])
    # During the rollout, processes that know both KEKs read everything.
    transitional = PersonalDataCipher(new_kek, previous=[kek])
    assert await open_(engine, transitional, tokens[bob]) == f"{bob}:{CANARY}"


async def test_rewrap_refuses_keys_under_a_kek_it_does_not_hold(engine, cipher) -> None:
    await seal(engine, cipher, new_subject(), CANARY)
    stranger = PersonalDataCipher(KeyEncryptionKey.generate("kek-test-c"))
    async with engine.begin() as conn:
        with pytest.raises(KeyUnavailableError, match="not configured"):
            await stranger.rewrap(conn, KeyEncryptionKey.generate("kek-test-d"))


async def test_rewrap_never_brings_back_a_key_erased_meanwhile(engine, cipher, kek) -> None:
    """Compare-and-set on the old wrapped bytes: an erasure committed mid-rewrap stands."""
    subject = new_subject()
    token = await seal(engine, cipher, subject, CANARY)
    new_kek = KeyEncryptionKey.generate("kek-test-b")
    async with engine.connect() as rewrapping, engine.connect() as erasing:
        await erasing.begin()
        await cipher.erase(erasing, subject)  # holds the row lock until commit
        await rewrapping.begin()
        rewrapping_pid = await backend_pid(rewrapping)
        racing = asyncio.create_task(cipher.rewrap(rewrapping, new_kek))
        await waiting_on_a_lock(engine, rewrapping_pid)
        await erasing.commit()
        assert await racing == 0
        await rewrapping.commit()
    assert await open_(engine, PersonalDataCipher(new_kek, previous=[kek]), token) is ERASED
