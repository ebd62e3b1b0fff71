"""The credential vault: Fernet encryption of secrets and personal data at rest.

Keys come from ``HYREKA_AMAZON_KEY`` (one Fernet key, or several comma-separated) or from the
key file ``vault.key`` in the data folder (one key per line, mode 0600). The first key
encrypts, every key decrypts, so keys rotate without downtime: add a new primary key,
re-encrypt every stored value (``Store.rotate_key``), then drop the old keys.
"""

from __future__ import annotations

import hmac
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_ENV = "HYREKA_AMAZON_KEY"
KEY_FILE = "vault.key"

_MAC_CONTEXT = b"hyreka-amazon payload mac v1"
_KEY_ID_CONTEXT = b"hyreka-amazon key id v1"


class VaultError(ValueError):
    """The vault cannot work as configured; the message says what to do, never shows a key.

    A ValueError (the key configured is the wrong value), so that front ends reporting
    ValueErrors as one-line messages (the ``hyreka-amazon`` CLI) show it that way too."""


class Vault:
    """Encrypts with the primary key, decrypts with any configured key."""

    def __init__(self, keys: Sequence[bytes], *, key_file: Path | None = None) -> None:
        """Use ``keys`` (primary first); ``key_file`` is where rotation writes, None for env."""
        if not keys:
            raise VaultError("the vault needs at least one key")
        self._keys = list(keys)
        self._key_file = key_file
        self._load()

    def _load(self) -> None:
        self._fernet = MultiFernet([Fernet(key) for key in self._keys])
        primary = self._keys[0]
        self._mac_key = hmac.digest(primary, _MAC_CONTEXT, "sha256")
        self._key_id = hmac.digest(primary, _KEY_ID_CONTEXT, "sha256")[:8].hex()

    @classmethod
    def open(
        cls, data_dir: Path, *, env: Mapping[str, str] = os.environ, create: bool = True
    ) -> Self:
        """The vault of ``data_dir``: keys from the environment, else from its key file.

        With ``create`` a missing key file is made with a new key; without, it is an error.
        """
        from_env = env.get(KEY_ENV, "").strip()
        if from_env:
            parts = [part.strip() for part in from_env.split(",") if part.strip()]
            return cls(
                [_checked_key(part, f"{KEY_ENV} (key {n})") for n, part in enumerate(parts, 1)]
            )
        path = Path(data_dir) / KEY_FILE
        if not path.exists():
            if not create:
                raise VaultError(
                    f"no vault key: {path} is missing and {KEY_ENV} is not set; restore the "
                    f"key file (or set {KEY_ENV}) that the stored data was encrypted with"
                )
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            _create_key_file(path, [Fernet.generate_key()])
        return cls(_read_key_file(path), key_file=path)

    @staticmethod
    def generate_key() -> str:
        """A new random Fernet key, for ``HYREKA_AMAZON_KEY``."""
        return Fernet.generate_key().decode("ascii")

    @property
    def key_id(self) -> str:
        """A short, non-secret id of the primary key (which key a stored value is under)."""
        return self._key_id

    @property
    def key_count(self) -> int:
        return len(self._keys)

    @property
    def key_file(self) -> Path | None:
        """The key file the keys come from; None when they come from ``HYREKA_AMAZON_KEY``."""
        return self._key_file

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise VaultError(self._cannot_decrypt()) from None

    def encrypt_text(self, s: str) -> bytes:
        return self.encrypt(s.encode("utf-8"))

    def decrypt_text(self, b: bytes) -> str:
        return self.decrypt(b).decode("utf-8")

    def mac(self, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under a key derived from the primary key (equality checks)."""
        return hmac.digest(self._mac_key, data, "sha256")

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted under the primary key."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise VaultError(self._cannot_decrypt()) from None

    def add_new_primary_key(self) -> None:
        """Put a new key first in the key file; the old keys stay so old values still decrypt."""
        path = self._writable_key_file("add a new key")
        self._keys.insert(0, Fernet.generate_key())
        _replace_key_file(path, self._keys)
        self._load()

    def drop_old_keys(self) -> None:
        """Keep only the primary key; call after every stored value was rotated."""
        path = self._writable_key_file("drop old keys")
        self._keys = self._keys[:1]
        _replace_key_file(path, self._keys)
        self._load()

    def _writable_key_file(self, action: str) -> Path:
        if self._key_file is None:
            raise VaultError(
                f"the keys come from {KEY_ENV}; to {action}, edit that variable (comma-separated "
                "keys, the first encrypts; a new key comes from Vault.generate_key())"
            )
        return self._key_file

    def _cannot_decrypt(self) -> str:
        source = str(self._key_file) if self._key_file else KEY_ENV
        return (
            f"cannot decrypt stored data with the configured key ({source}); set {KEY_ENV} / "
            f"restore {KEY_FILE} to the key the data was encrypted with"
        )

    def __repr__(self) -> str:
        source = str(self._key_file) if self._key_file else KEY_ENV
        return f"Vault(source={source!r}, keys={len(self._keys)}, key_id={self._key_id!r})"


def _checked_key(text: str, where: str) -> bytes:
    key = text.encode("ascii", "replace")
    try:
        Fernet(key)
    except ValueError:
        raise VaultError(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes); "
            "make one with Vault.generate_key()"
        ) from None
    return key


def _read_key_file(path: Path) -> list[bytes]:
    info = path.stat()
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VaultError(
            f"refusing to use {path}: group or others may read or write it; run `chmod 600 {path}`"
        )
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    keys = [
        _checked_key(line.strip(), f"{path} line {n}")
        for n, line in enumerate(lines, 1)
        if line.strip()
    ]
    if not keys:
        raise VaultError(f"{path} holds no key; restore it from your backup")
    return keys


def _create_key_file(path: Path, keys: Sequence[bytes]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(b"".join(key + b"\n" for key in keys))
        file.flush()
        os.fsync(file.fileno())


def _replace_key_file(path: Path, keys: Sequence[bytes]) -> None:
    temporary = path.with_name(f"{path.name}.{os.urandom(4).hex()}.tmp")
    _create_key_file(temporary, keys)
    try:
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
