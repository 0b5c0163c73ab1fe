"""Input refused before a run is said in the chosen language (issue 17 item 20, the reasons of validate.py).

The English CLI once printed ``✗ Invalid input: firewall_ports: 端口格式应为 …``: validate.py's reasons were
Chinese strings. Now each is a catalogued message: the 422 answer keeps the Chinese text as ``detail`` and
adds ``message_code``/``params``; the English CLI and page render them in English.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from setupwizard.core.errors import translate_provisioning_error
from setupwizard.provisioning import InvalidInputError, SetupOptions
from setupwizard.provisioning.messages import CATALOGUE
from setupwizard.provisioning.validate import validate_options
from setupwizard.testbed.paths import SILENT_ADDRESS

from .test_english_lines import CHINESE, ENGINE

SETUPWIZARD = str(Path(sys.executable).with_name("setupwizard"))
UNROUTABLE = SILENT_ADDRESS  # never reached: every case is refused before connecting


def _reason_codes() -> list[str]:
    tree = ast.parse((ENGINE / "validate.py").read_text(encoding="utf-8"))
    return [
        str(node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "msg"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ]


def test_every_reason_of_validate_is_catalogued_in_both_languages() -> None:
    codes = _reason_codes()
    assert len(codes) >= 30, codes  # every raise of validate.py names a catalogued reason
    for code in codes:
        zh, en = CATALOGUE[code]
        assert CHINESE.search(zh), code
        assert not CHINESE.search(en), code


def test_a_422_answer_carries_the_reason_code_beside_the_chinese_detail() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_options(SetupOptions(firewall_ports=["22; touch /tmp/pwned"]))
    body = translate_provisioning_error(caught.value).to_dict()
    assert body["detail"] == "端口格式应为 80、80/tcp 或 60000:61000/udp"
    assert body["field"] == "firewall_ports" and body["code"] == "invalid_input"
    assert body["message_code"] == "invalid.port_spec" and body["params"] == {}
    assert "80/tcp" in caught.value.msg.text("en") and not CHINESE.search(caught.value.msg.text("en"))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test"
# (host, options, the field the refusal names)
INVALID = {
    "host": ("bad_host!", [], "host"),
    "ipv4 spelling": ("0x0a.0xd5.0.0xab", [], "host"),
    "zone id": ("fe80::1%$(id)", [], "host"),
    "port": (UNROUTABLE, ["--port", "70000"], "port"),
    "username": (UNROUTABLE, ["--user", "Bad User"], "username"),
    "package": (UNROUTABLE, ["--packages", "Bad_Pkg"], "packages"),
    "port spec": (UNROUTABLE, ["--allow", "22; touch /tmp/pwned"], "firewall_ports"),
    "port range": (UNROUTABLE, ["--allow", "2000:1000/tcp"], "firewall_ports"),
    "range proto": (UNROUTABLE, ["--allow", "1000:2000"], "firewall_ports"),
    "hostname": (UNROUTABLE, ["--hostname", "-bad-"], "hostname"),
    "timezone": (UNROUTABLE, ["--timezone", "../etc/passwd"], "timezone"),
    "script": (UNROUTABLE, ["--script", "{nul}"], "script"),
    "admin root": (UNROUTABLE, ["--admin-user", "root", "--admin-key", "{pub}"], "admin.username"),
    "admin username": (UNROUTABLE, ["--admin-user", "Ops!", "--admin-key", "{pub}"], "admin.username"),
    "public key": (UNROUTABLE, ["--admin-user", "ops", "--admin-key", "{badpub}"], "admin.public_key"),
    "ssh port": (UNROUTABLE, ["--harden-ssh", "--ssh-new-port", "0"], "ssh_hardening.port"),
    "permit root login": (
        UNROUTABLE,
        ["--harden-ssh", "--permit-root-login", "yes"],
        "ssh_hardening.permit_root_login",
    ),
    "confirm timeout": (
        UNROUTABLE,
        ["--harden-ssh", "--confirm-timeout", "1"],
        "ssh_hardening.confirm_timeout",
    ),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_the_english_cli_refuses_each_invalid_option_in_english(case: str, tmp_path: Path) -> None:
    host, options, field = INVALID[case]
    files = {
        "{pub}": _write(tmp_path / "ops.pub", PUBLIC_KEY + "\n"),
        "{badpub}": _write(tmp_path / "bad.pub", "ssh-ed25519 not-a-key\n"),
        "{nul}": _write(tmp_path / "nul.sh", "echo a\0b\n"),
    }
    args = [str(files.get(arg, arg)) for arg in options]
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path), "COLUMNS": "400", "NO_COLOR": "1"}
    done = subprocess.run(
        [SETUPWIZARD, "setup", host, "--lang", "en", "--password-stdin", *args],
        input="x\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 1, said
    assert f"Invalid input: {field}: " in said, said
    assert not CHINESE.search(said), said
