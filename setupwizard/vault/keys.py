"""Reading a pasted private key: what it is, or a 422 naming the field that is wrong.

A key with a passphrase is opened once, here, and kept unencrypted inside the vault's own encryption
(the cipher of the saved sudo passwords), so a run with a saved key needs no passphrase. A key without
one is kept exactly as pasted: the run then redacts the very lines a server could print.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncssh

from setupwizard.core.errors import InvalidRequestError

MAX_KEY_CHARS = 64 * 1024


@dataclass(frozen=True)
class ReadKey:
    """A private key read from text: the key itself (unencrypted), its public line, its fingerprint."""

    private_key: str
    public_key: str
    fingerprint: str
    key_type: str

    def __repr__(self) -> str:  # never the private key
        return f"ReadKey(fingerprint={self.fingerprint!r}, key_type={self.key_type!r})"


def _looks_public(text: str) -> bool:
    try:
        asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError, TypeError):
        return False
    return True


def read_private_key(text: str, passphrase: str | None) -> ReadKey:
    """The key in ``text`` (OpenSSH or PEM), opened with ``passphrase`` when it is encrypted.

    :raises InvalidRequestError: 422 on ``private_key`` (not a private key, a public key, too long) or
        ``passphrase`` (the key is encrypted and none or a wrong one was given). No message holds the key.
    """
    text = text.strip()
    if not text:
        raise InvalidRequestError("private_key", "请粘贴或上传私钥 (private_key is empty)")
    if len(text) > MAX_KEY_CHARS:
        raise InvalidRequestError("private_key", "私钥太长，这不是一个 SSH 私钥 (private_key is too long)")
    try:
        key = asyncssh.import_private_key(text, passphrase or None)
    except asyncssh.KeyEncryptionError:
        raise InvalidRequestError(
            "passphrase", "口令不正确，无法解开私钥 (the passphrase does not open this key)"
        ) from None
    except (asyncssh.KeyImportError, ValueError, TypeError) as exc:
        if "passphrase" in str(exc).lower():
            raise InvalidRequestError(
                "passphrase", "私钥已加密：请提供它的口令 (the key is encrypted: give its passphrase)"
            ) from None
        if _looks_public(text):
            raise InvalidRequestError(
                "private_key", "这是公钥；请粘贴私钥 (this is a public key: paste the private key)"
            ) from None
        raise InvalidRequestError(
            "private_key", "不是 OpenSSH 或 PEM 格式的私钥 (not an OpenSSH or PEM private key)"
        ) from None
    opened = key.export_private_key("openssh").decode() if passphrase else text + "\n"
    return ReadKey(
        private_key=opened,
        public_key=key.export_public_key("openssh").decode().strip(),
        fingerprint=key.get_fingerprint("sha256"),
        key_type=key.get_algorithm(),
    )
