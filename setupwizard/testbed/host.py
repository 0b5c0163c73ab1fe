"""One test host: a fresh Debian system with its own namespaces and a real sshd on port 22.

Two flavours (docs/testbed.md): ``quick`` is a chroot whose PID 1 is a small init that starts sshd from
its init script; ``systemd`` boots the image's own systemd as PID 1 under systemd-nspawn, so sshd is the
``ssh.service`` unit and systemctl, hostnamectl, timedatectl and journald work as on a real server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from setupwizard.testbed import cgroups
from setupwizard.testbed.accounts import NO_SUDO, ROOT, SUDO_NOPASSWD, SUDO_PASSWORD, Account
from setupwizard.testbed.commands import TestbedError, require_commands
from setupwizard.testbed.network import NETNS_DIR, create_host_network, remove_host_network
from setupwizard.testbed.paths import TRASH_DIR, host_address, host_address6
from setupwizard.testbed.records import (
    HostRecord,
    ProcessRef,
    host_dir,
    hosts_locked,
    read_record,
    write_record,
)

LAUNCHER = Path(__file__).with_name("launcher.sh")
SYSTEMD_LAUNCHER = Path(__file__).with_name("launcher-systemd.sh")
GUEST_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "TERM": "dumb",
    "DEBIAN_FRONTEND": "noninteractive",
}
READY_TIMEOUT = 60.0
BOOT_TIMEOUT = 120.0  # systemd flavour: until `systemctl is-system-running --wait` returns


def _tcp_open(address: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


class TestHost:
    """A running test host. Build one with ``Testbed.new_host()`` (or the pytest fixtures)."""

    __test__ = False  # not a pytest test class

    port = 22
    root: Account = ROOT
    sudo_password: Account = SUDO_PASSWORD  # alice: sudo asks for her password
    sudo_nopasswd: Account = SUDO_NOPASSWD  # bob: NOPASSWD sudo
    no_sudo: Account = NO_SUDO  # carol: no sudo

    def __init__(self, record: HostRecord, process: subprocess.Popen[bytes] | None = None) -> None:
        self.record = record
        self.name = record.name
        self.address = host_address(record.slot)
        self.address6: str | None = host_address6(record.slot)
        self._process = process

    def __repr__(self) -> str:
        return (
            f"TestHost(name={self.name!r}, address={self.address!r}, "
            f"flavour={self.flavour!r}, release={self.release!r})"
        )

    @property
    def flavour(self) -> str:
        """``quick`` (chroot, no systemd) or ``systemd`` (systemd as PID 1 under systemd-nspawn)."""
        return self.record.flavour

    @property
    def release(self) -> str:
        """The Debian release: ``bookworm`` (12) or ``trixie`` (13)."""
        return self.record.release

    @property
    def directory(self) -> Path:
        """State directory on the machine (overlay upper dir, console log)."""
        return host_dir(self.name)

    def _launcher(self) -> ProcessRef:
        if self.record.launcher is None:
            raise TestbedError(f"{self.name} was never started")
        return self.record.launcher

    def init_pid(self) -> int:
        """Machine pid of the host's PID 1 (guest-init.py, or the image's systemd)."""
        if self.record.init is not None:
            if not self.record.init.alive():
                raise TestbedError(f"{self.name} is not running")
            return self.record.init.pid
        launcher = self._launcher()
        try:
            children = Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split()
        except OSError as exc:
            raise TestbedError(f"{self.name} is not running") from exc
        if not children:
            raise TestbedError(f"{self.name} is not running (no init process)")
        return int(children[0])

    def console_log(self) -> str:
        """What the launcher and init printed (the boot log), then sshd's log (file or journal)."""
        texts = []
        for path in (self.directory / "console.log", self.directory / "upper/var/log/sshd.log"):
            try:
                texts.append(path.read_text(errors="replace"))
            except OSError:
                pass
        if self.flavour == "systemd":
            try:
                journal = self.run_root("journalctl --no-pager -n 200 -u ssh.service", timeout=15)
                texts.append(journal.stdout)
            except (TestbedError, subprocess.TimeoutExpired):
                pass
        return "\n".join(texts)

    def run_root(
        self, command: str, *, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run ``bash -c command`` as root inside the host (its namespaces and root), not over SSH."""
        argv = ["nsenter", "-t", str(self.init_pid()), "-m", "-u", "-n", "-p", "-r", "-w"]
        if self.flavour == "systemd":
            argv.append("-i")  # nspawn gives the host its own IPC namespace too
        return subprocess.run(
            [*argv, "/bin/bash", "-c", command],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=GUEST_ENV,
            check=False,
            stdin=None if input is not None else subprocess.DEVNULL,
        )

    def _run_root_checked(self, command: str, *, input: str | None = None) -> None:
        result = self.run_root(command, input=input)
        if result.returncode != 0:
            raise TestbedError(f"{self.name}: {command!r} failed: {result.stderr.strip()}")

    def set_password(self, username: str, password: str) -> None:
        """Set a user's password (through chpasswd's stdin, never argv)."""
        self._run_root_checked("chpasswd", input=f"{username}:{password}\n")

    def set_os_release(self, text: str) -> None:
        """Replace /etc/os-release (a symlink in Debian) with ``text``."""
        self._run_root_checked("rm -f /etc/os-release && cat > /etc/os-release", input=text)

    def regenerate_host_keys(self) -> None:
        """Give the host new sshd host keys and restart sshd; returns once the new sshd listens.

        The restart goes through /etc/init.d/ssh (quick) or ``systemctl restart ssh`` (systemd): the old
        listener is gone before the new one starts, so the first successful connection afterwards gets the
        new keys. Open SSH sessions stay up.
        """
        restart = "systemctl restart ssh" if self.flavour == "systemd" else "/etc/init.d/ssh restart"
        self._run_root_checked(
            f"rm -f /etc/ssh/ssh_host_* && ssh-keygen -A >/dev/null && {restart} >/dev/null"
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Wait until sshd accepts TCP connections; raise with the console log if the host died."""
        launcher = self._launcher()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not launcher.alive():
                status = "" if self._process is None else f" (launcher status {self._process.wait()})"
                console = self.console_log()[-4000:] or f"(no console log in {self.directory})"
                raise TestbedError(f"{self.name} exited during start{status}:\n{console}")
            if _tcp_open(self.address, self.port, timeout=0.2):
                return
            time.sleep(0.05)
        raise TestbedError(f"{self.name}: sshd not ready after {timeout:.0f}s\n{self.console_log()[-4000:]}")

    def wait_booted(self, timeout: float = BOOT_TIMEOUT) -> str:
        """systemd flavour: wait until start-up is over; return the state (``running`` or ``degraded``)."""
        command = f"timeout {timeout:.0f} systemctl is-system-running --wait"
        state = self.run_root(command, timeout=timeout + 10).stdout.strip()
        if state not in ("running", "degraded"):
            log = self.console_log()[-4000:]
            raise TestbedError(f"{self.name}: systemd did not finish booting ({state!r})\n{log}")
        return state

    def stop(self) -> None:
        """Kill everything in the host and delete its network and files (idempotent)."""
        destroy(self.record, self._process)


def _first_child(pid: int) -> ProcessRef | None:
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return ProcessRef.of(int(children[0])) if children else None


def _launch_argv(record: HostRecord, lower: Path, directory: Path) -> list[str]:
    name = record.name
    if record.flavour == "systemd":
        require_commands("systemd-nspawn")
        groups = [str(group) for group in cgroups.create(name)]
        return [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            str(SYSTEMD_LAUNCHER),
            name,
            str(lower),
            str(directory),
            *groups,
        ]
    return [
        "nsenter",
        f"--net={NETNS_DIR / name}",
        "unshare",
        "--uts",
        "--mount",
        "--pid",
        "--fork",
        "--kill-child",
        "--propagation",
        "private",
        "sh",
        str(LAUNCHER),
        name,
        str(lower),
        str(directory),
    ]


def _wait_for_init(launcher: ProcessRef, timeout: float = READY_TIMEOUT) -> ProcessRef | None:
    """systemd flavour: the container's PID 1 is systemd-nspawn's child once the overlay is mounted."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and launcher.alive():
        child = _first_child(launcher.pid)
        try:
            exe = os.readlink(f"/proc/{child.pid}/exe") if child is not None else ""
        except OSError:
            exe = ""
        if child is not None and os.path.basename(exe) == "systemd":
            return child
        time.sleep(0.05)
    return None


def start(record: HostRecord, lower: Path, *, persistent: bool = False) -> TestHost:
    """Wire up the network of a claimed slot, start its sshd and wait until it accepts connections.

    The flavour and release come from ``record``; ``lower`` is the matching image.
    """
    name = record.name
    directory = host_dir(name)
    create_host_network(name, host_address(record.slot), host_address6(record.slot))
    with (directory / "console.log").open("ab") as console:
        process = subprocess.Popen(
            _launch_argv(record, lower, directory),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=console,
            start_new_session=True,  # a Ctrl-C in the terminal reaches pytest, not every host
        )
    launcher = ProcessRef.of(process.pid)
    if launcher is None:
        process.wait()
        raise TestbedError(f"{name}: launcher exited at once ({process.returncode})")
    owner = launcher if persistent else record.owner
    record = replace(record, owner=owner, launcher=launcher, persistent=persistent, image=str(lower))
    write_record(record)
    host = TestHost(record, process)
    try:
        if record.flavour == "systemd":
            init = _wait_for_init(launcher)
            if init is None:
                raise TestbedError(f"{name}: systemd did not start:\n{host.console_log()[-4000:]}")
            # Recorded: killing systemd-nspawn alone leaves the container running.
            host.record = record = replace(record, init=init)
            write_record(record)
        host.wait_ready()
        if record.flavour == "systemd":
            host.wait_booted()
    except BaseException:
        host.stop()
        raise
    return host


def destroy(record: HostRecord, process: subprocess.Popen[bytes] | None = None) -> None:
    """Stop the host of ``record`` (its whole PID namespace), delete its netns, veth and directory.

    The processes are found by pid and start time, so they are only ever this host's. Everything named
    after the slot (cgroups, network, directory) goes under the host-table lock, and only while the slot
    is still this host's: stopping a host twice, after another host took its slot, leaves that one alone.
    The directory is renamed into the trash in one step and deleted after the lock is let go, so no other
    process ever claims the slot while this one is still deleting its files.
    """
    launcher = record.launcher
    waiting: list[ProcessRef] = []
    if record.init is not None and record.init.alive():
        # The host's PID 1: its death ends the host's PID namespace (every process in the host).
        waiting.append(record.init)
        os.kill(record.init.pid, signal.SIGKILL)
    if launcher is not None and launcher.alive():
        waiting.append(launcher)
        init = _first_child(launcher.pid)
        if init is not None:
            waiting.append(init)
        # --kill-child: the launcher's death SIGKILLs the host's PID 1, which ends its PID namespace.
        os.kill(launcher.pid, signal.SIGKILL)
    if process is not None:
        process.wait()
    deadline = time.monotonic() + 10
    while any(ref.alive() for ref in waiting) and time.monotonic() < deadline:
        time.sleep(0.02)
    with hosts_locked():
        if not _still_holds_slot(record):
            return
        # Whatever is left in the host's cgroups (a launcher killed before its record was written).
        cgroups.kill_and_remove(record.name)
        remove_host_network(record.name)
        trash = _move_to_trash(host_dir(record.name))
    if trash is not None:
        shutil.rmtree(trash, ignore_errors=True)


def _still_holds_slot(record: HostRecord) -> bool:
    """True unless the slot's record on disk is another host's (call with ``hosts_locked``)."""
    current = read_record(record.name)
    if current is None:
        return True  # nobody holds the slot: what is left of it is ours to remove
    if current.owner != record.owner:
        return False
    return record.launcher is None or current.launcher in (None, record.launcher)


def _move_to_trash(directory: Path) -> Path | None:
    """Rename ``directory`` into the trash; return its new path (None when it was already gone)."""
    me = ProcessRef.of(os.getpid())
    assert me is not None
    TRASH_DIR.mkdir(parents=True, exist_ok=True)
    target = TRASH_DIR / f"{directory.name}.{me.pid}.{me.start}.{time.monotonic_ns()}"
    try:
        directory.rename(target)
    except FileNotFoundError:
        return None
    except OSError:
        shutil.rmtree(directory, ignore_errors=True)  # cannot rename: delete it in place, still locked
        return None
    return target


def empty_trash() -> None:
    """Delete what processes that are gone left in the trash (those still running delete their own)."""
    if not TRASH_DIR.is_dir():
        return
    for entry in TRASH_DIR.iterdir():
        fields = entry.name.split(".")
        try:
            deleter: ProcessRef | None = ProcessRef(int(fields[-3]), int(fields[-2]))
        except (IndexError, ValueError):
            deleter = None
        if deleter is None or not deleter.alive():
            shutil.rmtree(entry, ignore_errors=True)
