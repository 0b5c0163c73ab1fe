from __future__ import annotations

from setupwizard.provisioning.lines import LineAssembler


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
