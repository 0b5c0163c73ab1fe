"""The secretbox: AES-GCM round trips, refuses the wrong key or the wrong row, and guards its key file."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from setupwizard.config import Settings
from setupwizard.core.secretbox import (
    KEY_FILE_NAME,
    SecretBox,
    SecretBoxError,
    SecretKeyFileError,
    derive_key,
    load_key_file,
    secretbox_from_settings,
)

CANARY = "canary-sudo-pässword-7f3a"
AAD = "ssh_servers_sudo:1:example.org:22"


def box(material: bytes = b"k" * 32) -> SecretBox:
    return SecretBox(derive_key(material))


def test_round_trip_gives_back_the_plaintext() -> None:
    sealed = box().encrypt(CANARY, AAD)
    assert box().decrypt(sealed, AAD) == CANARY


def test_ciphertext_is_versioned_base64_without_the_plaintext() -> None:
    sealed = box().encrypt(CANARY, AAD)
    assert sealed.startswith("v1:")
    raw = base64.b64decode(sealed[3:], validate=True)
    assert len(raw) == 12 + len(CANARY.encode()) + 16  # nonce, ciphertext, tag
    assert CANARY.encode() not in raw
    assert CANARY not in sealed


def test_each_encryption_uses_a_fresh_nonce() -> None:
    assert box().encrypt(CANARY, AAD) != box().encrypt(CANARY, AAD)


def test_wrong_key_fails_to_decrypt() -> None:
    sealed = box(b"a" * 32).encrypt(CANARY, AAD)
    with pytest.raises(SecretBoxError):
        box(b"b" * 32).decrypt(sealed, AAD)


def test_value_copied_to_another_row_fails_to_decrypt() -> None:
    sealed = box().encrypt(CANARY, AAD)
    for other in ("ssh_servers_sudo:2:example.org:22", "ssh_servers_sudo:1:example.org:2222"):
        with pytest.raises(SecretBoxError):
            box().decrypt(sealed, other)


@pytest.mark.parametrize(
    "bad", ["", "plain", "v1:", "v1:!!!notbase64", "v1:" + base64.b64encode(b"short").decode()]
)
def test_malformed_values_are_refused(bad: str) -> None:
    with pytest.raises(SecretBoxError):
        box().decrypt(bad, AAD)


def test_tampered_ciphertext_is_refused() -> None:
    sealed = box().encrypt(CANARY, AAD)
    raw = bytearray(base64.b64decode(sealed[3:]))
    raw[-1] ^= 0x01
    with pytest.raises(SecretBoxError):
        box().decrypt("v1:" + base64.b64encode(bytes(raw)).decode(), AAD)


def test_key_file_is_created_with_mode_0600_and_reused(tmp_path: Path) -> None:
    first = load_key_file(tmp_path)
    path = tmp_path / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) == 32
    assert load_key_file(tmp_path) == first


def test_key_file_mode_ignores_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_key_file(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600


def test_readable_key_file_is_refused_with_the_fix_in_the_message(tmp_path: Path) -> None:
    load_key_file(tmp_path)
    path = tmp_path / KEY_FILE_NAME
    path.chmod(0o644)
    with pytest.raises(SecretKeyFileError) as caught:
        load_key_file(tmp_path)
    assert f"chmod 600 {path}" in str(caught.value)


def test_garbage_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"not base64 at all\n")
    os.close(fd)
    with pytest.raises(SecretKeyFileError):
        load_key_file(tmp_path)


def test_secret_key_setting_wins_and_no_key_file_is_written(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="s" * 40)
    sealed = secretbox_from_settings(settings).encrypt(CANARY, AAD)
    assert not (tmp_path / KEY_FILE_NAME).exists()
    again = secretbox_from_settings(Settings(data_dir=tmp_path, secret_key="s" * 40))
    assert again.decrypt(sealed, AAD) == CANARY
    with pytest.raises(SecretBoxError):
        secretbox_from_settings(Settings(data_dir=tmp_path, secret_key="t" * 40)).decrypt(sealed, AAD)


def test_key_file_box_survives_a_restart(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="")
    sealed = secretbox_from_settings(settings).encrypt(CANARY, AAD)
    assert secretbox_from_settings(settings).decrypt(sealed, AAD) == CANARY


def test_repr_does_not_show_the_key() -> None:
    assert "hidden" in repr(box())


def test_full_disk_at_first_start_leaves_no_short_key_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full_disk(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", full_disk)
    with pytest.raises(OSError, match="No space left"):
        load_key_file(tmp_path)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []  # neither a 0-byte secret.key nor a temp file
    assert len(load_key_file(tmp_path)) == 32  # the next start simply creates it


def test_empty_key_file_is_refused_with_a_message_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.touch(mode=0o600)
    with pytest.raises(SecretKeyFileError, match=f"{path} is empty.*delete {path}"):
        load_key_file(tmp_path)


def test_short_key_file_is_refused_with_a_message_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_bytes(base64.b64encode(b"short") + b"\n")
    path.chmod(0o600)
    with pytest.raises(SecretKeyFileError, match=f"{path} holds a key shorter than 32 bytes"):
        load_key_file(tmp_path)
