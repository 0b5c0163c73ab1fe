"""Fleets (issue 19 §4): benchmark 5's end state on N fresh hosts at once, our fleet vs ansible and pyinfra.

Every tool gets N fresh hosts of its own and must leave each in the same end state as benchmark 5 (ufw
installed, 22 and 80 allowed, incoming denied, enabled; checked inside every host afterwards), through
the warmed apt proxy, logging in as root with the same key:

- ours: ``setupwizard serve`` (embedded: SQLite, in-process bus), one ``POST /api/fleets`` with the
  default plan (packages ``ufw``, firewall port 80) and ``parallel`` N; timed from the POST to the fleet's
  end (its progress socket closes once every host ended);
- ``ansible-playbook -f N`` with an inventory of the N hosts (bench/peers/ufw.yml);
- ``pyinfra`` on the N hosts at its default parallelism (bench/peers/ufw_deploy.py).
"""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path

from bench.config import Sizes
from bench.cpu_share import cpu_meter
from bench.fleet import UFW_PLAN, fleet_body, run_fleet, save_slowest_log
from bench.hosts import fresh_hosts, ssh_key
from bench.peers import BIN, HERE, RUN_TIMEOUT, end_state, tool_env, warm_apt_proxy
from bench.report import Section, verdict
from bench.service import OUT_DIR, running_service
from bench.stats import median
from setupwizard.testbed import TestHost

TOOLS = ("setupwizard fleet", "ansible-playbook", "pyinfra")
TARGETS = {"ansible-playbook": 0.5, "pyinfra": 0.8}  # ours ≤ this × the peer's wall time


def peer_command(tool: str, addresses: list[str], key: Path, inventory: Path, forks: int) -> list[str]:
    """The command line of a peer tool against every host at once."""
    if tool == "ansible-playbook":
        return [str(BIN / "ansible-playbook"), "-i", str(inventory), "-f", str(forks), "-u", "root",
                "--private-key", str(key), str(HERE / "ufw.yml")]  # fmt: skip
    return [str(BIN / "pyinfra"), str(inventory.with_suffix(".py")), str(HERE / "ufw_deploy.py"), "-y",
            "--ssh-user", "root", "--ssh-key", str(key), "--data", "ssh_known_hosts_file=/dev/null",
            "--data", "ssh_strict_host_key_checking=off"]  # fmt: skip


def _run_peer(tool: str, addresses: list[str], key: Path, log: Path) -> tuple[float, float]:
    """Wall time and CPU seconds of the tool and every process it waited for (its ssh clients)."""
    with tempfile.TemporaryDirectory(prefix="bench-fleet-peer-") as tmp, log.open("ab") as out:
        inventory = Path(tmp) / "inventory.ini"
        inventory.write_text("[fleet]\n" + "".join(f"{address}\n" for address in addresses))
        inventory.with_suffix(".py").write_text(f"fleet = {addresses!r}\n")  # pyinfra's inventory
        out.write(f"\n=== {tool} on {len(addresses)} hosts\n".encode())
        out.flush()
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
        result = subprocess.run(
            peer_command(tool, addresses, key, inventory, len(addresses)),
            env=tool_env(Path(tmp)),
            cwd=tmp,  # pyinfra writes pyinfra-debug.log into its working directory on an error
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=RUN_TIMEOUT * 2,
            check=False,
        )
        elapsed, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise RuntimeError(f"{tool} exited {result.returncode} (see {log})")
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return elapsed, cpu


async def _check(tool: str, hosts: list[TestHost]) -> None:
    for host in hosts:
        status = (await asyncio.to_thread(host.run_root, "ufw status")).stdout
        if not end_state(status):
            raise RuntimeError(f"{tool} did not reach the end state on {host.name}:\n{status}")


async def _ours(
    hosts: list[TestHost], key: Path, sizes: Sizes, commands: list[str]
) -> tuple[float, float, str]:
    async with running_service("fleet-peers", "sqlite") as service:
        body = fleet_body([(h.address, 22) for h in hosts], UFW_PLAN, key, sizes.fleet_peers_parallel)
        cpu_before = service.cpu_seconds()
        run = await run_fleet(service, body, sizes.session_timeout)
        cpu = service.cpu_seconds() - cpu_before
        slowest = await save_slowest_log(service, run, OUT_DIR / "fleet_peers-slowest-host.log")
        commands[:] = [
            service.command(),
            f"POST /api/fleets {{plan: {UFW_PLAN}, {len(hosts)} targets (root, the key), "
            f"parallel: {sizes.fleet_peers_parallel}, accept_new_host_keys: true}}, then its progress "
            "socket until it closes",
        ]
        problems = service.log_problems()
    counts = run.counts
    if counts.get("succeeded", 0) != len(hosts):
        raise RuntimeError(f"fleet {run.fleet_id}: not every host succeeded: {counts}")
    note = f"fleet statuses {counts}; {run.spread()}; {slowest} (bench/out)"
    if problems:
        note += f"; the service logged {len(problems)} error line(s), first: `{problems[0][:200]}`"
    return run.seconds, cpu, note


async def run(sizes: Sizes) -> Section:
    """Warm the proxy, then each tool on fresh hosts, in an order rotated from round to round."""
    n = sizes.fleet_peers_hosts
    section = Section(
        title=f"a fleet of {n} fresh hosts (benchmark 5's end state) vs ansible-playbook -f {n} and pyinfra",
        target=f"≤ {TARGETS['ansible-playbook']}× ansible-playbook and ≤ {TARGETS['pyinfra']}× pyinfra",
    )
    missing = [tool for tool in TOOLS[1:] if not (BIN / tool).exists()]
    if missing:
        section.verdict = f"not measured: {', '.join(missing)} not installed (make bench installs them)"
        return section
    log = Path(__file__).resolve().parent / "out" / "fleet_peers.log"
    log.parent.mkdir(exist_ok=True)
    log.write_text("")
    times: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    cpu_seconds: dict[str, list[float]] = {tool: [] for tool in TOOLS}
    hosts_cpu: dict[str, list[float]] = {tool: [] for tool in TOOLS}  # every process inside the N hosts
    notes: list[str] = []
    ours_commands: list[str] = []
    with ssh_key() as key:
        await warm_apt_proxy()
        tools = TOOLS if sizes.fleet_peers_ansible else (TOOLS[0], TOOLS[2])
        for round_index in range(sizes.fleet_peers_rounds):
            turn = round_index % len(tools)
            order = tools[turn:] + tools[:turn]
            for tool in order:
                async with AsyncExitStack() as stack:
                    began = time.monotonic()
                    hosts = await stack.enter_async_context(fresh_hosts(n, key=key))
                    print(f"[bench] {tool}: {n} fresh hosts in {time.monotonic() - began:.0f} s", flush=True)
                    host_cpu = stack.enter_context(cpu_meter(hosts))
                    if tool == TOOLS[0]:
                        elapsed, cpu, note = await _ours(hosts, key, sizes, ours_commands)
                        notes.append(f"round {round_index + 1}: {note}")
                    else:
                        addresses = [host.address for host in hosts]
                        elapsed, cpu = await asyncio.to_thread(_run_peer, tool, addresses, key, log)
                    hosts_cpu[tool].append(host_cpu())
                    used = f"{cpu:.1f} CPU s, hosts {hosts_cpu[tool][-1]:.1f} CPU s"
                    print(f"[bench] {tool}: {elapsed:.1f} s, {used}", flush=True)
                    cpu_seconds[tool].append(cpu)
                    times[tool].append(elapsed)
                    await _check(tool, hosts)
        root = str(HERE.parent.parent) + "/"
        section.commands = [
            *ours_commands,
            *(
                " ".join(peer_command(tool, ["HOST1", "HOST2", "…"], key, Path("INVENTORY"), n))
                .replace(str(key), "KEY")
                .replace(root, "")
                for tool in TOOLS[1:]
            ),
        ]
    ours = median(times[TOOLS[0]])
    table = [
        [
            "tool",
            "median s",
            "runs (s)",
            "ours ÷ this",
            "target",
            "controller CPU s (median)",
            f"the {n} hosts' CPU s (median; runs)",
        ]
    ]
    met = True
    for tool in TOOLS:
        if not times[tool]:
            table.append([tool, "not run", "", "", "", "", ""])
            continue
        mine = median(times[tool])
        target = TARGETS.get(tool)
        if target is not None:
            met = met and ours / mine <= target
        table.append(
            [
                tool,
                f"{mine:.1f}",
                ", ".join(f"{t:.1f}" for t in times[tool]),
                f"{ours / mine:.2f}×",
                f"≤ {target}×" if target is not None else "",
                f"{median(cpu_seconds[tool]):.1f}",
                f"{median(hosts_cpu[tool]):.1f}; " + ", ".join(f"{c:.1f}" for c in hosts_cpu[tool]),
            ]
        )
    section.tables.append(table)
    paired = [o / p for o, p in zip(times[TOOLS[0]], times[TOOLS[2]], strict=True)]
    section.notes += [
        *notes,
        "ours ÷ pyinfra round by round (the same minutes of this machine): "
        + ", ".join(f"{r:.2f}×" for r in paired)
        + f"; their median {median(paired):.2f}×.",
        f"{sizes.fleet_peers_rounds} round(s); each tool on {n} fresh hosts of its own (started before "
        "its clock starts), tools one after another, order rotated per round; end state checked with "
        "`ufw status` inside every host; peer output in bench/out/fleet_peers.log.",
        "pyinfra's default parallelism is min(20 × CPUs, hosts) = "
        f"{min(20 * (os.cpu_count() or 1), n)} here.",
        "Controller CPU: ours is the serve process's user + system time during the fleet; a peer's is "
        "the tool's and every process it waited for (its ssh clients). The hosts' own work (apt, dpkg, "
        "ufw) runs on the same 2 cores and is not in it: the hosts' CPU is every process inside the N hosts "
        "(sshd, shells, apt, dpkg, ufw) from the tool's start to its end (a cgroup of the benchmark's own, "
        "bench/cpu_share.py `cpu_meter`). On 2 shared cores that total, not the controller, sets the wall "
        "time.",
        "Ours: the default plan's steps with their safety checks (facts, sudo check, apt lock wait, the "
        "lock-out proof over a new SSH connection), every line stored and published; the peers run two "
        "tasks (see benchmark 5).",
    ]
    section.verdict = verdict(met) + ("" if sizes.fleet_peers_ansible else " (pyinfra only: Ansible not run)")
    return section
