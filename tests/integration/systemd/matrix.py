"""The lock-out matrix's combinations (all pairs of the factors, not every product) and its table."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

FACTORS: dict[str, tuple[str, ...]] = {
    "login": ("root", "sudoer"),
    "auth": ("password", "key"),
    "admin": ("none", "pasted key", "generated key"),
    "admin_sudo": ("NOPASSWD", "sudo password", "neither"),
    "root_login": ("yes", "no", "prohibit-password"),
    "password_login": ("on", "off"),
    "port": ("same", "new free", "in use"),
    "fault": ("none", "connection killed mid-hardening"),
}


@dataclass(frozen=True)
class Case:
    """One combination: a value per factor, in :data:`FACTORS` order."""

    values: tuple[str, ...]

    def __getattr__(self, name: str) -> str:
        names = list(FACTORS)
        if name in names:
            return self.values[names.index(name)]
        raise AttributeError(name)

    @property
    def hardening(self) -> bool:
        """Root login "yes" is the plan without the hardening step (sshd left as it is)."""
        return self.values[list(FACTORS).index("root_login")] != "yes"

    def label(self) -> str:
        return " · ".join(self.values)


def _pairs(values: tuple[str, ...]) -> set[tuple[int, str, int, str]]:
    return {(i, values[i], j, values[j]) for i, j in itertools.combinations(range(len(values)), 2)}


def all_pairs() -> list[Case]:
    """A small set of combinations covering every pair of factor values (greedy, deterministic)."""
    levels = list(FACTORS.values())
    uncovered: set[tuple[int, str, int, str]] = set()
    for i, j in itertools.combinations(range(len(levels)), 2):
        uncovered |= {(i, a, j, b) for a in levels[i] for b in levels[j]}
    candidates = list(itertools.product(*levels))
    chosen: list[Case] = []
    while uncovered:
        best = max(candidates, key=lambda values: len(_pairs(values) & uncovered))
        uncovered -= _pairs(best)
        chosen.append(Case(best))
    return chosen


def table(rows: list[tuple[Case, str, str]]) -> str:
    """A Markdown table: the combination, the outcome, and the ways to root proven afterwards."""
    head = [*FACTORS, "outcome", "ways to root proven from outside"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for case, outcome, ways in rows:
        lines.append("| " + " | ".join([*case.values, outcome, ways]) + " |")
    return "\n".join(lines)
