"""Turn a terminal's byte stream into plain text lines.

Output read from a PTY is what a terminal would draw: CRLF line ends, ``\\r`` redraws of progress
bars, ANSI colour and cursor sequences. :class:`LineAssembler` replays the few cursor movements
that matter on a one-line buffer, so a redrawn line collapses to its final state, and drops every
other escape sequence. Text is decoded as UTF-8 with replacement, and lines are bounded.
"""

from __future__ import annotations

import codecs
from enum import Enum, auto

MAX_LINE = 4000


class _State(Enum):
    TEXT = auto()
    ESC = auto()
    CSI = auto()
    OSC = auto()
    OSC_ESC = auto()
    CHARSET = auto()


class LineAssembler:
    """Feed bytes in, take finished lines out.

    :param max_line: a line longer than this is cut and continued on the next line.
    """

    def __init__(self, max_line: int = MAX_LINE) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max_line = max_line
        self._buf: list[str] = []
        self._cursor = 0
        self._state = _State.TEXT
        self._params: list[str] = []
        self._lines: list[str] = []

    @property
    def pending(self) -> str:
        """The unfinished current line, as it would show on screen now."""
        return "".join(self._buf)

    def feed(self, data: bytes) -> list[str]:
        """Process a chunk; return the lines it finished (blank lines are dropped)."""
        self._feed_text(self._decoder.decode(data))
        return self._take()

    def finish(self) -> list[str]:
        """End of stream: return what is left (an unfinished last line counts as a line)."""
        self._feed_text(self._decoder.decode(b"", final=True))
        self._end_line()
        return self._take()

    def take_marker(self, marker: str) -> bool:
        """Remove ``marker`` from the unfinished line; True if it was there (a prompt was printed)."""
        text = self.pending
        if marker not in text:
            return False
        self._buf = list(text.replace(marker, ""))
        self._cursor = len(self._buf)
        return True

    def _take(self) -> list[str]:
        lines, self._lines = self._lines, []
        return lines

    def _end_line(self) -> None:
        line = "".join(self._buf).rstrip()
        if line.strip():
            self._lines.append(line)
        self._buf = []
        self._cursor = 0

    def _put(self, ch: str) -> None:
        if self._cursor < len(self._buf):
            self._buf[self._cursor] = ch
        else:
            self._buf.extend(" " * (self._cursor - len(self._buf)))
            self._buf.append(ch)
        self._cursor += 1
        if len(self._buf) >= self._max_line:
            self._end_line()

    def _feed_text(self, text: str) -> None:
        for ch in text:
            state = self._state
            if state is _State.TEXT:
                self._text_char(ch)
            elif state is _State.ESC:
                self._esc_char(ch)
            elif state is _State.CSI:
                if "@" <= ch <= "~":
                    self._csi_final(ch, "".join(self._params))
                    self._state = _State.TEXT
                else:
                    self._params.append(ch)
            elif state is _State.OSC:
                if ch == "\x07":
                    self._state = _State.TEXT
                elif ch == "\x1b":
                    self._state = _State.OSC_ESC
            elif state is _State.OSC_ESC:
                self._state = _State.TEXT if ch == "\\" else _State.OSC
            else:  # CHARSET: one designator character follows ESC ( or ESC )
                self._state = _State.TEXT

    def _text_char(self, ch: str) -> None:
        if ch == "\n":
            self._end_line()
        elif ch == "\r":
            self._cursor = 0
        elif ch == "\x1b":
            self._state = _State.ESC
        elif ch == "\b":
            self._cursor = max(0, self._cursor - 1)
        elif ch == "\t":
            for _ in range(8 - self._cursor % 8):
                self._put(" ")
        elif ch < " " or "\x7f" <= ch <= "\x9f":
            return  # other control characters draw nothing
        else:
            self._put(ch)

    def _esc_char(self, ch: str) -> None:
        if ch == "[":
            self._params = []
            self._state = _State.CSI
        elif ch == "]":
            self._state = _State.OSC
        elif ch in "()*+":
            self._state = _State.CHARSET
        else:
            self._state = _State.TEXT  # two-character sequence (ESC 7, ESC M, …): no visible effect

    def _csi_final(self, final: str, params: str) -> None:
        number = int(params) if params.isdigit() else None
        if final == "K":  # erase in line
            if number in (None, 0):
                del self._buf[self._cursor :]
            elif number == 1:
                for i in range(min(self._cursor + 1, len(self._buf))):
                    self._buf[i] = " "
            else:
                self._buf = [" "] * min(self._cursor, len(self._buf))
        elif final == "G":  # cursor to column
            self._cursor = max(0, (number or 1) - 1)
        elif final == "C":  # cursor forward
            self._cursor += number or 1
        elif final == "D":  # cursor back
            self._cursor = max(0, self._cursor - (number or 1))
        # colours, scroll regions, cursor up/down and the rest draw nothing we keep
