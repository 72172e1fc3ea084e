"""Keyed hashes, id encryption and the embedded default's local secrets file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.storage.crypto import IdCipher, SecretsError, load_or_create_local_secrets, person_key

SECRET = b"0123456789abcdef0123456789abcdef"


def test_person_key_is_a_stable_keyed_hash() -> None:
    key = person_key(SECRET, "telegram", "123456789")
    assert key == person_key(SECRET, "telegram", "123456789")
    assert len(key) == 32 and int(key, 16) >= 0
    assert "123456789" not in key
    assert key != person_key(SECRET, "viber", "123456789")
    assert key != person_key(SECRET, "telegram", "123456780")
    assert key != person_key(b"another-secret-of-enough-length!", "telegram", "123456789")
    with pytest.raises(SecretsError):
        person_key(b"short", "telegram", "1")
    with pytest.raises(ValueError):
        person_key(SECRET, "telegram", "")


def test_id_cipher_round_trip_and_rotation() -> None:
    old_key, new_key = Fernet.generate_key(), Fernet.generate_key()
    old = IdCipher(old_key)
    token = old.encrypt("viber-user-Ab12==")
    assert b"viber-user" not in token
    assert old.encrypt("viber-user-Ab12==") != token  # random IV: equal ids do not give equal tokens
    assert old.decrypt(token) == "viber-user-Ab12=="

    rotated = IdCipher(new_key, [old_key])
    assert rotated.decrypt(token) == "viber-user-Ab12=="
    with pytest.raises(SecretsError):
        IdCipher(new_key).decrypt(token)
    with pytest.raises(SecretsError):
        IdCipher(b"not a fernet key")
    assert "redacted" in repr(old) and old_key.decode() not in repr(old)


def test_local_secrets_are_created_once_private_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secrets" / "local-secrets.json"
    user_key_secret, data_key = load_or_create_local_secrets(path)
    assert len(user_key_secret) == 32
    IdCipher(data_key)  # a valid Fernet key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_local_secrets(path) == (user_key_secret, data_key)
    assert not [p for p in path.parent.iterdir() if p.name != path.name]  # no temp files left

    path.chmod(0o644)
    assert load_or_create_local_secrets(path) == (user_key_secret, data_key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # tightened


@pytest.mark.parametrize(
    "content", ["", "not json", "[]", '{"user_key_secret": "AAAA"}', '{"user_key_secret": "AAAA", "data_key": "x"}']
)
def test_a_damaged_secrets_file_is_never_replaced(tmp_path: Path, content: str) -> None:
    path = tmp_path / "local-secrets.json"
    path.write_text(content)
    with pytest.raises(SecretsError):
        load_or_create_local_secrets(path)
    assert path.read_text() == content


def test_secrets_file_format(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    load_or_create_local_secrets(path)
    data = json.loads(path.read_text())
    assert {"user_key_secret", "data_key"} <= set(data)
