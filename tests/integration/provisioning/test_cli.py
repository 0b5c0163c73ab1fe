"""``setupwizard setup`` from a terminal, against the real host, password on stdin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from setupwizard.testbed.host import TestHost
from setupwizard.testbed.paths import SILENT_ADDRESS

SETUPWIZARD = str(Path(sys.executable).with_name("setupwizard"))


def run_cli(args: list[str], password: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [SETUPWIZARD, "setup", *args, "--password-stdin"],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )


def test_cli_sets_up_the_host_and_remembers_its_key(test_host: TestHost, tmp_path: Path) -> None:
    acct = test_host.sudo_password
    args = [test_host.address, "--user", acct.username, "--packages", "ufw,tree", "--allow", "8080/tcp"]
    done = run_cli(args, acct.password, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "✓ 安装软件包" in done.stdout and "✓ 服务器设置完成" in done.stdout
    assert "Reading package lists" in done.stdout  # live command output, not only step lines
    assert acct.password not in done.stdout + done.stderr
    known = json.loads((tmp_path / "setupwizard" / "known_hosts.json").read_text())
    assert known[f"{test_host.address}:22"].startswith("SHA256:")
    assert "8080/tcp" in test_host.run_root("ufw status").stdout


def test_cli_exits_non_zero_on_failure(test_host: TestHost, tmp_path: Path) -> None:
    done = run_cli([test_host.address, "--user", "alice"], "not-the-password", tmp_path)
    assert done.returncode == 1
    assert "登录失败" in done.stdout
    assert "not-the-password" not in done.stdout + done.stderr


def test_cli_speaks_english_with_lang_en(test_host: TestHost, tmp_path: Path) -> None:
    args = [test_host.address, "--user", "alice", "--lang", "en"]
    done = run_cli(args, "not-the-password", tmp_path)
    assert done.returncode == 1
    assert "login failed" in done.stdout and "[1/6] Connect and identify the system" in done.stdout
    assert "登录" not in done.stdout and "连接" not in done.stdout


def test_cli_rejects_bad_input_before_connecting(tmp_path: Path) -> None:
    done = run_cli([SILENT_ADDRESS, "--allow", "22; touch /tmp/pwned"], "x", tmp_path)
    assert done.returncode == 1
    assert "firewall_ports" in done.stdout


def test_cli_refuses_a_changed_host_key_until_told_to_forget_it(test_host: TestHost, tmp_path: Path) -> None:
    acct = test_host.sudo_nopasswd
    args = [test_host.address, "--user", acct.username, "--packages", "ufw"]
    assert run_cli(args, acct.password, tmp_path).returncode == 0
    test_host.regenerate_host_keys()
    refused = run_cli(args, acct.password, tmp_path)
    assert refused.returncode == 1
    assert "主机密钥已改变" in refused.stdout and "--forget-host-key" in refused.stdout
    accepted = run_cli([*args, "--forget-host-key"], acct.password, tmp_path)
    assert accepted.returncode == 0, accepted.stdout
    assert "Forgot the recorded host key" in accepted.stdout
