"""The optional steps' pure parts: plan assembly, input checks and the parsers of their checks."""

from __future__ import annotations

import asyncssh
import pytest

from setupwizard.provisioning.errors import InvalidInputError
from setupwizard.provisioning.steps import default_plan
from setupwizard.provisioning.steps.admin_user import generated_keys, has_key, parse_state
from setupwizard.provisioning.steps.autoupdates import CONTENT, enabled_in_dump, split_state
from setupwizard.provisioning.steps.fail2ban import drop_in
from setupwizard.provisioning.steps.fail2ban import parse_state as fail2ban_state
from setupwizard.provisioning.steps.hostname import hostname_in_place, hosts_entry
from setupwizard.provisioning.steps.ssh_hardening import same_key
from setupwizard.provisioning.target import AdminUser, SetupOptions, SshHardening, Target
from setupwizard.provisioning.validate import validate_options

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@laptop"
MINIMAL = {"apt_update": False, "packages": [], "firewall": False}


def ids(options: SetupOptions) -> list[str]:
    return [step.id for step in default_plan(options).steps]


def test_only_connect_and_sudo_are_always_in_the_plan() -> None:
    assert ids(SetupOptions(**MINIMAL)) == ["connect", "sudo"]  # type: ignore[arg-type]
    assert ids(SetupOptions()) == ["connect", "sudo", "apt_wait", "apt_update", "packages", "firewall"]


def test_every_chosen_step_comes_in_a_fixed_order_and_describe_shows_its_commands() -> None:
    options = SetupOptions(
        hostname="web-1",
        timezone="Asia/Shanghai",
        fail2ban=True,
        auto_updates=True,
        admin=AdminUser("deploy", public_key=KEY, nopasswd=True),
        script="echo hi",
    )
    assert ids(options) == [
        "connect",
        "sudo",
        "apt_wait",
        "apt_update",
        "packages",
        "hostname",
        "timezone",
        "auto_updates",
        "fail2ban",
        "admin_user",
        "firewall",
        "script",
    ]
    text = "\n".join(default_plan(options).describe())
    for command in (
        "hostnamectl set-hostname web-1",
        "timedatectl set-timezone Asia/Shanghai",
        "unattended-upgrade --dry-run",
        "fail2ban-client status sshd",
        "useradd --create-home --shell /bin/bash --groups sudo -- deploy",
        "visudo -cf",
    ):
        assert command in text
    without = "\n".join(default_plan(SetupOptions(firewall=False)).describe())
    assert "[firewall," not in without and "ufw allow" not in without and "ufw --force enable" not in without


@pytest.mark.parametrize(
    ("options", "field"),
    [
        (SetupOptions(hostname="-web"), "hostname"),
        (SetupOptions(hostname="web_1"), "hostname"),
        (SetupOptions(hostname="a" * 64), "hostname"),
        (SetupOptions(hostname="web;reboot"), "hostname"),
        (SetupOptions(timezone="../../etc/passwd"), "timezone"),
        (SetupOptions(timezone="Asia/Shanghai; reboot"), "timezone"),
        (SetupOptions(admin=AdminUser("Deploy", public_key=KEY)), "admin.username"),
        (SetupOptions(admin=AdminUser("root", public_key=KEY)), "admin.username"),
        (SetupOptions(admin=AdminUser("deploy")), "admin.public_key"),
        (SetupOptions(admin=AdminUser("deploy", public_key="ssh-rsa nonsense")), "admin.public_key"),
        (SetupOptions(admin=AdminUser("deploy", public_key=KEY, generate_key=True)), "admin.public_key"),
        (SetupOptions(admin=AdminUser("deploy", public_key=KEY + "\nssh-ed25519 AAAA")), "admin.public_key"),
        (
            SetupOptions(admin=AdminUser("deploy", generate_key=True, sudo_password="p", nopasswd=True)),
            "admin.nopasswd",
        ),
        (SetupOptions(ssh_hardening=SshHardening("yes")), "ssh_hardening.permit_root_login"),
        (SetupOptions(ssh_hardening=SshHardening(port=70000)), "ssh_hardening.port"),
    ],
)
def test_bad_inputs_are_refused_naming_the_field(options: SetupOptions, field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_options(options)
    assert caught.value.field == field


def test_a_bad_sudo_password_is_refused_without_echoing_it() -> None:
    canary = "Secret-Canary\nsecond line"
    with pytest.raises(InvalidInputError) as caught:
        validate_options(SetupOptions(admin=AdminUser("deploy", generate_key=True, sudo_password=canary)))
    assert caught.value.field == "admin.sudo_password"
    assert "Secret-Canary" not in str(caught.value)
    assert "Secret-Canary" not in repr(AdminUser("deploy", sudo_password=canary))
    assert SetupOptions(admin=AdminUser("d", sudo_password="pw")).secrets() == ["pw"]


def test_good_inputs_pass() -> None:
    validate_options(
        SetupOptions(
            hostname="web-1.example.com",
            timezone="Etc/GMT+8",
            admin=AdminUser("deploy", public_key=KEY, sudo_password="correct horse"),
            ssh_hardening=SshHardening("prohibit-password", port=2222),
        )
    )


def test_hostname_check_needs_names_and_exactly_one_hosts_line() -> None:
    assert hosts_entry("web-1.example.com") == "127.0.1.1\tweb-1.example.com web-1"
    good = ["--- setupwizard:static", "web-1", "--- setupwizard:transient", "web-1"]
    assert hostname_in_place([*good, "--- setupwizard:hosts", "127.0.1.1 web-1"], "web-1")
    assert not hostname_in_place([*good, "--- setupwizard:hosts", "127.0.1.1 old"], "web-1")
    assert not hostname_in_place([*good, "--- setupwizard:hosts"], "web-1")


def test_fail2ban_state_compares_the_drop_in_and_the_jail() -> None:
    text = drop_in()
    assert "backend = systemd\n" in text and "port" not in text.replace("allports", "")
    lines = [*text.splitlines(), "--- setupwizard:active", "active", "--- setupwizard:jail", "up"]
    assert fail2ban_state(lines) == (text, True)
    lines[-1] = "down"
    assert fail2ban_state(lines) == (text, False)


def test_auto_updates_reads_apt_config_dump() -> None:
    dump = ['APT::Periodic::Update-Package-Lists "1";', 'APT::Periodic::Unattended-Upgrade "1";']
    assert enabled_in_dump(dump)
    assert not enabled_in_dump([dump[0], 'APT::Periodic::Unattended-Upgrade "0";'])
    assert split_state([*CONTENT.splitlines(), "--- setupwizard:dump", *dump]) == (CONTENT, dump)


def test_admin_state_and_key_matching() -> None:
    lines = [
        "exists",
        "--- setupwizard:groups",
        "deploy sudo",
        "--- setupwizard:keys",
        'from="10.0.0.1" ' + KEY.replace("me@laptop", "other comment"),
        "ssh-ed25519 AAAAC3Nz deploy@setupwizard",
        "--- setupwizard:sudoers",
    ]
    state = parse_state(lines)
    assert state.exists and "sudo" in state.groups and state.sudoers == ""
    assert has_key(state.keys, KEY)
    assert not has_key(state.keys, "ssh-ed25519 AAAAother")
    assert generated_keys(state.keys, "deploy") == 1 and generated_keys(state.keys, "ops") == 0


def test_the_plan_is_described_in_the_chosen_language() -> None:
    plan = default_plan(SetupOptions())
    english, chinese = plan.describe("en"), plan.describe()
    assert any(
        line.endswith(". Configure the firewall (ufw) [firewall, on failure: abort]") for line in english
    )
    assert not any("配置防火墙" in line for line in english)
    assert any(line.endswith(". 配置防火墙 (ufw) [firewall, on failure: abort]") for line in chinese)


def test_the_pasted_key_is_matched_to_the_session_key() -> None:
    """SSH hardening may prove the new admin user with the session's key only when it is that key."""
    mine = asyncssh.generate_private_key("ssh-ed25519")
    other = asyncssh.generate_private_key("ssh-ed25519")
    public = mine.export_public_key().decode().strip() + " person@laptop"
    with_key = Target("198.18.0.10", "root", private_key=mine.export_private_key().decode())
    assert same_key(with_key, public)
    assert not same_key(with_key, other.export_public_key().decode())
    assert not same_key(Target("198.18.0.10", "root", password="pw"), public)
    locked = mine.export_private_key(passphrase="canary-Passphrase-7").decode()
    assert same_key(Target("h", "root", private_key=locked, passphrase="canary-Passphrase-7"), public)
    assert not same_key(Target("h", "root", private_key=locked, passphrase="wrong"), public)
    assert not same_key(Target("h", "root", private_key="not a key"), public)
