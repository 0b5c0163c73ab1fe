"""The testbed itself: a real Debian 12 host with real sshd, sudo, apt through the proxy, and ufw."""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import asyncssh
import pytest

from setupwizard.testbed import Account, Testbed, TestHost, cgroups
from setupwizard.testbed.aptproxy import ACNG_DIR, BRIDGE_PROXY, AptProxy
from setupwizard.testbed.commands import TestbedError
from setupwizard.testbed.host import destroy
from setupwizard.testbed.network import netns_exists
from setupwizard.testbed.paths import TRASH_DIR
from setupwizard.testbed.records import HostRecord, all_records, hosts_locked, read_record

APT_PROXY_LOG = ACNG_DIR / "log" / "apt-cacher.log"


async def connect(host: TestHost, account: Account) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        host.address,
        port=host.port,
        username=account.username,
        password=account.password,
        known_hosts=None,
        client_keys=None,
        agent_path=None,
        connect_timeout=30,
    )


async def run_as(
    host: TestHost, account: Account, command: str, *, input: str | None = None, term_type: str | None = None
) -> asyncssh.SSHCompletedProcess:
    conn = await connect(host, account)
    try:
        return await conn.run(command, check=False, input=input, term_type=term_type)
    finally:
        conn.close()
        await conn.wait_closed()


def tcp_connects(address: str, port: int, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(address: str, port: int, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if tcp_connects(address, port, timeout=0.5):
            return True
        time.sleep(0.1)
    return False


def ensure_ufw(host: TestHost) -> None:
    if host.run_root("command -v ufw").returncode != 0:
        result = host.run_root("apt-get update -q && apt-get install -y -q ufw", timeout=600)
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("which", ["root", "sudo_password", "sudo_nopasswd", "no_sudo"])
async def test_each_account_logs_in_over_ssh_with_its_password(test_host: TestHost, which: str) -> None:
    account: Account = getattr(test_host, which)
    result = await run_as(test_host, account, "id -un; hostname")
    assert result.exit_status == 0, result.stderr
    assert str(result.stdout).split() == [account.username, test_host.name]


async def test_wrong_password_is_refused(test_host: TestHost) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        await connect(test_host, Account(test_host.sudo_password.username, "not-the-password"))


async def test_sudo_without_password_fails_for_alice_and_works_for_bob(test_host: TestHost) -> None:
    alice = await run_as(test_host, test_host.sudo_password, "sudo -n true")
    bob = await run_as(test_host, test_host.sudo_nopasswd, "sudo -n id -un")
    assert alice.exit_status != 0
    assert "password is required" in str(alice.stderr)
    assert bob.exit_status == 0, bob.stderr
    assert str(bob.stdout).strip() == "root"


async def test_alice_sudo_with_her_password_works_without_resolve_warnings(test_host: TestHost) -> None:
    password = test_host.sudo_password.password
    result = await run_as(test_host, test_host.sudo_password, "sudo -S -p '' id -un", input=password + "\n")
    assert result.exit_status == 0, result.stderr
    assert str(result.stdout).strip() == "root"
    assert "unable to resolve host" not in str(result.stderr)


async def test_carol_is_not_allowed_to_sudo(test_host: TestHost) -> None:
    password = test_host.no_sudo.password
    result = await run_as(test_host, test_host.no_sudo, "sudo -S -p '' true", input=password + "\n")
    assert result.exit_status != 0
    assert "not in the sudoers file" in str(result.stderr)


async def test_ssh_session_with_a_pty_gets_a_terminal(test_host: TestHost) -> None:
    result = await run_as(
        test_host, test_host.sudo_nopasswd, "tty; sudo -n true && echo sudo-ok", term_type="xterm"
    )
    assert result.exit_status == 0, result.stdout
    lines = str(result.stdout).split()
    assert lines[0].startswith("/dev/pts/")
    assert lines[1] == "sudo-ok"


def test_run_root_runs_inside_the_host_not_on_the_machine(test_host: TestHost) -> None:
    result = test_host.run_root("hostname; id -un; cat /run/sshd.pid; ip -4 -o addr show dev eth0")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == test_host.name
    assert lines[1] == "root"
    assert int(lines[2]) < 1000  # a pid of the host's own PID namespace
    assert f"{test_host.address}/24" in lines[3]


async def test_service_ssh_restart_inside_keeps_the_host_and_open_sessions(test_host: TestHost) -> None:
    conn = await connect(test_host, test_host.root)
    try:
        restart = await conn.run("kill 1; service ssh restart", check=False)
        assert restart.exit_status == 0, f"{restart.stdout!r} {restart.stderr!r}"
        same_session = await conn.run("echo still-here", check=False)
        assert str(same_session.stdout).strip() == "still-here"
    finally:
        conn.close()
        await conn.wait_closed()
    test_host.wait_ready()
    result = await run_as(test_host, test_host.sudo_nopasswd, "hostname")
    assert str(result.stdout).strip() == test_host.name


def test_guest_has_no_route_beyond_the_bridge(test_host: TestHost) -> None:
    result = test_host.run_root("ip route; ip -6 route")
    assert result.returncode == 0, result.stderr
    assert "default" not in result.stdout
    assert "198.18.0.0/24 dev eth0" in result.stdout


async def test_apt_installs_a_package_through_the_proxy(test_host: TestHost) -> None:
    # Run over SSH as root, as the wizard will; the guest can only reach the proxy on the bridge.
    proxy_log = APT_PROXY_LOG.read_bytes() if APT_PROXY_LOG.exists() else b""
    result = await run_as(
        test_host,
        test_host.root,
        "export DEBIAN_FRONTEND=noninteractive; apt-get update -q && apt-get install -y -q ufw",
    )
    assert result.exit_status == 0, f"{result.stdout!r}\n{result.stderr!r}"
    new_log_lines = APT_PROXY_LOG.read_bytes()[len(proxy_log) :].decode().splitlines()
    assert any(f"|{test_host.address}|" in line and "/ufw_" in line for line in new_log_lines), new_log_lines
    installed = test_host.run_root("dpkg-query -W -f='${Status}' ufw")
    assert installed.stdout == "install ok installed"


async def test_ufw_really_filters_a_port_while_ssh_stays_open(test_host: TestHost) -> None:
    ensure_ufw(test_host)
    started = test_host.run_root(
        "setsid nohup python3 -m http.server 8080 --bind 0.0.0.0 >/tmp/http.log 2>&1 </dev/null &"
    )
    assert started.returncode == 0, started.stderr
    assert wait_for_port(test_host.address, 8080), "listener did not come up"

    enabled = test_host.run_root("ufw allow 22/tcp && ufw --force enable && ufw status")
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    assert "Status: active" in enabled.stdout

    assert not tcp_connects(test_host.address, 8080), "port 8080 is still reachable with ufw enabled"
    # The listener is still there: the firewall, not a dead server, stops the connection.
    inside = test_host.run_root(
        "python3 -c \"import urllib.request as u; print(u.urlopen('http://127.0.0.1:8080/').status)\""
    )
    assert inside.stdout.strip() == "200", inside.stderr
    result = await run_as(test_host, test_host.root, "echo still-in")
    assert str(result.stdout).strip() == "still-in"
    # And opening the port in ufw lets the same connection through again.
    assert test_host.run_root("ufw allow 8080/tcp").returncode == 0
    assert tcp_connects(test_host.address, 8080)


async def test_two_hosts_run_at_once_with_distinct_host_keys(
    make_test_host: Callable[[], TestHost],
) -> None:
    first, second = make_test_host(), make_test_host()
    assert first.address != second.address
    keys = []
    for host in (first, second):
        async with await connect(host, host.root) as conn:
            key = conn.get_server_host_key()
            assert key is not None
            keys.append(key.export_public_key())
            assert str((await conn.run("hostname")).stdout).strip() == host.name
    assert keys[0] != keys[1]


async def test_regenerate_host_keys_serves_a_new_key(make_test_host: Callable[[], TestHost]) -> None:
    host = make_test_host()
    async with await connect(host, host.root) as conn:
        before = conn.get_server_host_key()
    host.regenerate_host_keys()
    async with await connect(host, host.root) as conn:
        after = conn.get_server_host_key()
    assert before is not None and after is not None
    assert before.export_public_key() != after.export_public_key()


async def test_set_password_and_os_release(make_test_host: Callable[[], TestHost]) -> None:
    host = make_test_host()
    host.set_password("carol", "canary-Pw-123")
    result = await run_as(host, Account("carol", "canary-Pw-123"), "id -un")
    assert str(result.stdout).strip() == "carol"
    host.set_os_release('ID=plan9\nVERSION_ID="4"\n')
    assert host.run_root(". /etc/os-release; echo $ID").stdout.strip() == "plan9"


def test_host_answers_on_ipv6_too(test_host: TestHost) -> None:
    assert test_host.address6 is not None
    assert tcp_connects(test_host.address6, 22)


def test_concurrent_processes_get_distinct_hosts(testbed: Testbed) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from setupwizard.testbed import Testbed
        host = Testbed(Path({str(testbed.image)!r})).new_host()
        print(host.name, host.address, flush=True)
        sys.stdin.read()  # hold the host until the test closes our stdin
        host.stop()
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    try:
        started = [proc.stdout.readline().split() for proc in procs if proc.stdout is not None]
        assert all(len(words) == 2 for words in started), started
        assert len({name for name, _ in started}) == 3
        assert len({address for _, address in started}) == 3
        assert all(tcp_connects(address, 22) for _, address in started)
    finally:
        for proc in procs:
            proc.communicate(timeout=60)
    with hosts_locked():  # (another test run on this machine may take a freed slot at once)
        assert all(not netns_exists(name) for name, _ in started if read_record(name) is None)


def test_stop_removes_the_host_completely(testbed: Testbed) -> None:
    host = testbed.new_host()
    directory = host.directory
    with hosts_locked():  # no other test run takes the freed slot before we looked
        host.stop()
        assert not netns_exists(host.name)
        assert not directory.exists()
        assert not tcp_connects(host.address, 22, timeout=1)
        assert not [entry for entry in TRASH_DIR.glob(f"{host.name}.{os.getpid()}.*")]


def test_stopping_a_host_again_leaves_the_next_host_in_its_slot_alone(testbed: Testbed) -> None:
    # An old handle on a slot (a host stopped twice, or cleaned up by another process first) must not
    # tear down the host that took the slot since: concurrent test runs take freed slots at once.
    first = testbed.new_host()
    with hosts_locked():
        first.stop()
        second = testbed.new_host()  # the lowest free slot: most often first's
    assert second.record.launcher is not None
    try:
        old_handle = replace(first.record, slot=second.record.slot)
        destroy(old_handle)
        assert second.record.launcher.alive()
        assert netns_exists(second.name)
        assert read_record(second.name) == second.record
        assert tcp_connects(second.address, 22)
    finally:
        second.stop()


def test_hosts_of_a_crashed_process_are_cleaned_up(testbed: Testbed) -> None:
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        from setupwizard.testbed import Testbed
        host = Testbed(Path({str(testbed.image)!r})).new_host()
        print(host.name, flush=True)
        sys.stdin.readline()
        os._exit(0)  # crash: no stop()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdin is not None
    name = proc.stdout.readline().strip()
    # Held from before the crash: no other test run's allocation cleans the host up before this test does.
    with hosts_locked():
        proc.stdin.write("crash\n")
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
        record = read_record(name)
        assert record is not None and record.launcher is not None
        assert record.launcher.alive(), "the orphaned host should still run before cleanup"
        assert name in testbed.clean_stale()
        assert not record.launcher.alive()
        assert not netns_exists(name)
        assert not Path("/var/lib/setupwizard-testbed/hosts", name).exists()


def free_port() -> int:
    """A free port below 32768: apt-cacher-ng 3.7 cannot bind above ("Error resolving address")."""
    for port in random.sample(range(20000, 32000), 200):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError("no free port")


def test_the_apt_proxy_has_a_port_of_its_own_and_the_install_script_stops_nothing() -> None:
    assert BRIDGE_PROXY.port != 3142  # apt-cacher-ng's default: a distribution's daemon listens there
    assert BRIDGE_PROXY.own_pid() is not None  # the `testbed` fixture started it (or found ours running)
    script = (Path(__file__).parents[2] / "scripts" / "install-system-deps.sh").read_text()
    code = "\n".join(line for line in script.splitlines() if not line.lstrip().startswith("#"))
    for word in ("pkill", "killall", "kill ", "systemctl stop", "service apt-cacher-ng"):
        assert word not in code, word


def test_a_foreign_apt_cacher_ng_survives_the_testbed(testbed: Testbed, tmp_path: Path) -> None:
    # Two programs the testbed did not start: one merely named apt-cacher-ng (what `pkill -x` matches),
    # one a real apt-cacher-ng with its own configuration on another port (like a distribution's daemon).
    named = subprocess.Popen(["bash", "-c", "exec -a apt-cacher-ng sleep 600"], start_new_session=True)
    foreign = AptProxy(tmp_path / "foreign", "127.0.0.1", free_port())
    ours = AptProxy(tmp_path / "ours", "127.0.0.1", free_port())
    try:
        foreign.ensure()
        foreign_pid = foreign.own_pid()
        assert foreign_pid is not None
        time.sleep(0.2)
        assert Path(f"/proc/{named.pid}/cmdline").read_bytes().startswith(b"apt-cacher-ng\0")
        ours.ensure()  # an instance of ours starting from nothing, while both foreign ones run
        Testbed.ensure()
        testbed.new_host().stop()
        assert ours.stop()
        assert named.poll() is None, "the process named apt-cacher-ng was signalled"
        assert foreign.own_pid() == foreign_pid and foreign.reachable(), (
            "the foreign apt-cacher-ng was stopped"
        )
    finally:
        ours.stop()
        foreign.stop()
        named.kill()
        named.wait()


def test_a_port_held_by_another_program_is_an_error_and_the_program_stays(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = int(holder.getsockname()[1])
        proxy = AptProxy(tmp_path / "acng", "127.0.0.1", port)
        with pytest.raises(TestbedError, match="held by a program"):
            proxy.ensure()
        assert tcp_connects("127.0.0.1", port)


def mounted_anywhere(path: Path) -> bool:
    """True when any process on the machine has a mount at or below ``path`` (in any mount namespace)."""
    needles = [f" {path}".encode()]
    if path.parent.name == "hosts":  # a stopped host's directory is renamed into the trash first
        needles.append(f" {TRASH_DIR}/{path.name}.".encode())
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                mountinfo = (entry / "mountinfo").read_bytes()
                if any(needle in mountinfo for needle in needles):
                    return True
            except OSError:
                continue
    return False


def assert_reclaimed(record: HostRecord) -> None:
    for ref in (record.launcher, record.init):
        assert ref is None or not ref.alive(), ref
    assert not netns_exists(record.name)
    assert not Path("/var/lib/setupwizard-testbed/hosts", record.name).exists()
    assert not any(group.exists() for group in cgroups.host_groups(record.name))
    assert not mounted_anywhere(Path("/var/lib/setupwizard-testbed/hosts", record.name))


def test_hosts_of_a_run_killed_with_sigkill_are_reclaimed_by_the_next(testbed: Testbed) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from setupwizard.testbed import Testbed
        testbed = Testbed(Path({str(testbed.image)!r}))
        for host in (testbed.new_host(), testbed.new_host(flavour="systemd", release="trixie")):
            print(host.name, flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    names = [proc.stdout.readline().strip() for _ in range(2)]
    with hosts_locked():  # the next run is this test: no other run's allocation reclaims them first
        proc.kill()  # SIGKILL: no finally, no atexit, no fixture teardown
        proc.wait()
        records = [read_record(name) for name in names]
        assert all(r is not None and r.launcher is not None and r.launcher.alive() for r in records), records
        systemd = records[1]
        assert systemd is not None and systemd.init is not None and systemd.init.alive()
        assert mounted_anywhere(Path("/var/lib/setupwizard-testbed/hosts", systemd.name, "root"))
        removed = testbed.clean_stale()
        assert set(names) <= set(removed)
        for record in records:
            assert record is not None
            assert_reclaimed(record)


def test_a_systemd_host_killed_while_booting_is_reclaimed(testbed: Testbed) -> None:
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from setupwizard.testbed import Testbed
        Testbed(Path({str(testbed.image)!r})).new_host(flavour="systemd", release="bookworm")
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL)
    record = None
    deadline = time.monotonic() + 120
    while record is None and time.monotonic() < deadline and proc.poll() is None:
        mine = [r for r in all_records() if r.owner.pid == proc.pid and r.launcher is not None]
        record = mine[0] if mine else None
        time.sleep(0.01)
    with hosts_locked():  # the host is reclaimed by this test, not by another run's allocation
        proc.kill()  # somewhere during the boot
        proc.wait()
        assert record is not None, "the host never got a launcher"
        testbed.clean_stale()
        final = read_record(record.name)
        assert final is None
        assert_reclaimed(record)


def setupwizard_cli(*args: str, user: int | None = None) -> subprocess.CompletedProcess[str]:
    argv = [str(Path(sys.executable).with_name("setupwizard")), "testbed", *args]
    if user is not None:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("options", "kind"),
    [((), "quick/bookworm"), (("--flavour", "systemd", "--release", "trixie"), "systemd/trixie")],
)
async def test_cli_up_leaves_a_usable_host_and_down_removes_it(
    testbed: Testbed, options: tuple[str, ...], kind: str
) -> None:
    up = setupwizard_cli("up", *options)
    assert up.returncode == 0, up.stdout + up.stderr
    name = next(word for word in up.stdout.split() if word.startswith("swtb-"))
    record = read_record(name)
    assert record is not None and record.persistent
    assert f"{record.flavour}/{record.release}" == kind
    host = TestHost(record)
    try:
        assert f"ssh root@{host.address}" in up.stdout
        assert host.root.password in up.stdout  # people need it to try the wizard
        result = await run_as(host, host.root, "hostname")  # the command has exited; the host runs on
        assert str(result.stdout).strip() == name
        status = setupwizard_cli("status")
        assert any(
            line.split()[:4] == [name, host.address, "running", kind] for line in status.stdout.splitlines()
        )
    finally:
        down = setupwizard_cli("down", name)
    assert down.returncode == 0, down.stderr
    assert name in down.stdout
    assert record.launcher is not None and not record.launcher.alive()
    assert (record.init is not None) == (record.flavour == "systemd")
    assert record.init is None or not record.init.alive()
    if read_record(name) is None:  # (other test runs on this machine may take the free slot at once)
        assert not netns_exists(name)
        assert not tcp_connects(host.address, 22, timeout=1)


def test_cli_says_clearly_that_it_needs_root(testbed: Testbed) -> None:
    result = setupwizard_cli("up", user=65534)
    assert result.returncode == 1
    assert "needs root" in result.stderr


def test_old_images_are_pruned_only_when_unused_and_long_superseded(tmp_path: Path) -> None:
    from setupwizard.testbed.image import PRUNE_AFTER, prune_images, stage1_path

    keep, old, used = (tmp_path / f"base-{n}" for n in ("new", "old", "used"))
    stage1, old_stage1, building = (
        tmp_path / stage1_path().name,
        tmp_path / "debootstrap-old",
        tmp_path / "base-x.tmp-1",
    )
    for path in (keep, old, used, stage1, old_stage1, building):
        path.mkdir()
    assert prune_images(keep, {str(used)}, cache_dir=tmp_path) == []  # keep is brand new: prune nothing
    long_ago = time.time() - PRUNE_AFTER - 60
    os.utime(keep, (long_ago, long_ago))
    assert prune_images(keep, {str(used)}, cache_dir=tmp_path) == [old, old_stage1]
    assert all(p.exists() for p in (keep, used, stage1, building))


@pytest.mark.parametrize(("ci", "outcome"), [("", "1 skipped"), ("true", "1 error")])
def test_without_root_testbed_tests_skip_with_a_how_to_but_fail_in_ci(
    testbed: Testbed, ci: str, outcome: str
) -> None:
    # A user namespace without mappings makes geteuid() return 65534 while files stay readable.
    pytest_bin = str(Path(sys.executable).with_name("pytest"))
    test_id = f"{__file__}::test_each_account_logs_in_over_ssh_with_its_password[root]"
    result = subprocess.run(
        ["unshare", "--user", "env", f"CI={ci}", pytest_bin, test_id, "-q", "-rs", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in result.stdout, result.stdout
    assert "needs root" in result.stdout
    assert "sudo make test" in result.stdout
