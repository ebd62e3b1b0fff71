"""The credential vault: encryption of secrets and personal data at rest.

Secrets are Fernet tokens (``encrypt``). Bulk binary values (order payloads) are sealed with
AES-256-GCM (``seal``): a version byte, the 8-byte id of the key, a 12-byte nonce, then the
ciphertext with its tag (header authenticated); the AES key is derived from the Fernet key
with HKDF, so each configured key is still one key. ``decrypt`` opens both forms.

Keys come from ``HYREKA_AMAZON_KEY`` (one Fernet key, or several comma-separated) or from the
key file ``vault.key`` in the data folder (one key per line, mode 0600). The first key
encrypts, every key decrypts, so keys rotate without downtime: add a new primary key,
re-encrypt every stored value (``Store.rotate_key``), then drop the old keys.

Data keys (``DataKey``) make deletion a key deletion (crypto-shredding): each account has a
random key of its own, stored only wrapped under the vault key (``wrap_key``) in a row of its
own. An order record sealed with its account's key (``DataKey.seal``) is unreadable once that
row is gone, wherever old copies of the record remain.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_ENV = "HYREKA_AMAZON_KEY"
KEY_FILE = "vault.key"

_MAC_CONTEXT = b"hyreka-amazon payload mac v1"
_KEY_ID_CONTEXT = b"hyreka-amazon key id v1"
_SEAL_CONTEXT = b"hyreka-amazon sealed aes-256-gcm v1"
_AUDIT_CONTEXT = b"hyreka-amazon audit chain hmac-sha256 v1"
_SEALED_V1 = 1  # first byte of a sealed value; a Fernet token starts with "g" (base64 of 0x80)
_SEALED_V2 = 2  # the same, with the caller's associated data (what the value belongs to)
_SEALED_DATA_KEY = 3  # sealed with a data key: version byte, nonce, ciphertext with its tag
_DATA_KEY_BYTES = 64  # 32 for AES-256-GCM, 32 for HMAC-SHA256: two keys, one random draw
_KEY_ID_BYTES = 8
_NONCE_BYTES = 12
_SEAL_HEADER = 1 + _KEY_ID_BYTES + _NONCE_BYTES


class Hmac256:
    """HMAC-SHA256 under one key, keyed once: each message gets a copy of the keyed template.

    The bytes are those of ``hmac.digest(key, data, "sha256")`` for a key of any length (the
    standard library hashes a key longer than the block, RFC 2104)."""

    __slots__ = ("_template",)

    def __init__(self, key: bytes) -> None:
        self._template = hmac.new(key, digestmod=hashlib.sha256)

    def __call__(self, data: bytes) -> bytes:
        mac = self._template.copy()
        mac.update(data)
        return mac.digest()

    def __repr__(self) -> str:
        return "Hmac256(<key hidden>)"


class VaultError(ValueError):
    """The vault cannot work as configured; the message says what to do, never shows a key.

    A ValueError (the key configured is the wrong value), so that front ends reporting
    ValueErrors as one-line messages (the ``hyreka-amazon`` CLI) show it that way too.
    ``text_id`` and ``params`` name the host's text for it, in the seller's language."""

    def __init__(self, message: str, *, text_id: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.text_id = text_id
        self.params = params


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
        self._mac = Hmac256(hmac.digest(primary, _MAC_CONTEXT, "sha256"))
        self._aeads = {_key_id(key): _aead(key) for key in reversed(self._keys)}
        self._seal_id = _key_id(primary)
        self._seal_aead = self._aeads[self._seal_id]
        self._key_id = self._seal_id.hex()

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
                    f"key file (or set {KEY_ENV}) that the stored data was encrypted with",
                    text_id="cli.vault.no_key",
                    path=path,
                    env=KEY_ENV,
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

    def keys_equal(self, other: Vault) -> bool:
        """Whether ``other`` holds the same keys in the same order (constant time per key)."""
        return len(self._keys) == len(other._keys) and all(
            hmac.compare_digest(mine, theirs)
            for mine, theirs in zip(self._keys, other._keys, strict=True)
        )

    @property
    def key_file(self) -> Path | None:
        """The key file the keys come from; None when they come from ``HYREKA_AMAZON_KEY``."""
        return self._key_file

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._fernet.encrypt(plaintext)

    def seal(self, plaintext: bytes, bound_to: bytes = b"") -> bytes:
        """``plaintext`` encrypted with AES-256-GCM under the primary key (binary).

        ``bound_to`` is associated data: what the value belongs to (its account, order or
        field). It is not stored; ``decrypt`` needs the same bytes, so a value copied to
        another row, or a row whose bound columns were changed, fails to decrypt."""
        header = bytes((_SEALED_V2,)) + self._seal_id + os.urandom(_NONCE_BYTES)
        nonce = header[-_NONCE_BYTES:]
        return header + self._seal_aead.encrypt(nonce, plaintext, header + bound_to)

    def decrypt(self, token: bytes, bound_to: bytes = b"") -> bytes:
        """The plaintext of a Fernet token (``encrypt``) or of a sealed value (``seal``);
        ``bound_to`` as it was given to ``seal`` (values sealed before version 2 and Fernet
        tokens carry no binding)."""
        if token[:1] in (bytes((_SEALED_V1,)), bytes((_SEALED_V2,))):
            return self._unseal(token, bound_to)
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise self._cannot_decrypt() from None

    def _unseal(self, sealed: bytes, bound_to: bytes) -> bytes:
        aead = self._aeads.get(sealed[1 : 1 + _KEY_ID_BYTES])
        if aead is None or len(sealed) < _SEAL_HEADER:
            raise self._cannot_decrypt()
        header = sealed[:_SEAL_HEADER]
        associated = header + bound_to if sealed[0] == _SEALED_V2 else header
        try:
            return aead.decrypt(header[-_NONCE_BYTES:], sealed[_SEAL_HEADER:], associated)
        except InvalidTag:
            raise self._cannot_decrypt() from None

    def encrypt_text(self, s: str) -> bytes:
        return self.encrypt(s.encode("utf-8"))

    def decrypt_text(self, b: bytes) -> str:
        return self.decrypt(b).decode("utf-8")

    def mac(self, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under a key derived from the primary key (equality checks)."""
        return self._mac(data)

    def audit_macs(self) -> list[tuple[str, Hmac256]]:
        """For the audit log's chain: per configured key (the primary first) its id (as
        ``key_id``) and HMAC-SHA256 under a key derived from it with HKDF-SHA256 (its own
        context: the chain's key is no other use's)."""
        return [(_key_id(key).hex(), _audit_mac(key)) for key in self._keys]

    def wrap_key(self, key: DataKey, bound_to: bytes) -> bytes:
        """``key`` sealed under the primary key, bound to what it belongs to."""
        return self.seal(key.raw, bound_to)

    def unwrap_key(self, wrapped: bytes, bound_to: bytes) -> DataKey:
        """The data key of ``wrap_key`` (``VaultError`` when no configured key opens it)."""
        return DataKey(self.decrypt(wrapped, bound_to))

    def is_bound(self, token: bytes) -> bool:
        """Whether ``token`` was sealed with a binding (``seal``, version 2)."""
        return token[:1] == bytes((_SEALED_V2,))

    def rotate(self, token: bytes) -> bytes:
        """``token`` re-encrypted under the primary key."""
        try:
            return self._fernet.rotate(token)
        except InvalidToken:
            raise self._cannot_decrypt() from None

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

    def _cannot_decrypt(self) -> VaultError:
        source = str(self._key_file) if self._key_file else KEY_ENV
        return VaultError(
            f"cannot decrypt stored data with the configured key ({source}); set {KEY_ENV} / "
            f"restore {KEY_FILE} to the key the data was encrypted with",
            text_id="cli.vault.cannot_decrypt",
            source=source,
            env=KEY_ENV,
            file=KEY_FILE,
        )

    def __repr__(self) -> str:
        source = str(self._key_file) if self._key_file else KEY_ENV
        return f"Vault(source={source!r}, keys={len(self._keys)}, key_id={self._key_id!r})"


class DataKey:
    """A random key of one account (crypto-shredding): an AES-256-GCM key that seals its
    values (``seal``) and an HMAC-SHA256 key for the MAC of its values (``mac``), drawn
    together (64 random bytes). Only its wrapped form is ever stored."""

    __slots__ = ("_aead", "_mac", "_mac_key", "raw")

    def __init__(self, raw: bytes) -> None:
        if len(raw) != _DATA_KEY_BYTES:
            raise VaultError("a data key has 64 bytes")
        self.raw = raw
        self._aead = AESGCM(raw[:32])
        self._mac_key = raw[32:]
        self._mac: Hmac256 | None = None  # keyed when first used (an account's key)

    @classmethod
    def generate(cls) -> DataKey:
        return cls(os.urandom(_DATA_KEY_BYTES))

    def seal(self, plaintext: bytes, bound_to: bytes) -> bytes:
        """``plaintext`` encrypted (AES-256-GCM), bound to ``bound_to`` (associated data)."""
        header = bytes((_SEALED_DATA_KEY,)) + os.urandom(_NONCE_BYTES)
        return header + self._aead.encrypt(header[1:], plaintext, header + bound_to)

    def open(self, sealed: bytes, bound_to: bytes) -> bytes:
        """The plaintext of ``seal``; ``VaultError`` for another key, binding or a changed value."""
        header = sealed[: 1 + _NONCE_BYTES]
        if sealed[:1] != bytes((_SEALED_DATA_KEY,)) or len(sealed) < len(header) + 16:
            raise VaultError("not a value sealed with a data key")
        try:
            return self._aead.decrypt(header[1:], sealed[len(header) :], header + bound_to)
        except InvalidTag:
            raise VaultError(
                "cannot decrypt a stored value with its data key (changed outside the host?)",
                text_id="store.data_key_mismatch",
            ) from None

    def mac(self, data: bytes) -> bytes:
        """HMAC-SHA256 of ``data`` under this key's MAC half: an equality check of a value
        sealed with this key that nobody can compute or confirm once the key is destroyed."""
        if self._mac is None:
            self._mac = Hmac256(self._mac_key)
        return self._mac(data)

    def __repr__(self) -> str:
        return "DataKey(<hidden>)"


def _key_id(key: bytes) -> bytes:
    return hmac.digest(key, _KEY_ID_CONTEXT, "sha256")[:_KEY_ID_BYTES]


def _aead(key: bytes) -> AESGCM:
    """AES-256-GCM under a key derived (HKDF-SHA256) from the Fernet key."""
    secret = base64.urlsafe_b64decode(key)
    return AESGCM(HKDF(SHA256(), 32, None, _SEAL_CONTEXT).derive(secret))


def _audit_mac(key: bytes) -> Hmac256:
    """HMAC-SHA256 under a key derived (HKDF-SHA256) from the Fernet key for the audit log."""
    secret = base64.urlsafe_b64decode(key)
    return Hmac256(HKDF(SHA256(), 32, None, _AUDIT_CONTEXT).derive(secret))


def _checked_key(text: str, where: str) -> bytes:
    key = text.encode("ascii", "replace")
    try:
        Fernet(key)
    except ValueError:
        raise VaultError(
            f"{where} is not a Fernet key (32 url-safe base64-encoded bytes); "
            "make one with Vault.generate_key()",
            text_id="cli.vault.bad_key",
            where=where,
        ) from None
    return key


def _read_key_file(path: Path) -> list[bytes]:
    info = path.stat()
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise VaultError(
            f"refusing to use {path}: group or others may read or write it; run `chmod 600 {path}`",
            text_id="cli.vault.key_open",
            path=path,
        )
    lines = path.read_text(encoding="ascii", errors="replace").splitlines()
    keys = [
        _checked_key(line.strip(), f"{path} line {n}")
        for n, line in enumerate(lines, 1)
        if line.strip()
    ]
    if not keys:
        raise VaultError(
            f"{path} holds no key; restore it from your backup",
            text_id="cli.vault.key_empty",
            path=path,
        )
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
