"""Output reaches the listener line by line while the remote program is still running.

Each remote program prints a line, sleeps 2 s, creates a marker file, prints a second line. When
the first line's event reaches the sink, the sink looks on the host (not over SSH) whether the
marker exists yet: it must not. A control run without a PTY shows the method can tell the
difference: a block-buffering program then delivers its first line only after the marker exists.
"""

from __future__ import annotations

import asyncio
import secrets

import asyncssh
import pytest
from asyncssh.encryption import get_default_encryption_algs

from setupwizard.provisioning import MemoryKnownHosts
from setupwizard.provisioning.remote import Remote
from setupwizard.provisioning.ssh import CIPHERS, open_connection
from setupwizard.provisioning.sudo import detect_sudo
from setupwizard.testbed.host import TestHost

from .recorder import login

PROGRAMS = {
    "shell": "echo {first}; sleep 2; touch {marker}; echo {second}",
    "python": (
        'python3 -c \'import time; print("{first}"); time.sleep(2); '
        'open("{marker}", "w").close(); print("{second}")\''
    ),
    "grep": "{{ echo {first}; sleep 2; touch {marker}; echo {second}; }} | grep -e -line-",
}


def marker_exists(host: TestHost, marker: str) -> bool:
    return host.run_root(f"test -e {marker}").returncode == 0


@pytest.mark.parametrize("program", sorted(PROGRAMS))
async def test_first_line_arrives_before_the_second_is_printed(test_host: TestHost, program: str) -> None:
    tag = secrets.token_hex(4)
    marker = f"/tmp/rt-{program}-{tag}"
    first, second = f"first-line-{tag}", f"second-line-{tag}"
    seen: dict[str, bool] = {}

    async def on_lines(lines: list[str]) -> None:
        for line in lines:
            if line in (first, second):
                seen[line] = await asyncio.to_thread(marker_exists, test_host, marker)

    target = login(test_host, "sudo_password")  # through password sudo: the hardest path
    connection = await open_connection(target, MemoryKnownHosts())
    try:
        remote = Remote(connection)
        sudo = await detect_sudo(remote, target.username, target.password)
        command = PROGRAMS[program].format(first=first, second=second, marker=marker)
        result = await remote.run(command, on_lines=on_lines, sudo=sudo)
    finally:
        connection.close()
    assert result.exit_status == 0, result.lines
    assert seen == {first: False, second: True}


async def test_control_without_a_pty_block_buffered_output_arrives_late(test_host: TestHost) -> None:
    tag = secrets.token_hex(4)
    marker = f"/tmp/rt-control-{tag}"
    command = PROGRAMS["python"].format(first=f"first-line-{tag}", second="second", marker=marker)
    connection = await open_connection(login(test_host, "root"), MemoryKnownHosts())
    try:
        process = await connection.conn.create_process(command, term_type=None)
        assert isinstance(process, asyncssh.SSHClientProcess)
        chunk = await process.stdout.read(100)
        existed = await asyncio.to_thread(marker_exists, test_host, marker)
        await process.wait()
    finally:
        connection.close()
    assert f"first-line-{tag}" in chunk
    assert existed, "without a PTY, python's first line should only arrive after it finished"


async def test_a_command_waiting_for_input_gets_eof_instead_of_hanging(test_host: TestHost) -> None:
    target = login(test_host, "sudo_password")
    connection = await open_connection(target, MemoryKnownHosts())
    try:
        remote = Remote(connection)
        sudo = await detect_sudo(remote, target.username, target.password)
        script = 'if read -r answer; then echo "got:$answer"; else echo no-input; fi; id -u'
        result = await remote.run(script, sudo=sudo, time_limit=60)
    finally:
        connection.close()
    assert not result.timed_out
    assert result.exit_status == 0 and result.lines == ["no-input", "0"]


async def test_connections_prefer_aes_gcm_and_keep_every_default_cipher(test_host: TestHost) -> None:
    assert set(CIPHERS) == {alg.decode() for alg in get_default_encryption_algs()}  # reordered, none dropped
    connection = await open_connection(login(test_host, "root"), MemoryKnownHosts())
    try:
        assert connection.conn.get_extra_info("send_cipher") == "aes128-gcm@openssh.com"
        assert connection.conn.get_extra_info("recv_cipher") == "aes128-gcm@openssh.com"
    finally:
        connection.close()
