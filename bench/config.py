"""How big each benchmark is: the full run (``make bench``) and the quick validation run (``--quick``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    """Counts and time bounds of every benchmark."""

    throughput_lines: int = 200_000
    throughput_rounds: int = 3
    latency_levels: tuple[int, ...] = (1, 50, 200)
    latency_flood_beside: int = 50
    latency_flood_lines: int = 200_000
    latency_rate: float = 20.0  # lines per second per printer
    latency_seconds: float = 10.0
    # Each printer's first tick comes at a random point of its first period times this (1.0: the sessions
    # tick out of step, as independent ones do; 0.0: all 200 print at the same instants, a burst of 200
    # lines every 1/rate seconds).
    latency_phase_spread: float = 1.0
    # 0 < f ≤ 1: the printers' hosts (their sshd sessions and printers) share one control group worth f of a
    # default one (bench/cpu_share.py), as servers of their own would; 0: each SSH session competes with the
    # service at full weight (an autogroup of its own), and the p99 measures this machine's run queue.
    latency_hosts_cpu_share: float = 0.0
    max_hosts: int = 50  # testbed hosts started at once by one benchmark
    connect_samples: int = 200
    scale_setups: int = 200
    scale_watchers_per_setup: int = 10
    scale_script_lines: int = 1_000
    # False: the setups run connect, the sudo check and the script only. With the default steps, 200
    # apt-get/dpkg runs on the same 2 cores starve the service of CPU for minutes (it got 10-20% of a
    # core), which measures the hosts sharing this machine, not the service.
    scale_default_steps: bool = False
    peer_rounds: int = 3
    profile_lines: int = 100_000
    profile_backend: str = "sqlite"  # or "redis" (Redis bus + PostgreSQL)
    profile_rate: int = 100  # py-spy samples per second
    fleet_peers_hosts: int = 50
    fleet_peers_parallel: int = 50
    fleet_peers_rounds: int = 1
    # False: the rounds run our fleet and pyinfra only (4 min less per round at 50 hosts), for more rounds of
    # the close comparison in the same time; Ansible's column then reads "not run".
    fleet_peers_ansible: bool = True
    fleet_scale_hosts: int = 200  # fleet targets: testbed hosts × sshd ports (max_hosts hosts at most)
    fleet_scale_parallel: int = 50
    fleet_scale_workers: int = 2
    fleet_scale_worker_concurrency: int = 30  # per worker: the fleet's lanes and the watched session fit
    # True: the default plan (ufw, as fleet_peers); False: connect, sudo check and a short script only.
    fleet_scale_default_plan: bool = True
    # 0 < f ≤ 1: every process of the fleet's hosts (not the watched host) shares one control group worth f
    # of a default one (bench/cpu_share.py), so their apt work takes only the CPU the service leaves, as
    # servers of their own would. 0: they compete for the service's 2 cores as any process does (the
    # latency then measures this machine's run queue: bench/results.md, "F2, the latency explained").
    fleet_scale_hosts_cpu_share: float = 1 / 64
    pickup_samples: int = 20
    session_timeout: float = 900.0  # seconds any one phase may take before the benchmark gives up


FULL = Sizes()
QUICK = Sizes(
    throughput_lines=20_000,
    throughput_rounds=1,
    latency_levels=(1, 4),
    latency_flood_beside=4,
    latency_flood_lines=20_000,
    latency_seconds=3.0,
    max_hosts=3,
    connect_samples=30,
    scale_setups=6,
    scale_watchers_per_setup=3,
    scale_script_lines=200,
    peer_rounds=1,
    profile_lines=20_000,
    fleet_peers_hosts=3,
    fleet_peers_parallel=3,
    fleet_scale_hosts=8,
    fleet_scale_parallel=4,
    fleet_scale_worker_concurrency=4,
    pickup_samples=5,
    session_timeout=120.0,
)
