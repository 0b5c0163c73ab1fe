"""The plan preview: each step's commands carry the chosen values, are the very strings its action sends
(built by the same functions), say in a note what the server decides at run time, and never show a
secret."""

from __future__ import annotations

import re
import shlex

from setupwizard.provisioning.plan import PASSWORD_PLACEHOLDER, Plan, Step
from setupwizard.provisioning.steps import default_plan
from setupwizard.provisioning.steps.apt import UPDATE_COMMAND, install_command
from setupwizard.provisioning.steps.firewall import apply_script, wanted_rules
from setupwizard.provisioning.steps.hostname import set_hostname_script, set_timezone_script
from setupwizard.provisioning.steps.sshd_commands import write_command
from setupwizard.provisioning.target import AdminUser, SetupOptions, SshHardening, Target

CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")

KEY_DATA = "AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
KEY = f"ssh-ed25519 {KEY_DATA} me@laptop"
ADMIN_CANARY = "canary-admin-pw-51f0c2"
LOGIN_CANARY = "canary-login-pw-9be411"
TARGET = Target("203.0.113.5", "alice", port=2200, password=LOGIN_CANARY, sudo_password=LOGIN_CANARY)
CHOSEN = SetupOptions(
    packages=["nginx", "curl", "nginx"],
    firewall_ports=["8443/tcp", "60000:61000/udp"],
    hostname="web-1.example.org",
    timezone="Asia/Shanghai",
    admin=AdminUser("deploy", public_key=KEY, sudo_password=ADMIN_CANARY),
    ssh_hardening=SshHardening(port=2222),
    script="#!/bin/bash\necho hello-from-the-script\n",
)


def step(plan: Plan, step_id: str) -> Step:
    return next(s for s in plan.steps if s.id == step_id)


def runs(plan: Plan, step_id: str) -> list[str]:
    return [c.run for c in step(plan, step_id).commands]


def test_the_firewall_and_packages_commands_are_the_ones_their_steps_send() -> None:
    plan = default_plan(CHOSEN, TARGET)
    rules = wanted_rules(2200, ["8443/tcp", "60000:61000/udp"], lockout_drill=False)
    assert apply_script(rules) in runs(plan, "firewall")
    assert "ufw allow 2200/tcp && ufw allow 8443/tcp && ufw allow 60000:61000/udp && " in apply_script(rules)
    assert runs(plan, "packages") == [install_command(["nginx", "curl"])]  # each once, in the order given
    assert runs(plan, "packages")[0].endswith(" install -- nginx curl")
    assert UPDATE_COMMAND in runs(plan, "apt_update")


def test_names_times_users_and_ports_are_the_chosen_ones() -> None:
    plan = default_plan(CHOSEN, TARGET)
    assert runs(plan, "connect")[0] == "ssh alice@203.0.113.5 -p 2200"
    assert runs(plan, "hostname") == [set_hostname_script("web-1.example.org")]
    assert "hostnamectl set-hostname web-1.example.org" in runs(plan, "hostname")[0]
    assert runs(plan, "timezone") == [set_timezone_script("Asia/Shanghai")]
    admin = "\n".join(runs(plan, "admin_user"))
    assert "useradd --create-home --shell /bin/bash --groups sudo -- deploy" in admin
    hardening = runs(plan, "ssh_hardening")
    assert hardening[0] == "ufw allow 2222/tcp"
    assert write_command(CHOSEN.ssh_hardening or SshHardening()) in hardening
    assert "Port 2222\n" in hardening[1] and "PasswordAuthentication no\n" in hardening[1]
    assert hardening[-1] == "ssh alice@203.0.113.5 -p 2222 true"


def test_the_script_is_shown_as_it_is_uploaded_and_clearly_marked() -> None:
    [upload, run, remove] = step(default_plan(CHOSEN, TARGET), "script").commands
    assert upload.text == CHOSEN.script
    assert "mktemp /tmp/setupwizard.XXXXXXXX" in upload.run
    assert run.run == "bash -- /tmp/setupwizard.XXXXXXXX"
    assert remove.run == "rm -f -- /tmp/setupwizard.XXXXXXXX"
    text = "\n".join(default_plan(CHOSEN, TARGET).describe())
    assert "--- begin uploaded text ---\n       | #!/bin/bash\n       | echo hello-from-the-script\n" in text


def test_what_the_server_decides_at_run_time_is_a_note_not_a_command() -> None:
    plan = default_plan(CHOSEN, TARGET)
    [configure, update, _stamp] = step(plan, "apt_update").commands
    assert "dpkg --audit" in configure.note_text()
    assert "skipped when" in update.note_text() and "30 minutes" in update.note_text()
    upgrading = default_plan(SetupOptions(upgrade=True), TARGET)
    assert "always" in step(upgrading, "apt_update").commands[1].note_text()
    [install] = step(plan, "packages").commands
    assert "not list as installed" in install.note_text()
    assert any("$SSH_CONNECTION" in c.note_text() for c in step(plan, "firewall").commands)


def test_no_secret_is_shown_only_a_placeholder_and_a_pasted_key_is_shortened() -> None:
    plan = default_plan(CHOSEN, TARGET)
    text = "\n".join(plan.describe()) + "\n".join(plan.describe("en"))
    assert ADMIN_CANARY not in text and LOGIN_CANARY not in text
    assert f"deploy:{PASSWORD_PLACEHOLDER}" in text
    assert PASSWORD_PLACEHOLDER in "\n".join(c.note_text() for c in step(plan, "sudo").commands)
    assert KEY_DATA not in text and f"{KEY_DATA[:16]}…{KEY_DATA[-8:]}" in text


def test_without_a_server_the_commands_say_host_and_user_and_a_root_login_needs_no_sudo() -> None:
    plan = default_plan(SetupOptions())
    assert runs(plan, "connect")[0] == "ssh USER@HOST -p 22"
    assert "ufw allow 22/tcp" in runs(plan, "firewall")[1]
    as_root = default_plan(SetupOptions(), Target("203.0.113.5", "root"))
    assert runs(as_root, "sudo") == [""] and "no sudo" in step(as_root, "sudo").commands[0].note_text()


def test_multi_line_commands_stay_inside_their_step_in_the_text() -> None:
    lines = default_plan(SetupOptions(fail2ban=True, ssh_hardening=SshHardening())).describe()
    assert all(line[:1].isdigit() or line.startswith("     ") for line in lines)
    assert "       [sshd]" in lines and "       PermitRootLogin no" in lines


def _unquoted(run: str) -> str:
    """``run`` without its single-quoted words: what the shell would still expand."""
    return re.sub(r"'[^']*'", "", run)


def test_every_value_the_preview_shows_is_quoted_as_the_shell_needs_it() -> None:
    """Login names may end in ``$`` (useradd allows it) and a link-local address carries a zone id: in a
    command someone copies into a shell, ``deploy$@host`` would expand ``$@``."""
    target = Target("fe80::1%eth0", "deploy$", port=2200, password=LOGIN_CANARY)
    options = SetupOptions(
        packages=["g++"],
        firewall_ports=["8443/tcp"],
        hostname="web-1.example.org",
        timezone="Etc/GMT+8",
        admin=AdminUser("ops$", public_key=KEY, nopasswd=True),
        ssh_hardening=SshHardening(port=2222),
    )
    plan = default_plan(options, target)
    commands = [c.run for s in plan.steps for c in s.commands if c.run]
    for value in ("deploy$", "ops$"):
        shown = [run for run in commands if value in run]
        assert shown, value
        for run in shown:
            assert value not in _unquoted(run), run
    logins = [run for run in commands if run.startswith("ssh ")]
    assert len(logins) >= 3
    for run in logins:
        words = shlex.split(run)
        assert words[1] in ("deploy$@fe80::1%eth0", "ops$@fe80::1%eth0"), run


def test_every_note_and_check_reads_in_either_language() -> None:
    plans = [
        default_plan(CHOSEN, TARGET),
        default_plan(SetupOptions(upgrade=True, fail2ban=True, ssh_hardening=SshHardening()), TARGET),
        default_plan(SetupOptions(), Target("203.0.113.5", "root")),
    ]
    said = [
        m
        for plan in plans
        for s in plan.steps
        for m in (s.check, *(c.note for c in s.commands))
        if m is not None
    ]
    assert len({m.code for m in said}) > 30
    for message in said:
        assert message.code.startswith(("plan.note.", "plan.check."))
        english, chinese = message.text("en"), message.text("zh")
        assert not CJK.search(english), english
        assert CJK.search(chinese), chinese
        assert "{" not in english.replace("${", "") and "{" not in chinese.replace("${", ""), message.code
    text = "\n".join(plans[0].describe())
    assert "# 以 root 运行；输出实时写入日志" in text  # the comments of the Chinese plan are Chinese
    assert "# as root; its output is streamed into the log" in "\n".join(plans[0].describe("en"))
