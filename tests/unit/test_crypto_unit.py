"""libs/crypto.py without a database: KEK configuration, the token format, the ERASED marker."""

import base64
import copy
import json
import math
import pickle
import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from libs.crypto import (
    ERASED,
    Erased,
    KeyConfigurationError,
    KeyEncryptionKey,
    KeyUnavailableError,
    PersonalDataCipher,
    TamperedTokenError,
    _open_with,
    _parse_token,
    _seal_with,
    is_sealed,
)


def subject() -> str:
    return f"subj_{uuid.uuid4().hex}"


# --- KEK configuration --------------------------------------------------------------------


def test_kek_encodes_and_parses_and_never_shows_its_bytes() -> None:
    kek = KeyEncryptionKey.generate()
    assert kek.kek_id.startswith("kek-") and len(kek.material) == 32
    assert KeyEncryptionKey.parse(kek.encode()) == kek
    assert base64.b64encode(kek.material).decode() not in repr(kek)
    assert str(list(kek.material)) not in repr(kek) and "material" not in repr(kek)


def test_kek_from_env_variable_or_file(tmp_path) -> None:
    kek = KeyEncryptionKey.generate("kek-2026-01")
    assert KeyEncryptionKey.from_env("X", {"X_KEK": kek.encode()}) == kek
    secret = tmp_path / "kek"
    secret.write_text(kek.encode() + "\n")
    assert KeyEncryptionKey.from_env("X", {"X_KEK_FILE": str(secret)}) == kek
    with pytest.raises(KeyConfigurationError, match="X_KEK"):
        KeyEncryptionKey.from_env("X", {})


def test_cipher_from_env_reads_previous_keks_for_rotation() -> None:
    old, new = KeyEncryptionKey.generate("old"), KeyEncryptionKey.generate("new")
    env = {"K_KEK": new.encode(), "K_KEK_PREVIOUS": f"{old.encode()}, "}
    assert KeyEncryptionKey.previous_from_env("K", env) == [old]
    cipher = PersonalDataCipher.from_env("K", env)
    assert cipher.kek == new


@pytest.mark.parametrize(
    "value",
    [
        "no-separator",
        "id:not*base64",
        "id:" + base64.b64encode(b"short").decode(),
        "bad id:" + base64.b64encode(bytes(32)).decode(),
        ":" + base64.b64encode(bytes(32)).decode(),
    ],
)
def test_malformed_kek_configuration_is_refused_without_echoing_it(value: str) -> None:
    with pytest.raises(KeyConfigurationError) as caught:
        KeyEncryptionKey.parse(value)
    if secret := value.partition(":")[2]:
        assert secret not in str(caught.value)


def test_two_keks_with_one_id_are_refused() -> None:
    with pytest.raises(KeyConfigurationError, match="share the id"):
        PersonalDataCipher(KeyEncryptionKey.generate("a"), previous=[KeyEncryptionKey.generate("a")])


def test_a_wrapped_key_is_bound_to_its_subject_and_kek() -> None:
    kek, dek, alice, bob = KeyEncryptionKey.generate("a"), bytes(range(32)), subject(), subject()
    wrapped = kek.wrap(alice, dek)
    assert kek.unwrap(alice, wrapped) == dek
    with pytest.raises(KeyUnavailableError):
        kek.unwrap(bob, wrapped)
    with pytest.raises(KeyUnavailableError):
        KeyEncryptionKey("b", kek.material).unwrap(alice, wrapped)


# --- tokens -------------------------------------------------------------------------------


def test_token_round_trip_and_shape() -> None:
    dek, s = AESGCM(AESGCM.generate_key(256)), subject()
    value = {"氏名": "山田　太郎", "list": [1, None, "𠮷"]}
    token = _seal_with(dek, s, value)
    assert set(token) == {"$sealed", "subject", "ct"} and token["$sealed"] == "v1" and is_sealed(token)
    assert _open_with(dek, *_parse_token(json.loads(json.dumps(token)))) == value


def test_ciphertext_length_is_rounded_up_to_32_bytes() -> None:
    dek, s = AESGCM(AESGCM.generate_key(256)), subject()
    lengths = {len(base64.b64decode(_seal_with(dek, s, "x" * n)["ct"])) - 12 - 16 for n in range(0, 29)}
    assert lengths == {32}  # "" .. 28 characters plus quotes all fit one 32-byte block


def test_the_ciphertext_is_bound_to_its_subject_even_under_the_same_key() -> None:
    dek, alice, bob = AESGCM(AESGCM.generate_key(256)), subject(), subject()
    _, sealed = _parse_token(_seal_with(dek, alice, "秘密"))
    with pytest.raises(TamperedTokenError):
        _open_with(dek, bob, sealed)


def test_only_json_values_and_valid_subjects_are_sealed() -> None:
    dek = AESGCM(AESGCM.generate_key(256))
    with pytest.raises(ValueError):
        _seal_with(dek, subject(), math.nan)
    with pytest.raises(TypeError):
        _seal_with(dek, subject(), {1, 2})


async def test_subject_refs_are_checked_before_any_database_work() -> None:
    cipher = PersonalDataCipher(KeyEncryptionKey.generate("a"))
    for bad in ("", "subj_XYZ", "山田太郎", f"subj_{uuid.uuid4().hex}\n"):
        with pytest.raises(ValueError, match="subject_ref"):
            await cipher.seal(None, bad, "x")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="subject_ref"):
            await cipher.erase(None, bad)  # type: ignore[arg-type]


def test_is_sealed() -> None:
    assert not is_sealed("x") and not is_sealed({"name": "x"}) and not is_sealed(None)
    assert is_sealed({"$sealed": "v1", "subject": subject(), "ct": ""})


# --- ERASED -------------------------------------------------------------------------------


def test_erased_is_one_falsy_singleton() -> None:
    assert copy.deepcopy(ERASED) is ERASED
    assert pickle.loads(pickle.dumps(ERASED)) is ERASED
    assert Erased("erased") is ERASED
    assert not ERASED and repr(ERASED) == "ERASED"
    assert copy.deepcopy({"name": ERASED})["name"] is ERASED
