"""The whole plan is checked before its first change: pure logic."""

from __future__ import annotations

import asyncssh
import pytest

from setupwizard.provisioning.facts import parse_facts
from setupwizard.provisioning.preflight import (
    PlanRefusedError,
    ServerRefusedError,
    check_plan,
    check_server,
    person_proves,
)
from setupwizard.provisioning.target import AdminUser, SetupOptions, SshHardening, Target

SEP = "--- setupwizard:"
KEY = asyncssh.generate_private_key("ssh-ed25519")
PRIVATE = KEY.export_private_key().decode()
PUBLIC = KEY.export_public_key().decode().strip()
OTHER = asyncssh.generate_private_key("ssh-ed25519")
OTHER_PRIVATE = OTHER.export_private_key().decode()
OTHER_PUBLIC = OTHER.export_public_key().decode().strip()
ROOT_KEY = Target("198.18.0.10", "root", private_key=PRIVATE)
ROOT_PASSWORD = Target("198.18.0.10", "root", password="pw")
OFF = SshHardening("no", password_authentication=False)


def options(admin: AdminUser | None, hardening: SshHardening | None = OFF) -> SetupOptions:
    return SetupOptions(admin=admin, ssh_hardening=hardening)


def refused_field(target: Target, opts: SetupOptions) -> str | None:
    try:
        check_plan(target, opts)
    except PlanRefusedError as exc:
        assert exc.code == "invalid_input"  # a 422, naming the field
        assert exc.msg.text("en") and exc.msg.text("zh")
        return exc.field
    return None


def test_issue_17_a1_nobody_can_reach_root_is_refused() -> None:
    assert refused_field(ROOT_KEY, options(AdminUser("deploy", public_key=PUBLIC))) == "admin.sudo_password"


@pytest.mark.parametrize(
    "admin",
    [
        AdminUser("deploy", public_key=PUBLIC, nopasswd=True),
        AdminUser("deploy", public_key=PUBLIC, sudo_password="s3cret"),
        AdminUser("deploy", generate_key=True, nopasswd=True),
        AdminUser("deploy", public_key=OTHER_PUBLIC, private_key=OTHER_PRIVATE, nopasswd=True),  # the CLI's
    ],
)
def test_a_proven_admin_with_sudo_is_a_way_to_root(admin: AdminUser) -> None:
    assert refused_field(ROOT_PASSWORD if admin.generate_key else ROOT_KEY, options(admin)) is None


def test_an_admin_key_the_run_cannot_prove_is_no_way_to_root() -> None:
    pasted = AdminUser("deploy", public_key=OTHER_PUBLIC, nopasswd=True)
    # root logs in with a key the admin does not have: nothing this run holds gets in once root is off
    assert refused_field(ROOT_KEY, options(pasted)) == "ssh_hardening.permit_root_login"
    assert refused_field(ROOT_PASSWORD, options(pasted)) == "ssh_hardening.permit_root_login"


def test_root_with_a_key_keeps_its_way_with_prohibit_password() -> None:
    keep = SshHardening("prohibit-password", password_authentication=False)
    assert refused_field(ROOT_KEY, options(None, keep)) is None
    assert refused_field(ROOT_PASSWORD, options(None, keep)) == "ssh_hardening.permit_root_login"
    assert refused_field(ROOT_PASSWORD, options(None)) == "ssh_hardening.permit_root_login"


def test_a_sudoer_login_that_survives_is_a_way_to_root() -> None:
    alice = Target("198.18.0.10", "alice", password="pw")
    assert refused_field(alice, options(None, SshHardening("no", password_authentication=True))) is None
    assert refused_field(alice, options(None)) == "ssh_hardening.password_authentication"
    assert refused_field(Target("198.18.0.10", "alice", private_key=PRIVATE), options(None)) is None


def test_no_hardening_changes_no_way_in() -> None:
    assert refused_field(ROOT_PASSWORD, options(AdminUser("deploy", public_key=PUBLIC), None)) is None


def facts(listen: str, systemd: str = "yes", ssh_port: int = 22) -> str:
    return (
        f"{SEP}ssh\n198.18.0.1 40000 198.18.0.10 {ssh_port}\n{SEP}os\nID=debian\n{SEP}uid\n0\n"
        f"{SEP}systemd\n{systemd}\n{SEP}listen\n{listen}\n{SEP}sudo\n"
    )


def test_the_facts_name_listening_ports_from_ss_or_proc() -> None:
    from_ss = parse_facts(facts("0.0.0.0:22\n[::]:22\n*:8080\n127.0.0.1:5432"))
    assert from_ss.listening == {22, 8080, 5432} and from_ss.systemd is True
    from_proc = parse_facts(facts("hex:00000000:0016\nhex:00000000000000000000000000000000:1F90", "no"))
    assert from_proc.listening == {22, 8080} and from_proc.systemd is False


def test_the_facts_say_whether_the_login_is_in_a_sudo_group() -> None:
    def with_groups(groups: str) -> str:
        return facts("*:22").replace(f"{SEP}uid\n0\n", f"{SEP}uid\n1000\n{SEP}groups\n{groups}\n")

    assert parse_facts(with_groups("deploy sudo users")).in_sudo_group
    assert parse_facts(with_groups("ops wheel")).in_sudo_group
    assert not parse_facts(with_groups("carol users sudoers")).in_sudo_group
    assert parse_facts(with_groups("carol")).groups == {"carol"}


def test_a_taken_port_and_a_missing_systemd_are_refused() -> None:
    taken = parse_facts(facts("0.0.0.0:22\n*:8080"))
    move = SetupOptions(ssh_hardening=SshHardening(port=8080))
    with pytest.raises(ServerRefusedError) as refused:
        check_server(taken, ROOT_KEY, move)
    assert refused.value.field == "ssh_hardening.port" and refused.value.code == "plan_refused"
    assert "8080" in refused.value.msg.text("en") and "nothing was changed" in refused.value.msg.text("en")
    check_server(taken, ROOT_KEY, SetupOptions(ssh_hardening=SshHardening(port=2222)))
    check_server(parse_facts(facts("*:8080", ssh_port=8080)), ROOT_KEY, move)  # already there: a re-run
    with pytest.raises(ServerRefusedError) as refused:
        check_server(parse_facts(facts("*:22", "no")), ROOT_KEY, SetupOptions(fail2ban=True))
    assert refused.value.field == "fail2ban"
    check_server(parse_facts(facts("*:22", "no")), ROOT_KEY, SetupOptions(hostname="a"))


CONFIRM = SshHardening("no", password_authentication=False, confirm_login=True)


def test_issue_17_a6_an_unprovable_pasted_key_is_refused_naming_confirm_login() -> None:
    opts = options(AdminUser("deploy", public_key=OTHER_PUBLIC, nopasswd=True))
    try:
        check_plan(ROOT_PASSWORD, opts)
    except PlanRefusedError as exc:
        assert exc.field == "ssh_hardening.permit_root_login"
        assert "ssh_hardening.confirm_login" in exc.msg.text("en")
        assert "ssh_hardening.confirm_login" in exc.msg.text("zh")
    else:
        raise AssertionError("not refused")


def test_issue_17_a6_with_confirm_login_the_person_proves_the_pasted_key() -> None:
    admin = AdminUser("deploy", public_key=OTHER_PUBLIC, nopasswd=True)
    assert refused_field(ROOT_PASSWORD, options(admin, CONFIRM)) is None
    assert person_proves(ROOT_PASSWORD, options(admin, CONFIRM)) == "deploy"
    # the run can prove it itself: no wait for the person
    held = AdminUser("deploy", public_key=PUBLIC, nopasswd=True)
    assert person_proves(ROOT_KEY, options(held, CONFIRM)) is None


def test_issue_17_a6_confirm_login_still_needs_a_way_to_root() -> None:
    # the person proves deploy's login, but deploy has no sudo: refused as without confirm_login
    admin = AdminUser("deploy", public_key=OTHER_PUBLIC)
    assert refused_field(ROOT_PASSWORD, options(admin, CONFIRM)) == "admin.sudo_password"
    # no admin, root with a password and PermitRootLogin no: nobody the person could log in as
    assert refused_field(ROOT_PASSWORD, options(None, CONFIRM)) is not None
    # a sudoer with a password keeps their own login by proving their key themselves
    sudoer = Target("198.18.0.10", "alice", password="pw")
    assert refused_field(sudoer, options(None, CONFIRM)) is None
    assert person_proves(sudoer, options(None, CONFIRM)) == "alice"
