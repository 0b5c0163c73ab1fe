"""Which hosts a notification URL reaches, read from apprise's own plugins, and the deny list's verdict on
it: every spelling of loopback, link-local and metadata is refused; token-only services and other hosts are
not. Only literals and ``localhost`` are resolved here (no DNS query leaves the machine)."""

from __future__ import annotations

import pytest

from setupwizard.config import Settings
from setupwizard.core.networks import DEFAULT_TARGET_DENY, TargetPolicy, own_addresses
from setupwizard.notify.reach import is_denied, notify_policy, reached_hosts

DEFAULT = TargetPolicy(DEFAULT_TARGET_DENY)
TELEGRAM = "tgram://123456789:abcdefghijklmnopqrstuvwxyz01234567/12345"
DISCORD = "discord://1234567/abcdefghijklmnop"
SLACK = "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"


@pytest.mark.parametrize(
    "url",
    [
        "json://169.254.169.254/latest/meta-data",
        "json://127.0.0.1:5432/",
        "json://user:password@127.0.0.1/hook",
        "jsons://[::1]:8080/hook",
        "json://[::ffff:127.0.0.1]/hook",  # apprise itself reads this host as [::ffff:127]
        "json://[::ffff:7f00:1]/hook",
        "json://[::ffff:169.254.169.254]/hook",
        "json://2130706433/hook",  # 127.0.0.1 as one decimal number
        "json://0x7f000001/hook",
        "json://0.0.0.0/hook",
        "json://localhost:8080/hook",  # a name: refused by what it resolves to
        "json://[fd00:ec2::254]/hook",
        "xml://169.254.169.254/",
        "form://[fe80::1]/hook",
        "ntfy://127.0.0.1/alerts",
        "gotify://127.0.0.1/AbCdEfGhIjKlMnO",
        "matrix://user:password@169.254.169.254/#ops",
        "mailto://127.0.0.1:25?from=wizard@example.com&to=ops@example.com",
        "mailto://user:password@198.51.100.7?smtp=127.0.0.1&from=w@example.com",  # the SMTP host counts
        "apprise://127.0.0.1/token",
    ],
)
async def test_a_url_reaching_loopback_link_local_or_metadata_is_denied(url: str) -> None:
    assert await is_denied(url, DEFAULT)


@pytest.mark.parametrize(
    "url",
    [
        "json://198.51.100.7/hook",
        "jsons://[2001:db8::1]:8443/hook",
        "ntfy://203.0.113.5/alerts",
        "gotify://10.1.2.3/AbCdEfGhIjKlMnO",
        "mailto://user:password@198.51.100.7?smtp=203.0.113.9&from=w@example.com",
        TELEGRAM,
        DISCORD,
        SLACK,
    ],
)
async def test_other_hosts_and_token_only_services_are_allowed(url: str) -> None:
    assert not await is_denied(url, DEFAULT)


@pytest.mark.parametrize("url", [TELEGRAM, DISCORD, SLACK])
def test_a_token_only_service_names_no_host_to_check(url: str) -> None:
    """Its URL's "host" is a token (tgram's bot token spells ``123456789:…``): not a server, not resolved."""
    assert reached_hosts(url) == []


def test_the_hosts_are_the_plugins_own_and_a_url_apprise_cannot_read_reaches_nothing() -> None:
    assert reached_hosts("json://198.51.100.7:8080/hook") == ["198.51.100.7"]
    smtp = "mailto://user:password@198.51.100.7?smtp=203.0.113.9&from=w@example.com"
    assert sorted(reached_hosts(smtp) or []) == ["198.51.100.7", "203.0.113.9"]
    assert reached_hosts("nosuchservice://token-123") is None


async def test_an_allowing_list_lets_loopback_through() -> None:
    """What an operator does to reach a ntfy or gotify on the service's own machine or its LAN."""
    allowing = TargetPolicy([net for net in DEFAULT_TARGET_DENY if net not in ("127.0.0.0/8", "::1/128")])
    assert not await is_denied("json://127.0.0.1:8080/hook", allowing)
    assert not await is_denied("ntfy://localhost/alerts", allowing)
    assert await is_denied("json://169.254.169.254/hook", allowing)
    assert not await is_denied("json://127.0.0.1/hook", TargetPolicy([]))


def test_the_setting_defaults_to_the_target_list_and_refuses_a_bad_entry() -> None:
    assert Settings().notify_deny == DEFAULT_TARGET_DENY
    assert Settings().notify_deny_own_addresses is True
    with pytest.raises(ValueError, match="not a network"):
        Settings(notify_deny=["10.0.0.0/8", "not-a-cidr"])


def test_the_policy_adds_the_service_hosts_own_addresses_unless_told_not_to() -> None:
    denied = {str(net) for net in notify_policy(Settings()).networks}
    assert set(own_addresses()) <= denied and set(DEFAULT_TARGET_DENY) <= denied
    assert notify_policy(Settings(notify_deny=[], notify_deny_own_addresses=False)).networks == []
