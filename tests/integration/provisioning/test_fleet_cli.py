"""``setupwizard setup HOST HOST … | --inventory FILE``: many real hosts from a terminal, with a light plan.

Two test hosts share this module (the machine has 2 cores); 198.18.0.250 is an address nothing answers.
Every host's login password is a canary: it must show up in no output, log file or process's argv.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import SILENT_ADDRESS
from setupwizard.testbed.testbed import Testbed

SETUPWIZARD = str(Path(sys.executable).with_name("setupwizard"))
CANARY = "fleet-canary-Qz8vK2"
UNREACHABLE = SILENT_ADDRESS
LIGHT = ["--no-update", "--no-packages", "--no-firewall", "--connect-timeout", "3"]
SCRIPT = "echo fleet-script-ran-on-$(hostname)\nps -eo args | grep -c sudo >/dev/null || true\n"


@pytest.fixture(scope="module")
def pair(testbed: Testbed) -> Iterator[list[TestHost]]:
    """Two fresh hosts whose user alice (sudo asks for her password) has the canary as password."""
    hosts: list[TestHost] = []
    try:
        for _ in range(2):
            host = testbed.new_host()
            hosts.append(host)
            host.set_password(host.sudo_password.username, CANARY)
        yield hosts
    finally:
        for host in hosts:
            host.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The test's own XDG_CONFIG_HOME (known host keys): one test's key change never reaches another."""
    return tmp_path / "home"


def run_fleet(args: list[str], home: Path, work: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the CLI with the canary on stdin; also return the argv of it and its children seen meanwhile."""
    script = work / "light.sh"
    script.write_text(SCRIPT)
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    argv = [SETUPWIZARD, "setup", *args, *LIGHT, "--script", str(script), "--password-stdin"]
    process = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    assert process.stdin is not None
    process.stdin.write(CANARY + "\n")
    process.stdin.flush()
    seen: set[str] = set()
    while process.poll() is None:
        seen.update(_argv_tree(process.pid))
        time.sleep(0.05)  # sampling the process table, not waiting for an outcome
    out, err = process.communicate(timeout=600)
    return subprocess.CompletedProcess(argv, process.returncode, out, err), seen


def _argv_tree(root: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        ppid = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
        if int(entry.name) == root or (ppid is not None and int(ppid.group(1)) == root):
            found.append(cmdline)
    return found


def recap(stdout: str) -> dict[str, str]:
    """The recap's lines by host name."""
    lines = stdout.split("RECAP ", 1)[1].splitlines()[1:]
    return {line.split(" : ")[0].strip(): line for line in lines if " : " in line}


def assert_no_canary(done: subprocess.CompletedProcess[str], argvs: set[str], log_dir: Path) -> None:
    assert argvs, "the CLI's argv was never sampled"
    assert all(CANARY not in argv for argv in argvs)
    assert CANARY not in done.stdout + done.stderr
    for log in log_dir.glob("*"):
        assert CANARY not in log.read_text(), log


def test_two_hosts_each_get_their_log_file_and_a_recap_line(
    pair: list[TestHost], home: Path, tmp_path: Path
) -> None:
    logs = tmp_path / "logs"
    hosts = [f"alice@{host.address}" for host in pair]
    done, argvs = run_fleet([*hosts, "--parallel", "2", "--log-dir", str(logs)], home, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = recap(done.stdout)
    assert sorted(lines) == sorted(hosts)
    for name, line in lines.items():
        assert "failed=0" in line and "✓ succeeded" in line, line
        log = logs / f"{name.replace('@', '_')}.log"
        assert str(log) in line
        text = log.read_text()
        assert "fleet-script-ran-on-" in text and "status: succeeded" in text
    assert "2 hosts: 2 succeeded" in done.stdout
    assert_no_canary(done, argvs, logs)


def test_an_unreachable_host_in_an_inventory_fails_alone_with_a_non_zero_exit(
    pair: list[TestHost], home: Path, tmp_path: Path
) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "# the web tier\n[web]\n"
        f"web1 ansible_host={pair[0].address}\n"
        f"ghost ansible_host={UNREACHABLE}  # switched off\n"
        "\n[web:vars]\nansible_user=alice\n"
    )
    logs = tmp_path / "logs"
    done, argvs = run_fleet(["--inventory", str(inventory), "--log-dir", str(logs)], home, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = recap(done.stdout)
    assert "✓ succeeded" in lines["web1"] and "✗ failed" in lines["ghost"]
    assert "✗ ghost: " in done.stdout and UNREACHABLE in done.stdout.split("✗ ghost: ")[1]  # why it failed
    assert "fleet-script-ran-on-" in (logs / "web1.log").read_text()
    assert "status: failed" in (logs / "ghost.log").read_text()
    assert_no_canary(done, argvs, logs)


def test_stop_after_failures_skips_the_hosts_not_yet_started(
    pair: list[TestHost], home: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "hosts.txt"
    listing.write_text(f"alice@{UNREACHABLE}\n" + "".join(f"alice@{h.address}:22\n" for h in pair))
    logs = tmp_path / "logs"
    args = [
        "--inventory",
        str(listing),
        "--parallel",
        "1",
        "--stop-after-failures",
        "1",
        "--log-dir",
        str(logs),
    ]
    done, _ = run_fleet(args, home, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = recap(done.stdout)
    assert "✗ failed" in lines[f"alice@{UNREACHABLE}"]
    for host in pair:
        assert "– skipped" in lines[f"alice@{host.address}:22"]
        assert "never started" in lines[f"alice@{host.address}:22"]
    assert sorted(p.name for p in logs.iterdir()) == [f"alice_{UNREACHABLE}.log"]
    assert "3 hosts: 1 failed, 2 skipped" in done.stdout


def test_a_changed_host_key_fails_that_host_only(pair: list[TestHost], home: Path, tmp_path: Path) -> None:
    changed, kept = pair
    hosts = [f"alice@{changed.address}", f"alice@{kept.address}"]
    first, _ = run_fleet([*hosts, "--log-dir", str(tmp_path / "first")], home, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr  # both keys are remembered now
    changed.regenerate_host_keys()
    logs = tmp_path / "logs"
    done, _ = run_fleet([*hosts, "--log-dir", str(logs)], home, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = recap(done.stdout)
    assert "✗ failed" in lines[f"alice@{changed.address}"]
    assert "✓ succeeded" in lines[f"alice@{kept.address}"]
    assert "主机密钥已改变" in (logs / f"alice_{changed.address}.log").read_text()


def test_bad_targets_stop_the_run_before_anything_connects(tmp_path: Path) -> None:
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[web]\nweb1 ansible_host=192.0.2.1 ansible_port=99999\nweb2 ansible_password=x\n")
    done, _ = run_fleet(["--inventory", str(inventory)], tmp_path, tmp_path)
    assert done.returncode == 2
    assert f"{inventory}: line 2: host web1: port '99999'" in done.stderr
    assert f"{inventory}: line 3: ansible_password holds a secret" in done.stderr
    assert "Nothing was run." in done.stderr
    twice, _ = run_fleet(["192.0.2.1", "root@192.0.2.1:22"], tmp_path, tmp_path)
    assert twice.returncode == 2 and "same server as 192.0.2.1" in twice.stderr
    prompt, _ = run_fleet(["192.0.2.1", "192.0.2.2", "--hostname", "web"], tmp_path, tmp_path)
    assert prompt.returncode == 2 and "--hostname would give every host the same name" in prompt.stderr


def test_show_plan_prints_each_hosts_plan_and_connects_nowhere(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "NO_COLOR": "1"}
    done = subprocess.run(
        [SETUPWIZARD, "setup", "alice@192.0.2.1:2222", "[2001:db8::1]:22", *LIGHT[:3], "--show-plan"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "== alice@192.0.2.1:2222 ==" in done.stdout and "== [2001:db8::1]:22 ==" in done.stdout
    assert "$ ssh alice@192.0.2.1 -p 2222" in done.stdout and "$ ssh root@2001:db8::1 -p 22" in done.stdout


def test_ctrl_c_cancels_the_running_host_and_skips_the_rest(
    pair: list[TestHost], home: Path, tmp_path: Path
) -> None:
    script = tmp_path / "long.sh"
    script.write_text("echo long-script-started\nsleep 120\n")
    logs = tmp_path / "logs"
    hosts = [f"alice@{host.address}" for host in pair]
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    argv = [SETUPWIZARD, "setup", *hosts, *LIGHT, "--script", str(script), "--parallel", "1"]
    process = subprocess.Popen(
        [*argv, "--log-dir", str(logs), "--password-stdin"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdin is not None
    process.stdin.write(CANARY + "\n")
    process.stdin.flush()
    first_log = logs / f"alice_{pair[0].address}.log"
    deadline = time.monotonic() + 300
    while "long-script-started" not in (first_log.read_text() if first_log.exists() else ""):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail("the script never started: " + "".join(process.communicate()))
        time.sleep(0.1)
    assert "sleep 120" in pair[0].run_root("ps -eo args").stdout
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 1, out + err
    lines = recap(out)
    assert "✗ cancelled" in lines[hosts[0]] and "– skipped" in lines[hosts[1]]
    assert "status: cancelled" in first_log.read_text()
    assert "sleep 120" not in pair[0].run_root("ps -eo args").stdout  # the remote script was stopped
