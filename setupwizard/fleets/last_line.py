"""A fleet host's last line: its text as its session wrote it, and its message code when the service wrote it.

``last_line`` stays the text (for the service's own lines the Chinese of the seed contract); beside it,
``last_line_code``/``last_line_params`` render the same line in any language from ``GET /messages.json``,
as an event's ``code``/``params`` do (the page: ``static/codes.js`` ``renderCode``). A line the server
printed (apt's output…) has no code and reads as printed in every language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from setupwizard.core.errors import AppError
from setupwizard.provisioning.errors import ProvisioningError
from setupwizard.provisioning.events import SessionEvent
from setupwizard.provisioning.messages import Lang, Msg, render, text_msg
from setupwizard.setup.schemas import SetupResponse

MAX_CHARS = 2000
"""The longest text kept (a line of the server's may be very long)."""


@dataclass(frozen=True, slots=True)
class LastLine:
    """The newest line of a host: ``text`` as written, ``code``/``params`` when it is a catalogued message."""

    text: str = ""
    code: str | None = None
    params: dict[str, Any] | None = None

    @classmethod
    def of_event(cls, event: SessionEvent) -> LastLine:
        """The last line of ``event`` (of a run of printed lines its last; an engine line with its code)."""
        text = event.message.rsplit("\n", 1)[-1][:MAX_CHARS]
        if event.code is None:
            return cls(text)
        return cls(text, event.code, event.params or {})

    @classmethod
    def of_msg(cls, said: Msg) -> LastLine:
        """A message of the service's own (an uncatalogued text keeps no code: it reads the same in all)."""
        if said.code == "text":
            return cls(str(said)[:MAX_CHARS])
        return cls(str(said)[:MAX_CHARS], said.code, said.params)

    @classmethod
    def of_response(cls, response: SetupResponse) -> LastLine:
        """A finished setup's message (with the result's code when it has one)."""
        extra = response.model_extra or {}
        code, params = extra.get("code"), extra.get("params")
        if not isinstance(code, str):
            return cls(response.message[:MAX_CHARS])
        return cls(response.message[:MAX_CHARS], code, params if isinstance(params, dict) else {})

    def text_in(self, lang: Lang) -> str:
        """The line in ``lang`` (its last line, as ``text`` is): rendered from its code, else as written."""
        if self.code is None or lang == "zh":
            return self.text
        return render(self.code, self.params, lang).rsplit("\n", 1)[-1]

    def columns(self) -> dict[str, Any]:
        """The host row's columns."""
        return {"last_line": self.text, "last_line_code": self.code, "last_line_params": self.params}

    def frame(self) -> dict[str, Any]:
        """The fields of a progress frame (``last_line_code``/``last_line_params`` only with a code)."""
        if self.code is None:
            return {"last_line": self.text}
        return {"last_line": self.text, "last_line_code": self.code, "last_line_params": self.params}


def error_msg(exc: AppError | ProvisioningError) -> Msg:
    """What a refused start says (``setup_running``…), as a message in any language when it is catalogued."""
    if isinstance(exc, ProvisioningError):
        return exc.msg
    return exc.said if exc.said is not None else text_msg(exc.message)
