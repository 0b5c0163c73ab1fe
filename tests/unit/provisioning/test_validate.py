from __future__ import annotations

import asyncssh
import pytest

from setupwizard.provisioning import (
    InvalidInputError,
    SetupOptions,
    Target,
    validate_options,
    validate_target,
)
from setupwizard.provisioning.validate import parse_port_spec

from .payloads import FIELDS, PAYLOADS, injected


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_injection_payload_is_rejected_naming_the_field(field: str, payload: str) -> None:
    target, options = injected(field, payload)
    with pytest.raises(InvalidInputError) as caught:
        validate_target(target)
        validate_options(options)
    assert caught.value.field == field


def test_script_with_nul_byte_is_rejected() -> None:
    _, options = injected("script", "x")
    with pytest.raises(InvalidInputError) as caught:
        validate_options(options)
    assert caught.value.field == "script"


@pytest.mark.parametrize(
    "host", ["198.18.0.10", "2001:db8::1", "fd00::10", "example.com", "a-b.example.co.uk.", "localhost"]
)
def test_valid_hosts_pass(host: str) -> None:
    validate_target(Target(host=host, username="root", password="x"))


@pytest.mark.parametrize(
    "host", ["999.1.1.1", "1.2.3", "-x.com", "a..b", "a_b.com", "[::1]", "x" * 64 + ".com"]
)
def test_invalid_hosts_fail(host: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^host:"):
        validate_target(Target(host=host, username="root", password="x"))


@pytest.mark.parametrize("port", [0, 65536, -1, True])
def test_ports_outside_range_fail(port: int) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_target(Target(host="h.example", port=port, username="root", password="x"))
    assert caught.value.field == "port"


@pytest.mark.parametrize("name", ["root", "_svc", "deploy-user", "a1", "machine$", "x" * 32])
def test_valid_usernames_pass(name: str) -> None:
    validate_target(Target(host="h.example", username=name, password="x"))


@pytest.mark.parametrize("name", ["Root", "1abc", "-x", "a b", "x" * 33, "a$b", "é"])
def test_invalid_usernames_fail(name: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^username:"):
        validate_target(Target(host="h.example", username=name, password="x"))


@pytest.mark.parametrize("name", ["ufw", "libstdc++6", "python3.11", "g++", "ca-certificates", "0ad"])
def test_debian_package_names_pass(name: str) -> None:
    validate_options(SetupOptions(packages=[name]))


@pytest.mark.parametrize("name", ["a", "Ufw", "-x", "+x", "x_y", "x/y", "x y", ".x"])
def test_invalid_package_names_fail(name: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^packages:"):
        validate_options(SetupOptions(packages=[name]))


@pytest.mark.parametrize(
    ("spec", "text"),
    [("80", "80"), ("80/tcp", "80/tcp"), ("60000:61000/udp", "60000:61000/udp"), ("65535/udp", "65535/udp")],
)
def test_port_specs_parse(spec: str, text: str) -> None:
    assert str(parse_port_spec(spec)) == text


@pytest.mark.parametrize(
    "spec", ["0", "65536", "80/icmp", "61000:60000/tcp", "60000:61000", "80/", "tcp", " 80"]
)
def test_invalid_port_specs_fail(spec: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^firewall_ports:"):
        parse_port_spec(spec)


def test_a_login_credential_is_required() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_target(Target(host="h.example", username="root"))
    assert caught.value.field == "password"


def test_password_with_newline_is_rejected_without_echoing_it() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_target(Target(host="h.example", username="root", password="se\ncret-canary"))
    assert "canary" not in str(caught.value)


def test_encrypted_key_with_wrong_passphrase_is_rejected_without_the_key_text() -> None:
    key = asyncssh.generate_private_key("ssh-ed25519").export_private_key(passphrase="right").decode()
    validate_target(Target(host="h.example", username="root", private_key=key, passphrase="right"))
    with pytest.raises(InvalidInputError) as caught:
        validate_target(Target(host="h.example", username="root", private_key=key, passphrase="wrong"))
    assert caught.value.field == "private_key"
    assert all(line not in str(caught.value) for line in key.splitlines()[1:-1])


def test_fingerprint_pin_format() -> None:
    validate_target(Target("h.example", "root", password="x", host_key_fingerprint="SHA256:" + "a" * 43))
    with pytest.raises(InvalidInputError, match=r"^host_key_fingerprint:"):
        validate_target(Target("h.example", "root", password="x", host_key_fingerprint="MD5:aa"))


@pytest.mark.parametrize("field", ["host", "username", "packages", "firewall_ports"])
def test_empty_values_are_rejected(field: str) -> None:
    target, options = injected(field, "")
    with pytest.raises(InvalidInputError) as caught:
        validate_target(target)
        validate_options(options)
    assert caught.value.field == field
