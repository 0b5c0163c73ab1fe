"""Benchmark 5: the whole default setup (``setupwizard setup``, whole process) vs ansible and pyinfra.

All three reach the same end state from a fresh host (ufw installed, 22 and 80 allowed, incoming denied,
enabled), through the same apt proxy, logging in as root with the same key. Each round starts three
fresh hosts and runs the tools one per host, in an order rotated from round to round; every end state
is checked inside the host afterwards. The apt proxy is warmed first, so no tool downloads from the
internet.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from bench.config import Sizes
from bench.hosts import fresh_hosts, ssh_key
from bench.report import Section, verdict
from bench.stats import median

TARGET_RATIO = 0.9
HERE = Path(__file__).resolve().parent / "peers"
BIN = Path(sys.executable).parent
TOOLS = ("setupwizard", "ansible-playbook", "pyinfra")
RUN_TIMEOUT = 600.0


def tool_command(tool: str, address: str, key: Path) -> list[str]:
    """The command line of one tool against one host."""
    if tool == "setupwizard":
        return [str(BIN / "setupwizard"), "setup", address, "--user", "root", "--key", str(key),
                "--packages", "ufw", "--allow", "80"]  # fmt: skip
    if tool == "ansible-playbook":
        return [str(BIN / "ansible-playbook"), "-i", f"{address},", "-u", "root", "--private-key", str(key),
                str(HERE / "ufw.yml")]  # fmt: skip
    return [str(BIN / "pyinfra"), address, str(HERE / "ufw_deploy.py"), "-y", "--ssh-user", "root",
            "--ssh-key", str(key), "--data", "ssh_known_hosts_file=/dev/null",
            "--data", "ssh_strict_host_key_checking=off"]  # fmt: skip


def tool_env(tmp: Path) -> dict[str, str]:
    """Environment: fresh known-hosts state for every tool; Ansible's usual SSH multiplexing, pipelining."""
    return {
        **os.environ,
        "XDG_CONFIG_HOME": str(tmp / "config"),  # setupwizard's known_hosts.json: empty
        "HOME": str(tmp),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-tmp"),
        "ANSIBLE_CONTROL_PATH_DIR": str(tmp / "cp"),
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null",
        "ANSIBLE_NOCOLOR": "1",
    }


def end_state(status: str) -> bool:
    """``ufw status`` shows it active with 22 and 80 allowed."""
    lines = status.splitlines()
    allowed = [line for line in lines if "ALLOW" in line]
    return (
        "Status: active" in status
        and any(line.split()[0].startswith("22") for line in allowed)
        and any(line.split()[0].startswith("80") for line in allowed)
    )


def timed(tool: str, address: str, key: Path, log: Path) -> float:
    """Run one tool to completion (it must exit 0); its wall time."""
    with tempfile.TemporaryDirectory(prefix="bench-peer-") as tmp, log.open("ab") as out:
        out.write(f"\n=== {tool} {address}\n".encode())
        out.flush()
        start = time.perf_counter()
        result = subprocess.run(
            tool_command(tool, address, key),
            env=tool_env(Path(tmp)),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=RUN_TIMEOUT,
            check=False,
        )
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{tool} on {address} exited {result.returncode} (see {log})")
    return elapsed


async def warm_apt_proxy() -> None:
    """Fill the apt proxy's cache (and lists) for ufw on a throwaway host, so no tool downloads it."""
    async with fresh_hosts(1) as [warm]:
        warm.run_root("apt-get update -q && apt-get install -y -q ufw", timeout=600)


async def run(sizes: Sizes) -> Section:
    """Warm the proxy, then ``peer_rounds`` rounds of the three tools on fresh hosts."""
    section = Section(
        title="the default setup vs ansible-playbook and pyinfra (same end state, fresh hosts)",
        target=f"≤ {TARGET_RATIO}× the faster peer",
    )
    missing = [tool for tool in TOOLS if not (BIN / tool).exists()]
    if missing:
        section.verdict = f"not measured: {', '.join(missing)} not installed (make bench installs them)"
        return section
    log = Path(__file__).resolve().parent / "out" / "peers.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text("")
    times: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    with ssh_key() as key:
        await warm_apt_proxy()
        for round_index in range(sizes.peer_rounds):
            order = TOOLS[round_index % 3 :] + TOOLS[: round_index % 3]
            async with AsyncExitStack() as stack:
                hosts = await stack.enter_async_context(fresh_hosts(len(order), key=key))
                for tool, host in zip(order, hosts, strict=True):
                    times[tool].append(await asyncio.to_thread(timed, tool, host.address, key, log))
                    status = host.run_root("ufw status").stdout
                    if not end_state(status):
                        raise RuntimeError(f"{tool} did not reach the end state on {host.name}:\n{status}")
        root = str(HERE.parent.parent) + "/"
        section.commands = [
            " ".join(tool_command(tool, "HOST", key)).replace(str(key), "KEY").replace(root, "")
            for tool in TOOLS
        ]
    ours = median(times["setupwizard"])
    fastest_peer = min(median(times[tool]) for tool in TOOLS[1:])
    table = [["tool", "median s", "runs (s)", "÷ the faster peer"]]
    for tool in TOOLS:
        table.append(
            [
                tool,
                f"{median(times[tool]):.2f}",
                ", ".join(f"{t:.2f}" for t in times[tool]),
                f"{median(times[tool]) / fastest_peer:.2f}×",
            ]
        )
    section.tables.append(table)
    paired = [mine / min(peers) for mine, *peers in zip(*(times[tool] for tool in TOOLS), strict=True)]
    section.notes += [
        "setupwizard ÷ the faster peer within each round (same minute, same load): "
        + ", ".join(f"{ratio:.2f}×" for ratio in paired)
        + "; on a shared machine single runs swing by ±15 %, so read these beside the medians.",
        f"{sizes.peer_rounds} round(s), 3 fresh hosts each, tool order rotated per round; end state "
        "checked with `ufw status` inside each host; tool output in bench/out/peers.log.",
        "setupwizard also runs its safety checks (facts, sudo check, apt lock wait, the lock-out proof "
        "over a new SSH connection); the peers run only the two tasks. Ansible: ansible-core's apt module "
        "+ one shell task, gather_facts off, pipelining and ControlPersist on; pyinfra: apt.packages + "
        "one server.shell.",
    ]
    section.verdict = verdict(ours / fastest_peer <= TARGET_RATIO)
    return section
