"""Turn a terminal's byte stream into plain text lines.

Output read from a PTY is what a terminal would draw: CRLF line ends, ``\\r`` redraws of progress
bars, ANSI colour and cursor sequences. :class:`LineAssembler` replays the few cursor movements
that matter on a one-line buffer, so a redrawn line collapses to its final state, and drops every
other escape sequence. Text is decoded as UTF-8 with replacement, and lines are bounded.

Most output is plain text: the stretches between control characters are split with ``str``
methods, and the character-by-character state machine runs only where control characters are.
"""

from __future__ import annotations

import codecs
import re
from enum import Enum, auto
from typing import Protocol

from .redaction import MASK

MAX_LINE = 4000
# Characters the state machine must see: every control character except "\n", and a "\r" that is
# not the first half of a CRLF (a CRLF ends the line exactly as a bare "\n" does). Everything
# between two of these is printable text and newlines, handled with str methods.
_SPECIAL = re.compile(r"[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
# A secret on the drawn line is overwritten with this (a Unicode noncharacter, one per character, so every
# column stays where a terminal has it) before a redraw draws over or erases part of it; a finished line
# shows each run of them as the one mask the emitter uses.
_HIDDEN = "\ufdd0"
_HIDDEN_RUN = re.compile(f"{_HIDDEN}+")


class SecretLocator(Protocol):
    """Keeps secrets whole when an over-long line is cut (implemented by the emitter's redactor)."""

    @property
    def hold(self) -> int:
        """How many characters past the cut a line must hold before it is cut (longest secret - 1)."""
        ...

    def safe_cut(self, text: str, at: int) -> int:
        """A cut position near ``at`` (0 < cut ≤ len(text)) that splits no secret in ``text``."""
        ...

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets are in ``text``: sorted ``(start, end)`` spans."""
        ...


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
    :param secret_locator: when given, a line is cut only once it holds ``secret_locator.hold``
        characters past ``max_line``, at a place that splits no secret, so redaction later sees every
        secret whole.
        And once the cursor has moved back over drawn text (``\\r``, backspace, cursor left or to a
        column), the drawn line is redacted before anything draws over it or erases part of it: else
        ``printf '%s\\rXXXX'`` would leave a secret's tail that no later redaction recognises. The
        emitter redacts each finished line again (a redraw can also draw a secret).
    """

    def __init__(self, max_line: int = MAX_LINE, secret_locator: SecretLocator | None = None) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._max_line = max_line
        self._secrets = secret_locator
        self._buf: list[str] = []
        self._cursor = 0
        self._state = _State.TEXT
        self._params: list[str] = []
        self._lines: list[str] = []
        self._moved_back = False  # the cursor went back since the drawn line was last redacted

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

    def _hold(self) -> int:
        return min(self._secrets.hold, self._max_line) if self._secrets is not None else 0

    # -- the fast path: plain text and newlines ---------------------------------------------------

    def _feed_text(self, text: str) -> None:
        pos, end = 0, len(text)
        while pos < end:
            if self._state is not _State.TEXT:
                pos = self._feed_sequence(text, pos)
                continue
            match = _SPECIAL.search(text, pos)
            stop = end if match is None else match.start()
            if stop > pos:
                self._plain(text[pos:stop])
            if match is None:
                return
            self._text_char(text[stop])
            pos = stop + 1

    def _feed_sequence(self, text: str, pos: int) -> int:
        """Run the state machine from ``pos`` until an escape sequence ends; return where it stopped."""
        end = len(text)
        while pos < end and self._state is not _State.TEXT:
            self._step(text[pos])
            pos += 1
        return pos

    def _plain(self, text: str) -> None:
        """Printable text with newlines (a CRLF counts as a newline): no state machine needed."""
        if "\r" in text:
            text = text.replace("\r\n", "\n")
        pieces = text.split("\n")
        last = len(pieces) - 1
        self._put_text(pieces[0])
        if last == 0:
            return
        self._end_line()
        middle = pieces[1:last]  # each starts on an empty line with the cursor at 0
        if middle:
            limit = self._max_line
            if max(map(len, middle)) <= limit and _HIDDEN not in text:
                self._lines.extend(line for line in (piece.rstrip() for piece in middle) if line)
            else:
                for piece in middle:
                    self._put_text(piece)
                    self._end_line()
        self._put_text(pieces[last])

    def _put_text(self, text: str) -> None:
        """Draw ``text`` (printable, no newline) at the cursor, exactly as ``_put`` per character."""
        if not text:
            return
        if self._moved_back and self._cursor < len(self._buf):
            self._redact_drawn()
        buf, cursor = self._buf, self._cursor
        if cursor < len(buf):  # overwrite what is on the line; the line does not grow
            n = min(len(text), len(buf) - cursor)
            buf[cursor : cursor + n] = text[:n]
            self._cursor = cursor + n
            text = text[n:]
        limit = self._max_line + self._hold()
        while text:
            buf, cursor = self._buf, self._cursor
            if cursor > len(buf):
                buf.extend(" " * (cursor - len(buf)))
            room = max(1, limit - len(buf))
            buf.extend(text[:room])
            self._cursor = len(buf)
            text = text[room:]
            if len(buf) >= limit:
                self._cut()

    # -- line ends and cuts -----------------------------------------------------------------------

    def _redact_drawn(self) -> None:
        """Hide every secret on the drawn line, column for column, before a redraw changes part of it."""
        self._moved_back = False
        if self._secrets is None or not self._secrets.hold:
            return
        for start, end in self._secrets.spans("".join(self._buf)):
            self._buf[start:end] = _HIDDEN * (end - start)

    def _add_line(self, text: str) -> None:
        if _HIDDEN in text:
            text = _HIDDEN_RUN.sub(MASK, text)
        line = text.rstrip()
        if line:
            self._lines.append(line)

    def _end_line(self) -> None:
        text = "".join(self._buf)
        if self._secrets is not None and self._hold():
            while len(text) > self._max_line:
                cut = self._secrets.safe_cut(text, self._max_line)
                self._add_line(text[:cut])
                text = text[cut:]
        self._add_line(text)
        self._buf = []
        self._cursor = 0
        self._moved_back = False

    def _cut(self) -> None:
        """The line reached its limit: finish it (keeping a secret that straddles the cut whole)."""
        hold = self._hold()
        if self._secrets is None or not hold:
            self._end_line()
            return
        text = "".join(self._buf)
        limit = self._max_line + hold
        while len(text) >= limit:
            cut = self._secrets.safe_cut(text, self._max_line)
            self._add_line(text[:cut])
            text = text[cut:]
        self._buf = list(text)
        self._cursor = len(text)

    # -- the state machine, for control characters and escape sequences ---------------------------

    def _feed_chars(self, text: str) -> None:
        """The state machine over every character (what the fast path must behave like)."""
        for ch in text:
            self._step(ch)

    def _step(self, ch: str) -> None:
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

    def _put(self, ch: str) -> None:
        if self._cursor < len(self._buf):
            if self._moved_back:
                self._redact_drawn()
            self._buf[self._cursor] = ch
        else:
            self._buf.extend(" " * (self._cursor - len(self._buf)))
            self._buf.append(ch)
        self._cursor += 1
        if len(self._buf) >= self._max_line + self._hold():
            self._cut()

    def _text_char(self, ch: str) -> None:
        if ch == "\n":
            self._end_line()
        elif ch == "\r":
            self._cursor = 0
            self._moved_back = True
        elif ch == "\x1b":
            self._state = _State.ESC
        elif ch == "\b":
            self._cursor = max(0, self._cursor - 1)
            self._moved_back = True
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
        number = int(params) if params.isascii() and params.isdigit() else None
        if final in "GD":
            self._moved_back = True  # (G may also go forward: then nothing is drawn over)
        if final == "K":  # erase in line
            if self._moved_back:
                self._redact_drawn()
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
