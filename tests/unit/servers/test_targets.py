"""The target deny list and the per-user connection attempts."""

from __future__ import annotations

import pytest

from setupwizard.config import Settings
from setupwizard.core.networks import DEFAULT_TARGET_DENY, TargetPolicy, own_addresses, parse_networks
from setupwizard.servers.targets import ConnectAttempts


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "[::1]",
        "0.0.0.0",
        "169.254.169.254",
        "fe80::1",
        "fe80::1%eth0",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "fd00:ec2::254",
        "localhost",
        "2130706433",  # 127.0.0.1 as one number: judged as the address, not left to the resolver
        "0x7f000001",
        "0x7f.1",
        "0251.0376.0251.0376",  # 169.254.169.254 in octal
    ],
)
async def test_the_default_list_refuses_the_services_own_and_metadata_addresses(host: str) -> None:
    assert await TargetPolicy(DEFAULT_TARGET_DENY).denies(host, 22)


@pytest.mark.parametrize("host", ["198.18.0.10", "198.19.255.1", "192.0.2.7", "2001:db8::1", "10.1.2.3"])
async def test_the_default_list_allows_other_servers_and_the_testbed(host: str) -> None:
    assert not await TargetPolicy(DEFAULT_TARGET_DENY).denies(host, 22)


async def test_an_empty_list_refuses_nothing_and_an_unresolvable_name_is_left_to_the_connection() -> None:
    assert not await TargetPolicy([]).denies("127.0.0.1", 22)
    assert not await TargetPolicy(DEFAULT_TARGET_DENY).denies("no-such-host.invalid", 22)


def test_settings_default_to_the_list_and_refuse_a_bad_entry() -> None:
    assert Settings().target_deny == DEFAULT_TARGET_DENY
    with pytest.raises(ValueError, match="not a network"):
        Settings(target_deny=["10.0.0.0/8", "not-a-cidr"])


def test_attempts_are_limited_per_user_in_a_sliding_minute() -> None:
    now = [100.0]
    attempts = ConnectAttempts(per_minute=3, clock=lambda: now[0])
    assert [attempts.take(1) for _ in range(3)] == [None, None, None]
    assert attempts.take(1) == pytest.approx(60.0)
    assert attempts.take(2) is None  # another user has their own allowance
    now[0] += 60.0
    assert attempts.take(1) is None


def test_the_service_hosts_own_addresses_are_every_interfaces_single_addresses() -> None:
    own = own_addresses()
    assert "127.0.0.1/32" in own
    networks = parse_networks(own)
    assert all(net.num_addresses == 1 for net in networks)
    assert len(networks) > 1  # loopback and at least one other interface
