"""Pure pieces of the plan: os-release, dpkg and ufw parsing, rules, summary, plan shape."""

from __future__ import annotations

import pytest

from setupwizard.provisioning import InvalidInputError, SetupOptions
from setupwizard.provisioning.context import parse_os_release
from setupwizard.provisioning.events import Level
from setupwizard.provisioning.result import SessionStatus, SetupResult, StepResult, StepStatus
from setupwizard.provisioning.steps import default_plan
from setupwizard.provisioning.steps.apt import installed_query, parse_installed
from setupwizard.provisioning.steps.firewall import (
    PROBE,
    FirewallState,
    apply_script,
    parse_state,
    wanted_rules,
)
from setupwizard.provisioning.summary import complete_event_level, mark, summary_lines


def test_os_release_debian_and_ubuntu_are_supported_others_not() -> None:
    debian = parse_os_release('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')
    assert debian.supported and debian.pretty_name == "Debian GNU/Linux 12 (bookworm)"
    ubuntu = parse_os_release("NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME='Ubuntu 24.04 LTS'\n")
    assert ubuntu.supported and ubuntu.pretty_name == "Ubuntu 24.04 LTS"
    mint = parse_os_release("ID=linuxmint\nID_LIKE=ubuntu\n")
    assert not mint.supported
    assert not parse_os_release("").supported


def test_dpkg_query_is_quoted_and_parsed() -> None:
    command = installed_query(["libstdc++6", "ufw"])
    assert "'a b'" in installed_query(["a b"])  # quoted (validation rejects such names first)
    assert command.startswith("dpkg-query -W") and "-- libstdc++6 ufw" in command
    assert parse_installed(["ufw ii ", "tree un ", "libc6:amd64 ii ", "garbage"]) == {"ufw", "libc6"}


UFW_ACTIVE = [
    "IPV6=yes",  # not asked for, but a grep of a hand-edited file may bring more: ignored
    'DEFAULT_INPUT_POLICY="DROP"',
    "ENABLED=yes",
    "--- added",
    "Added user rules (see 'ufw status' for running firewall):",
    "ufw allow 22/tcp",
    "ufw allow 60000:61000/udp",
]


def test_ufw_state_is_parsed() -> None:
    assert parse_state(UFW_ACTIVE) == FirewallState(True, "deny", ("allow 22/tcp", "allow 60000:61000/udp"))
    inactive = parse_state(
        ['DEFAULT_INPUT_POLICY="ACCEPT"', "ENABLED=no", "--- added", "Added user rules", "(None)"]
    )
    assert inactive == FirewallState(False, "allow", ())


def test_ufw_settings_are_read_as_ufw_reads_them() -> None:
    # ufw: the later file (ufw.conf) and the later line win, quotes and case do not matter
    lines = ['DEFAULT_INPUT_POLICY="DROP"', "ENABLED=yes", "  DEFAULT_INPUT_POLICY='reject'", '"ENABLED"=yes']
    assert parse_state([*lines, "--- added"]) == FirewallState(True, "reject", ())
    assert parse_state(["ENABLED=no", "--- added", "ufw allow 80"]) == FirewallState(False, "", ("allow 80",))


def test_the_firewall_probe_starts_ufw_only_to_list_rules_there_are() -> None:
    # ufw status reads ENABLED and DEFAULT_INPUT_POLICY from these files; ufw show added lists the
    # "### tuple ###" lines of its rule files, so with none (grep exit 1) it is not started (~40 ms each)
    assert "ufw status" not in PROBE and PROBE.count("ufw show added") == 1
    assert "/etc/default/ufw /etc/ufw/ufw.conf" in PROBE
    assert PROBE.endswith("/etc/ufw/user.rules /etc/ufw/user6.rules; [ $? = 1 ] || ufw show added")


def test_the_default_policy_is_set_only_when_ufw_does_not_deny_already() -> None:
    script = apply_script(["allow 22/tcp"])
    assert script.startswith("ufw allow 22/tcp && { [ ") and script.endswith(
        " ] || ufw default deny incoming; } && ufw --force enable"
    )
    assert "DEFAULT_INPUT_POLICY" in script


def test_wanted_rules_start_with_the_ssh_port_and_skip_duplicates() -> None:
    assert wanted_rules(2222, ["80", "80", "443/tcp"], lockout_drill=False) == [
        "allow 2222/tcp",
        "allow 80",
        "allow 443/tcp",
    ]
    assert wanted_rules(22, [], lockout_drill=True) == ["deny 22/tcp"]
    with pytest.raises(InvalidInputError):
        wanted_rules(22, ["80; reboot"], lockout_drill=False)


def test_default_plan_includes_optional_steps_only_when_asked() -> None:
    ids = [s.id for s in default_plan(SetupOptions()).steps]
    assert ids == ["connect", "sudo", "apt_wait", "apt_update", "packages", "firewall"]
    full = default_plan(SetupOptions(upgrade=True, script="echo hi"))
    assert [s.id for s in full.steps][4] == "apt_upgrade" and full.steps[-1].id == "script"
    text = "\n".join(full.describe())
    assert "ufw --force enable" in text and "on failure: warn" in text


def test_summary_marks_durations_and_changes() -> None:
    result = SetupResult(
        message="ok",
        status=SessionStatus.SUCCEEDED,
        steps=[
            StepResult("packages", "安装软件包", StepStatus.UNCHANGED, "均已安装", 0.25),
            StepResult("firewall", "配置防火墙", StepStatus.SUCCEEDED, "已启用", 1.5, changed=True),
            StepResult("apt_upgrade", "升级", StepStatus.WARNING, "失败", 2.0),
            StepResult("script", "脚本", StepStatus.SKIPPED, "未执行"),
        ],
    )
    lines = [str(line) for line in summary_lines(result)]
    assert "✓ 安装软件包: 均已安装（0.2 秒）" in lines or "✓ 安装软件包: 均已安装（0.3 秒）" in lines
    assert "✓ 配置防火墙: 已启用（1.5 秒）" in lines
    assert "⚠ 升级: 失败（2.0 秒）" in lines
    assert "– 脚本: 未执行" in lines
    assert "有更改: 配置防火墙" in lines and "已就绪无需更改: 安装软件包" in lines
    assert complete_event_level(result) is Level.WARNING
    assert mark(StepStatus.FAILED) == "✗"
    result.status = SessionStatus.CANCELLED
    assert not result.success
    assert complete_event_level(result) is Level.WARNING
    result.status = SessionStatus.FAILED
    assert complete_event_level(result) is Level.ERROR
