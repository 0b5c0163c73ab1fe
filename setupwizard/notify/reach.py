"""Which hosts a notification URL makes the service connect to, and whether the deny list lets it.

Saving a target and every delivery make the service itself connect to what the URL names. Unchecked,
``json://169.254.169.254/…`` or ``json://127.0.0.1:5432/`` would let any user send requests from the
service to the cloud metadata service, to its own loopback or to the link-local network. The networks of
``SETUPWIZARD_NOTIFY_DENY`` (and the service host's own addresses) are refused: when a URL is saved (422
``notify_url_denied``) and again before each delivery, since a name may resolve elsewhere later.

Which host a URL reaches is read from apprise's own description of each plugin, not from a list of schemes
kept here. A plugin for a server anyone can run (``json://``, ``xml://``, ``form://``, ``ntfy://``,
``gotify://``, ``mailto://``, ``matrix://``, …) has ``host`` among its ``template_tokens``; an argument
that names a further server maps to a ``*_host`` attribute (mailto's ``?smtp=`` to ``smtp_host``, xmpp's
to ``xmpp_host``). Every such attribute of the plugin apprise builds from the URL is checked, and so is
the host the URL itself spells (apprise misreads some IPv6 literals: ``[::ffff:127.0.0.1]`` becomes
``[::ffff:127]``), each as a literal (IPv6, IPv4-mapped, ``2130706433``, ``0x7f.1``) or by every address
its name resolves to. A plugin of one public service (``tgram://``, ``discord://``, ``slack://``, …)
holds tokens only and sends to that service's fixed address: it has no host to check. A host token that
maps to something else (WeChat's agent id) is not a host.

A name may resolve to another address between this check and apprise's own connection (DNS rebinding),
and a receiver allowed here may answer with an HTTP redirect that apprise follows: ``connect_guard.py``
checks every HTTP connection of a delivery where it is made, including those of a plugin that builds its
server from some other part of the URL (Zulip's ``org.hostname``, Bluesky's handle domain), which this
module does not see, and every SMTP connection of mail. Some plugins' ``host`` is a name that is
never connected to (a Mailgun domain, an ntfy.sh topic): one that
spells a denied address (``ntfy://1234``, ``localhost``) is refused although harmless.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import apprise

from setupwizard.config import Settings
from setupwizard.core.errors import InvalidRequestError
from setupwizard.core.networks import TargetPolicy, own_addresses

DENIED = "refused: its host is in a denied network (SETUPWIZARD_NOTIFY_DENY)"
"""A target's ``last_error`` when a delivery was refused before any connection."""


class NotifyUrlDeniedError(InvalidRequestError):
    """422 ``notify_url_denied`` on ``url``: it reaches a denied network (never quoting the URL)."""

    def __init__(self) -> None:
        super().__init__(
            "url",
            "通知地址指向不允许的网络：本机、回环、链路本地或云元数据地址 "
            "(the URL reaches a denied network: the service's own host, loopback, link-local or cloud "
            "metadata; SETUPWIZARD_NOTIFY_DENY, SETUPWIZARD_NOTIFY_DENY_OWN_ADDRESSES)",
            code="notify_url_denied",
        )


def notify_policy(settings: Settings) -> TargetPolicy:
    """The deny list of notification URLs: ``notify_deny``, and the service host's own addresses unless
    ``notify_deny_own_addresses`` is false."""
    own = own_addresses() if settings.notify_deny_own_addresses else []
    return TargetPolicy([*settings.notify_deny, *own])


def reached_hosts(url: str) -> list[str] | None:
    """The hosts apprise would connect to for ``url`` (empty for a plugin with a fixed address), or None
    when apprise cannot read the URL."""
    plugin = apprise.Apprise.instantiate(url)
    if plugin is None:
        return None
    specs = {**type(plugin).template_tokens, **type(plugin).template_args}
    hosts: list[str] = []
    for key, spec in specs.items():
        attribute = spec.get("map_to", key) if isinstance(spec, dict) else key
        if attribute != "host" and not str(attribute).endswith("_host"):
            continue
        value = getattr(plugin, str(attribute), None)
        if isinstance(value, str) and value.strip() and value not in hosts:
            hosts.append(value)
    if hosts:  # the URL's own host too: apprise misreads some IPv6 literals ([::ffff:127.0.0.1])
        try:
            written = urlsplit(url).hostname
        except ValueError:
            written = None
        if written and written not in hosts:
            hosts.append(written)
    return hosts


async def is_denied(url: str, policy: TargetPolicy) -> bool:
    """True when any host ``url`` reaches is (or resolves into) a denied network. A URL apprise cannot read
    reaches nothing; a name that does not resolve is left to the delivery, which then fails."""
    for host in reached_hosts(url) or []:
        if await policy.denies(host, 0):
            return True
    return False


async def check_reach(url: str, policy: TargetPolicy) -> None:
    """:raises NotifyUrlDeniedError: when ``url`` reaches a denied network."""
    if await is_denied(url, policy):
        raise NotifyUrlDeniedError()
