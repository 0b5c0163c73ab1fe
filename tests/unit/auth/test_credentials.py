"""Password hashing and token digests."""

from __future__ import annotations

from setupwizard.auth import credentials


def test_hash_verifies_the_right_password_only() -> None:
    hashed = credentials.hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert credentials.verify_password(hashed, "correct horse")
    assert not credentials.verify_password(hashed, "correct horsE")


def test_missing_or_broken_hash_never_verifies() -> None:
    assert not credentials.verify_password(None, "anything")
    assert not credentials.verify_password("not-a-hash", "anything")


def test_same_password_hashes_differently_each_time() -> None:
    assert credentials.hash_password("pw-123456") != credentials.hash_password("pw-123456")


def test_tokens_are_random_and_stored_only_as_digest() -> None:
    first, second = credentials.new_token(), credentials.new_token()
    assert first != second
    assert len(first) >= 40
    digest = credentials.token_digest(first)
    assert len(digest) == 64
    assert first not in digest
    assert digest == credentials.token_digest(first)
