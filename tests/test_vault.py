"""The vault: key sources, key file permissions, wrong keys, rotation."""

from __future__ import annotations

import hmac
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, KEY_FILE, Hmac256, Vault, VaultError

posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 1229, 100_000])
def test_mac_is_hmac_sha256_under_the_derived_key(tmp_path: Path, size: int) -> None:
    vault = Vault.open(tmp_path, env={})
    primary = (tmp_path / KEY_FILE).read_text().split()[0].encode()
    key = hmac.digest(primary, b"hyreka-amazon payload mac v1", "sha256")
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert vault.mac(data) == hmac.digest(key, data, "sha256")
    assert vault.mac(data) == vault.mac(data)  # the keyed states are copied, never used up


@pytest.mark.parametrize("key_size", [0, 1, 32, 63, 64, 65, 100, 200])
def test_hmac256_matches_the_standard_library_for_keys_of_any_length(key_size: int) -> None:
    key = bytes((n * 7 + 3) % 256 for n in range(key_size))
    mac = Hmac256(key)
    for data in (b"", b"payload", bytes(range(256)) * 5):
        assert mac(data) == hmac.digest(key, data, "sha256")
        assert mac(data) == mac(data)  # the keyed template is copied, never used up
    assert repr(mac) == "Hmac256(<key hidden>)"


@posix_only
def test_first_open_creates_a_0600_key_file_that_later_opens_reuse(tmp_path: Path) -> None:
    data = tmp_path / "data"
    vault = Vault.open(data, env={})
    key_file = data / KEY_FILE
    assert vault.key_file == key_file
    assert _mode(key_file) == 0o600
    assert _mode(data) == 0o700
    token = vault.encrypt_text("Jürgen Groß")
    assert token != "Jürgen Groß".encode()
    assert Vault.open(data, env={}).decrypt_text(token) == "Jürgen Groß"


def test_a_missing_key_file_is_an_error_without_create(tmp_path: Path) -> None:
    with pytest.raises(VaultError, match=r"vault\.key is missing"):
        Vault.open(tmp_path, env={}, create=False)
    assert not (tmp_path / KEY_FILE).exists()


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o620])
def test_a_key_file_open_to_group_or_others_is_refused(tmp_path: Path, mode: int) -> None:
    Vault.open(tmp_path, env={})
    key_file = tmp_path / KEY_FILE
    key_file.chmod(mode)
    with pytest.raises(VaultError) as caught:
        Vault.open(tmp_path, env={})
    message = str(caught.value)
    assert str(key_file) in message
    assert "chmod 600" in message
    assert key_file.read_text().strip() not in message


def test_the_environment_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    key = Vault.generate_key()
    vault = Vault.open(tmp_path, env={KEY_ENV: key})
    assert vault.key_file is None
    assert not (tmp_path / KEY_FILE).exists()
    assert Fernet(key.encode()).decrypt(vault.encrypt(b"refresh-token")) == b"refresh-token"


def test_several_environment_keys_first_encrypts_all_decrypt(tmp_path: Path) -> None:
    old, new = Vault.generate_key(), Vault.generate_key()
    old_token = Fernet(old.encode()).encrypt(b"alt")
    vault = Vault.open(tmp_path, env={KEY_ENV: f" {new} , {old} "})
    assert vault.decrypt(old_token) == b"alt"
    assert Fernet(new.encode()).decrypt(vault.encrypt(b"neu")) == b"neu"
    with pytest.raises(VaultError, match=KEY_ENV):
        vault.add_new_primary_key()


def test_a_malformed_environment_key_is_named_but_not_shown(tmp_path: Path) -> None:
    bad = "not-a-key-but-maybe-a-password"
    with pytest.raises(VaultError) as caught:
        Vault.open(tmp_path, env={KEY_ENV: f"{Vault.generate_key()},{bad}"})
    assert f"{KEY_ENV} (key 2)" in str(caught.value)
    assert bad not in str(caught.value)


def test_a_wrong_key_gives_an_actionable_error(tmp_path: Path) -> None:
    token = Vault.open(tmp_path / "a", env={}).encrypt(b"secret")
    other = Vault.open(tmp_path / "b", env={})
    for call in (other.decrypt, other.rotate):
        with pytest.raises(VaultError) as caught:
            call(token)
        message = str(caught.value)
        assert "cannot decrypt" in message
        assert KEY_ENV in message
        assert KEY_FILE in message


def test_repr_shows_no_key(tmp_path: Path) -> None:
    key = Vault.generate_key()
    file_vault = Vault.open(tmp_path, env={})
    env_vault = Vault.open(tmp_path, env={KEY_ENV: key})
    assert key not in repr(env_vault)
    for line in (tmp_path / KEY_FILE).read_text().splitlines():
        assert line not in repr(file_vault)
    assert file_vault.key_id in repr(file_vault)


def test_mac_depends_on_the_primary_key(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path / "a", env={})
    same = Vault.open(tmp_path / "a", env={})
    other = Vault.open(tmp_path / "b", env={})
    assert vault.mac(b"payload") == same.mac(b"payload")
    assert vault.mac(b"payload") != vault.mac(b"payload2")
    assert vault.mac(b"payload") != other.mac(b"payload")
    assert vault.key_id == same.key_id != other.key_id


@posix_only
def test_rotation_adds_a_primary_key_keeps_old_ones_then_drops_them(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path, env={})
    key_file = tmp_path / KEY_FILE
    old_key = key_file.read_text().strip()
    old_id = vault.key_id
    old_token = vault.encrypt(b"client-secret")

    vault.add_new_primary_key()
    lines = key_file.read_text().split()
    assert len(lines) == 2
    assert lines[1] == old_key
    assert _mode(key_file) == 0o600
    assert vault.key_id != old_id
    assert sorted(p.name for p in tmp_path.iterdir()) == [KEY_FILE]  # no temp file left

    reopened = Vault.open(tmp_path, env={})
    assert reopened.decrypt(old_token) == b"client-secret"
    rotated = reopened.rotate(old_token)
    assert Fernet(lines[0].encode()).decrypt(rotated) == b"client-secret"

    reopened.drop_old_keys()
    assert key_file.read_text().split() == [lines[0]]
    assert _mode(key_file) == 0o600
    final = Vault.open(tmp_path, env={})
    assert final.decrypt(rotated) == b"client-secret"
    with pytest.raises(VaultError):
        final.decrypt(old_token)


def test_sealed_values_open_with_every_configured_key_and_name_their_key(tmp_path: Path) -> None:
    vault = Vault.open(tmp_path, env={})
    old = vault.seal("Jürgen Groß".encode())
    assert "Jürgen".encode() not in old
    assert old[1:9].hex() == vault.key_id
    assert vault.seal(b"x") != vault.seal(b"x")  # a fresh nonce each time
    vault.add_new_primary_key()
    new = vault.seal(b"neu")
    assert new[1:9].hex() == vault.key_id != old[1:9].hex()
    assert vault.decrypt(old) == "Jürgen Groß".encode()
    vault.drop_old_keys()
    assert vault.decrypt(new) == b"neu"
    with pytest.raises(VaultError, match="cannot decrypt"):
        vault.decrypt(old)
