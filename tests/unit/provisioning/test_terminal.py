from __future__ import annotations

import random

import pytest

from setupwizard.provisioning.redaction import Redactor
from setupwizard.provisioning.terminal import LineAssembler


def feed_all(*chunks: bytes, max_line: int = 4000) -> list[str]:
    assembler = LineAssembler(max_line=max_line)
    lines: list[str] = []
    for chunk in chunks:
        lines += assembler.feed(chunk)
    return lines + assembler.finish()


def test_crlf_lines_from_a_pty_become_plain_lines() -> None:
    assert feed_all(b"one\r\ntwo\r\n") == ["one", "two"]


def test_carriage_return_redraws_collapse_to_the_final_state() -> None:
    data = b"".join(f"\rProgress: {i}%".encode() for i in range(0, 101, 5)) + b"\r\n"
    assert feed_all(data) == ["Progress: 100%"]


def test_shorter_redraw_keeps_what_a_terminal_would_show_and_erase_line_clears() -> None:
    assert feed_all(b"long text\rshort\n") == ["shorttext"]
    assert feed_all(b"long text\r\x1b[Kshort\n") == ["short"]


def test_ansi_colours_cursor_and_title_sequences_are_dropped() -> None:
    data = b"\x1b[1;31mred\x1b[0m \x1b]0;title\x07plain \x1b(Bdone\x1b[?25l\n"
    assert feed_all(data) == ["red plain done"]


def test_escape_sequences_split_across_chunks() -> None:
    assert feed_all(b"a\x1b[3", b"1mb\x1b", b"[0mc\n") == ["abc"]


def test_utf8_split_across_chunks_and_invalid_bytes_are_replaced() -> None:
    text = "正在安装\n".encode()
    assert feed_all(text[:2], text[2:5], text[5:]) == ["正在安装"]
    assert feed_all(b"bad \xff byte\n") == ["bad \ufffd byte"]


def test_blank_lines_are_dropped_and_an_unfinished_last_line_is_kept() -> None:
    assert feed_all(b"\r\n\r\n  \nx\n\nlast") == ["x", "last"]


def test_lines_are_bounded() -> None:
    lines = feed_all(b"x" * 25 + b"\n", max_line=10)
    assert lines == ["x" * 10, "x" * 10, "x" * 5]


def test_backspace_and_tab() -> None:
    assert feed_all(b"ab\bc\n", b"a\tb\n") == ["ac", "a       b"]


def test_take_marker_removes_a_prompt_from_the_pending_line() -> None:
    assembler = LineAssembler()
    assert assembler.feed(b"[sudo-pw-1") == []
    assert not assembler.take_marker("[sudo-pw-1234]")
    assembler.feed(b"234]")
    assert assembler.take_marker("[sudo-pw-1234]")
    assert assembler.pending == ""
    assert assembler.feed(b"after\n") == ["after"]


def test_a_flood_of_redraws_is_one_line() -> None:
    data = b"".join(b"\r[%5d/100000]" % i for i in range(100000)) + b"\n"
    assert feed_all(data) == ["[99999/100000]"]


class _StateMachineOnly(LineAssembler):
    """The reference: every character through the state machine (the behaviour before the fast path)."""

    def _feed_text(self, text: str) -> None:
        self._feed_chars(text)


class _Secrets:
    """A secret locator like the emitter's redactor, for a fixed list of secrets."""

    def __init__(self, *secrets: str) -> None:
        self.secrets = secrets

    @property
    def hold(self) -> int:
        return max((len(s) for s in self.secrets), default=1) - 1

    def safe_cut(self, text: str, at: int) -> int:
        for secret in self.secrets:
            start = text.find(secret, max(0, at - len(secret) + 1))
            while 0 <= start < at:
                if start + len(secret) > at:
                    return start if start > 0 else start + len(secret)
                start = text.find(secret, start + 1)
        return at

    def spans(self, text: str) -> list[tuple[int, int]]:
        found = []
        for secret in self.secrets:
            start = text.find(secret)
            while start >= 0:
                found.append((start, start + len(secret)))
                start = text.find(secret, start + 1)
        return sorted(found)


_PIECES = [
    b"a",
    b"xyz",
    b"  ",
    b"\n",
    b"\r\n",
    b"\r",
    b"\b",
    b"\t",
    b"\x07",
    b"\x00",
    b"\x7f",
    b"\x1b[K",
    b"\x1b[1K",
    b"\x1b[2K",
    b"\x1b[31m",
    b"\x1b[0m",
    b"\x1b[5G",
    b"\x1b[3C",
    b"\x1b[2D",
    b"\x1b[",
    b"\x1b",
    b"\x1b]0;title\x07",
    b"\x1b]2;t\x1b\\",
    b"\x1b(B",
    b"\x1b7",
    b"\xc2\x85",
    "正在".encode(),
    "é".encode()[:1],
    b"\xff",
    b"Get:1 http://deb.debian.org bookworm InRelease",
    b"W: Failed to fetch",
    b"  E: x  ",
    "\u00b2".encode(),
]


def _random_stream(rng: random.Random) -> tuple[list[bytes], int]:
    data = b"".join(rng.choice(_PIECES) * rng.choice((1, 1, 1, 3, 20)) for _ in range(rng.randint(0, 80)))
    cuts = sorted(rng.sample(range(len(data) + 1), min(len(data) + 1, rng.randint(0, 6))))
    chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
    return chunks, rng.choice((3, 7, 16, 4000))


def _run(assembler: LineAssembler, chunks: list[bytes]) -> list[list[str]]:
    return [assembler.feed(chunk) for chunk in chunks] + [assembler.finish()]


def test_fast_path_gives_exactly_what_the_state_machine_gives_per_chunk() -> None:
    rng = random.Random(20261127)
    for _ in range(3000):
        chunks, max_line = _random_stream(rng)
        fast = _run(LineAssembler(max_line=max_line), chunks)
        slow = _run(_StateMachineOnly(max_line=max_line), chunks)
        assert fast == slow, (chunks, max_line)


def test_fast_path_with_a_secret_locator_gives_what_the_state_machine_gives() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        chunks, max_line = _random_stream(rng)
        secrets = _Secrets("xyzxyz", "axyz")
        fast = _run(LineAssembler(max_line=max_line, secret_locator=secrets), chunks)
        slow = _run(_StateMachineOnly(max_line=max_line, secret_locator=secrets), chunks)
        assert fast == slow, (chunks, max_line)


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"one\r\ntwo\r\nthr", b"ee\r", b"\n"], ["one", "two", "three"]),
        ([b"abc\r", b"\nd\n"], ["abc", "d"]),
        ([b"abc\r", b"X\n"], ["Xbc"]),
        ([b"12345678901234567\n"], ["1234567890", "1234567"]),
        ([b"1234567890", b"\n"], ["1234567890"]),
        ([b"\x1b[31mred\x1b[0m and plain\r\n"], ["red and pl", "ain"]),
        ([b"long line here\r", b"short\r\n"], ["long line", "short"]),
        ([b"line\r", b"ab\r\n"], ["abne"]),
    ],
)
def test_table_of_mixed_chunks(chunks: list[bytes], expected: list[str]) -> None:
    assert feed_all(*chunks, max_line=10) == expected


def test_a_cut_never_splits_a_secret() -> None:
    secret = "Winter2026!sudo"
    for offset in range(-len(secret), 2):
        text = "x" * (40 + offset) + secret + "y" * 30
        assembler = LineAssembler(max_line=40, secret_locator=_Secrets(secret))
        lines = assembler.feed(text.encode()) + assembler.finish()
        assert "".join(lines) == text
        assert sum(secret in line for line in lines) == 1, offset
        assert all(len(line) <= 40 for line in lines)
        # without the secret locator the same text is cut through the secret
        plain = feed_all(text.encode(), max_line=40)
        assert offset not in range(-len(secret) + 1, 0) or not any(secret in line for line in plain)


def test_unicode_digits_in_an_escape_sequence_do_not_crash() -> None:
    assert feed_all("a\x1b[\u00b2Cb\n".encode()) == ["a b"]  # an unknown count moves one column


def test_a_carriage_return_redraw_over_part_of_a_secret_leaks_none_of_it() -> None:
    """``printf '%s\\rXXXX\\n' <sudo password>``: the redraw overwrites the secret's first characters."""
    secret = "pw-canary-7f3e9a1c"
    redactor = Redactor([secret])
    for redraw in (b"\r", b"\b" * 30, b"\x1b[1G", b"\x1b[40D", b"\x1b[2K\r"):
        for chunks in (
            [secret.encode() + redraw + b"XXXX\n"],
            [secret[:5].encode(), secret[5:].encode() + redraw[:1], redraw[1:] + b"XXXX", b"\n"],
        ):
            assembler = LineAssembler(secret_locator=redactor)
            lines = redactor.redact_lines([line for chunk in chunks for line in assembler.feed(chunk)])
            lines += redactor.redact_lines(assembler.finish())
            text = "\n".join(lines)
            assert "XXXX" in text
            # no tail of the secret survives (its last 6 characters are unique to it)
            assert secret[-6:] not in text, (redraw, lines)


def test_a_secret_drawn_by_a_redraw_is_still_redacted_after_the_collapse() -> None:
    secret = "pw-canary-5b21"
    redactor = Redactor([secret])
    assembler = LineAssembler(secret_locator=redactor)
    # drawn in two passes: "pw-canary-XXXX", then the last four characters overwritten into place
    lines = assembler.feed(b"pw-canary-XXXX\x1b[4D5b21\n")
    assert redactor.redact_lines(lines) == ["********"]
