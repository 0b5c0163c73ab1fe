"""Search for secrets: every canary, in raw, JSON-escaped and per-line form, in any text or bytes."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path


def needles(secrets: Iterable[str]) -> set[bytes]:
    """The byte strings that would betray a secret: itself, its JSON escaping and, for a multi-line
    secret (a private key), every line of it longer than 16 characters."""
    found: set[bytes] = set()
    for secret in secrets:
        found.add(secret.encode())
        found.add(json.dumps(secret)[1:-1].encode())
        found.update(line.strip().encode() for line in secret.splitlines() if len(line.strip()) > 16)
    return {n for n in found if n and b"-----" not in n}  # PEM armour lines are not secret


def count_hits(secrets: Iterable[str], blobs: Iterable[str | bytes]) -> int:
    """How many times any needle occurs in any blob."""
    wanted = needles(secrets)
    hits = 0
    for blob in blobs:
        data = blob.encode() if isinstance(blob, str) else blob
        hits += sum(data.count(needle) for needle in wanted)
    return hits


def data_files(directory: Path) -> list[bytes]:
    """The raw bytes of every file under a data directory (SQLite database, WAL, journal, key file
    excluded: it is the encryption key, not a secret of the user's)."""
    return [p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file() and p.name != "secret.key"]
