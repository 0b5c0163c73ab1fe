"""Secrets out of every line: the redactor the engine passes each line and message through."""

from __future__ import annotations

from collections.abc import Sequence

MASK = "********"


class Redactor:
    """Replaces every occurrence of every secret, including secrets inside or overlapping others.

    All occurrences of all secrets are found first and their spans merged, so a secret that
    contains another (login ``X``, sudo ``X-Extra``) or overlaps it never leaks a part. It is also
    the terminal's ``SecretLocator``: an over-long line is cut where no secret is split.
    """

    def __init__(self, secrets: Sequence[str | None] | None = None) -> None:
        self._secrets: list[str] = []
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Redact ``secret`` from now on (empty or None is ignored)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    @property
    def hold(self) -> int:
        """The longest secret's length minus one (0 without secrets)."""
        return len(self._secrets[0]) - 1 if self._secrets else 0

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets are in ``text``: merged, sorted ``(start, end)`` spans."""
        found: list[tuple[int, int]] = []
        for secret in self._secrets:
            start = text.find(secret)
            while start >= 0:
                found.append((start, start + len(secret)))
                start = text.find(secret, start + 1)
        if not found:
            return found
        found.sort()
        merged = [found[0]]
        for start, end in found[1:]:
            last_start, last_end = merged[-1]
            if start < last_end:
                merged[-1] = (last_start, max(last_end, end))
            else:
                merged.append((start, end))
        return merged

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``********``."""
        spans = self.spans(text)
        if not spans:
            return text
        out: list[str] = []
        done = 0
        for start, end in spans:
            out.append(text[done:start])
            out.append(MASK)
            done = end
        out.append(text[done:])
        return "".join(out)

    def redact_lines(self, lines: Sequence[str]) -> list[str]:
        """Each line redacted; one search over the whole batch finds the lines that need it."""
        joined = "\n".join(lines)
        if not any(secret in joined for secret in self._secrets):
            return list(lines)
        return [self.redact(line) for line in lines]

    def safe_cut(self, text: str, at: int) -> int:
        """Cut at ``at``, or at the start of a secret straddling it (at its end if it starts at 0)."""
        for start, end in self.spans(text):
            if start < at < end:
                return start if start > 0 else end
            if start >= at:
                break
        return at
