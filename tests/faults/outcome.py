"""What one fault scenario showed, kept as JSON under test-artifacts/faults/ for docs/reliability.md.

Every scenario writes its outcome *before* it asserts, so a failing scenario still shows in the table with
what was observed. ``python -m tests.faults.report`` turns the files into the table.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "faults"


@dataclass(frozen=True)
class Outcome:
    """One row of the reliability table.

    :param key: a stable sort key, ``<group>.<nn>-<name>`` (the table is sorted by group, then key).
    :param scenario: what was done to the service, the server or the network.
    :param expected: the final state the user must see.
    :param observed: the final state the user saw (status and message, close codes, answers).
    :param lines_lost: lines printed (to a client, or by the server before the fault) that were not stored.
    :param secrets_found: occurrences of the run's canary secrets in events, answers, logs and database files.
    """

    key: str
    scenario: str
    expected: str
    observed: str
    lines_lost: int = 0
    secrets_found: int = 0
    passed: bool = True

    def write(self) -> Path:
        """Store the outcome as ``test-artifacts/faults/<key>.json``."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9._-]', '_', self.key)}.json"
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return path


GROUPS = ("ssh", "server", "lockout", "service", "backend", "secrets", "attack")  # the table's order


def _order(outcome: Outcome) -> tuple[int, str]:
    group = outcome.key.split(".", 1)[0]
    return (GROUPS.index(group) if group in GROUPS else len(GROUPS), outcome.key)


def load_outcomes(directory: Path = ARTIFACTS) -> list[Outcome]:
    """Every stored outcome, grouped (SSH, server, lock-out, service, backends, secrets, attacks), by key."""
    found = [Outcome(**json.loads(p.read_text(encoding="utf-8"))) for p in directory.glob("*.json")]
    return sorted(found, key=_order)
