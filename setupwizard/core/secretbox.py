"""Authenticated encryption of small secrets at rest (saved sudo passwords).

AES-256-GCM with a random 96-bit nonce. The stored text is ``"v1:" + base64(nonce || ciphertext+tag)``.
Associated data binds a ciphertext to where it belongs (user, host, port), so a value copied into another
row does not decrypt. The key comes from ``SETUPWIZARD_SECRET_KEY`` (stretched with HKDF-SHA256) or from
``<data_dir>/secret.key``, created with mode 0600 on first start.

Shared: one cipher for every secret the service keeps: saved sudo passwords and logins (``servers/``),
the admin key waiting for its download (``setup/``), the key vault (``vault/``) and notification URLs
(``notify/``).
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import secrets
import stat
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from setupwizard.config import Settings

log = logging.getLogger(__name__)

PREFIX = "v1:"
NONCE_BYTES = 12
KEY_FILE_NAME = "secret.key"
_HKDF_SALT = b"setupwizard secretbox"
_HKDF_INFO = b"setupwizard secretbox v1 aes-256-gcm"


class SecretBoxError(Exception):
    """A value could not be decrypted (wrong key, tampered, or copied from elsewhere)."""


class SecretKeyFileError(Exception):
    """The key file is unsafe or unreadable; the message says what to do."""


def derive_key(material: bytes) -> bytes:
    """32 bytes for AES-256 from any key material, by HKDF-SHA256."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO).derive(material)


class SecretBox:
    """Encrypts and decrypts short strings, each bound to associated data."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("SecretBox needs a 32-byte key")
        self._aead = AESGCM(key)

    def __repr__(self) -> str:
        return "SecretBox(<key hidden>)"

    def encrypt(self, plaintext: str, associated_data: str) -> str:
        """``"v1:" + base64(nonce || ct)``; only the same key and associated data open it."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), associated_data.encode())
        return PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str, associated_data: str) -> str:
        """The plaintext, or :class:`SecretBoxError` (never a partial or wrong value)."""
        if not token.startswith(PREFIX):
            raise SecretBoxError("not a v1 secretbox value")
        try:
            raw = base64.b64decode(token[len(PREFIX) :], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SecretBoxError("malformed secretbox value") from exc
        if len(raw) <= NONCE_BYTES + 16:
            raise SecretBoxError("malformed secretbox value")
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated_data.encode())
        except InvalidTag as exc:
            raise SecretBoxError("cannot decrypt: wrong key or the value belongs elsewhere") from exc
        return plain.decode()


def _read_key_file(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretKeyFileError(
            f"{path} is readable by other users (mode {mode:04o}); it protects saved sudo passwords. "
            f"Run: chmod 600 {path}  (and consider it leaked if others could read it)"
        )
    content = path.read_bytes().strip()
    if not content:
        raise SecretKeyFileError(
            f"{path} is empty (an older version could leave it so when the disk was full at first start). "
            f"No key was ever written to it, so nothing was encrypted with it: delete {path} and start again"
        )
    try:
        material = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretKeyFileError(f"{path} is not a valid key file (expected base64)") from exc
    if len(material) < 32:
        raise SecretKeyFileError(
            f"{path} holds a key shorter than 32 bytes (cut short?); restore it from a backup, or delete it "
            "and save the sudo passwords again (the ones encrypted with it cannot be read any more)"
        )
    return material


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_key_file(path: Path) -> None:
    """Write a fresh key atomically: a temp file (0600) is written and fsynced, then linked into place.

    A full disk or a crash leaves no key file, or a whole one; never a short one. ``os.link`` fails when
    the name exists, so two processes starting at once never overwrite each other's fresh key.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    material = base64.b64encode(secrets.token_bytes(32)) + b"\n"
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        try:
            os.fchmod(fd, 0o600)
            written = 0
            while written < len(material):
                written += os.write(fd, material[written:])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync_directory(path.parent)
    log.info("Created a new secret key file at %s (mode 0600)", path)


def load_key_file(data_dir: Path) -> bytes:
    """Key material from ``<data_dir>/secret.key``, creating the file (mode 0600) when missing."""
    path = data_dir / KEY_FILE_NAME
    try:
        _create_key_file(path)
    except FileExistsError:
        pass
    return _read_key_file(path)


def secretbox_from_settings(settings: Settings) -> SecretBox:
    """The service's SecretBox: from ``SETUPWIZARD_SECRET_KEY`` if set, else from the key file."""
    if settings.secret_key is not None:
        material = settings.secret_key.get_secret_value().encode()
    else:
        material = load_key_file(settings.data_dir)
    return SecretBox(derive_key(material))
