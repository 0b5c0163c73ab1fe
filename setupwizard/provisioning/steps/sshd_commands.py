"""The sshd commands of the SSH hardening step, as text: the drop-in, how it is written and restored,
how sshd is reloaded (or restarted after it died) and waited for, and the server-side revert timer."""

from __future__ import annotations

import shlex

from setupwizard.provisioning.target import SshHardening

DROP_IN = "/etc/ssh/sshd_config.d/05-setupwizard.conf"
BACKUP = DROP_IN + ".setupwizard-old"


def _systemctl_and_wait(verb: str) -> str:
    """``systemctl VERB ssh``, then wait for sshd's "Server listening" journal line (SIGHUP makes sshd
    re-execute itself; the reload returns before it listens again). A unit that fails meanwhile (sshd
    could not bind its port, say) stops the wait at once."""
    return (
        "c=$(journalctl -u ssh.service -n 1 -o cat --show-cursor 2>/dev/null | sed -n 's/^-- cursor: //p'); "
        f"systemctl {verb} ssh || exit 1; "
        "for i in $(seq 150); do "
        'journalctl -u ssh.service -o cat ${c:+--after-cursor="$c"} 2>/dev/null | grep -q "Server listening" '
        "&& exit 0; systemctl is-failed -q ssh.service && { echo 'sshd stopped (systemctl is-failed ssh)'; "
        f"exit 1; }}; sleep 0.1; done; echo 'sshd did not log \"Server listening\" after the {verb}'; exit 1"
    )


RELOAD = _systemctl_and_wait("reload")


def drop_in(hardening: SshHardening) -> str:
    """The drop-in's text."""
    lines = ["# Written by Setup Wizard (SSH hardening).", f"PermitRootLogin {hardening.permit_root_login}"]
    if not hardening.password_authentication:
        lines += ["PasswordAuthentication no", "KbdInteractiveAuthentication no"]
    if hardening.port is not None:
        lines.append(f"Port {hardening.port}")
    return "".join(line + "\n" for line in lines)


RELOAD_COMMAND = f"if [ -d /run/systemd/system ]; then {RELOAD}; else service ssh reload && sleep 1; fi"
RESTORE = f"if [ -e {BACKUP} ]; then mv {BACKUP} {DROP_IN}; else rm -f {DROP_IN}; fi"
# The rollback works after sshd died, too (it could not bind its new port, say): sshd -t needs the
# privilege separation directory sshd's unit made, and a dead sshd needs a restart, not a reload.
RESTART_MARK = "--- setupwizard:restarted"
ROLLBACK_RELOAD = (
    "mkdir -p /run/sshd && chmod 755 /run/sshd && sshd -t || exit 1; "
    "if [ -d /run/systemd/system ]; then "
    f"if systemctl is-active -q ssh.service; then {RELOAD}; "
    f"else echo '{RESTART_MARK}'; {_systemctl_and_wait('restart')}; fi; "
    "elif service ssh status >/dev/null 2>&1; then service ssh reload && sleep 1; "
    f"else echo '{RESTART_MARK}'; service ssh restart && sleep 1; fi"
)


REVERT_UNIT = "setupwizard-ssh-revert"
DISARM = (
    f"systemctl stop {REVERT_UNIT}.timer 2>/dev/null; systemctl stop {REVERT_UNIT}.service 2>/dev/null; "
    f"systemctl reset-failed {REVERT_UNIT}.service {REVERT_UNIT}.timer 2>/dev/null; true"
)


def arm_revert(seconds: float, added_rule: str | None) -> str:
    """A dead man's switch: a systemd timer that puts the earlier drop-in back and restarts sshd (and
    deletes the ufw rule this step added) unless it is stopped first, so a run whose connection dies
    mid-hardening cannot leave unproven settings behind. Only where systemd runs."""
    undo = f"{RESTORE}; mkdir -p /run/sshd; sshd -t && systemctl restart ssh"
    if added_rule is not None:
        undo += f"; ufw --force delete {added_rule}"
    return (
        f"{DISARM}; systemd-run --quiet --unit={REVERT_UNIT} --on-active={max(1, round(seconds))}s "
        f"--timer-property=AccuracySec=1s /bin/sh -c {shlex.quote(undo)}"
    )


def port_rule(port: int) -> str:
    """The ufw rule for sshd's new port (added before sshd moves)."""
    return f"allow {port}/tcp"


def write_command(hardening: SshHardening) -> str:
    """Keep the earlier drop-in beside it, then write ours."""
    return (
        f"rm -f {BACKUP}; {{ [ ! -e {DROP_IN} ] || cp -p {DROP_IN} {BACKUP}; }} && "
        f"printf '%s' {shlex.quote(drop_in(hardening))} > {DROP_IN}"
    )
