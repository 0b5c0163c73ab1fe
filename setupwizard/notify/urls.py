"""An apprise URL: checked before it is saved, and masked whenever it is shown.

The URL holds the receiving service's tokens (a bot token, a webhook path, a mail password), so it is
kept encrypted and only its scheme and last characters are ever shown back.
"""

from __future__ import annotations

import apprise

from setupwizard.core.errors import InvalidRequestError

MAX_URL_CHARS = 2048
_SHOWN_TAIL = 4


def check_url(url: str) -> str:
    """``url`` stripped, if apprise knows its scheme and can read it.

    :raises InvalidRequestError: 422 on ``url`` (empty, too long, or no apprise service), never quoting it.
    """
    url = url.strip()
    if not url:
        raise InvalidRequestError("url", "请填写通知地址 (the apprise URL is empty)")
    if len(url) > MAX_URL_CHARS or any(ch in url for ch in "\r\n\0"):
        raise InvalidRequestError("url", "通知地址太长或含有换行 (the URL is too long or has a line break)")
    if not apprise.Apprise().add(url):
        raise InvalidRequestError(
            "url",
            "不是 apprise 支持的通知地址，例如 mailto://、json://、tgram:// "
            "(not an apprise URL, such as mailto://, json://, tgram://)",
            code="notify_url_unknown",
        )
    return url


def mask(url: str) -> str:
    """What the page shows of a URL: its scheme and last four characters (``json://…hook``)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "…"
    tail = rest[-_SHOWN_TAIL:] if len(rest) > 3 * _SHOWN_TAIL else ""
    return f"{scheme[:16]}://…{tail}"
