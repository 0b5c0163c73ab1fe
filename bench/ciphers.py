"""SSH ciphers alone (not part of ``make bench``): asyncssh's CPU time per packet read, by cipher.

One fresh testbed host prints 20,000 short lines one at a time (a python3 loop with a flush and a short
sleep per line), so nearly every line is its own SSH packet, as with a quiet printer; the client reads
them all and the figure is the client's process CPU time divided by the reads it made. Two rounds.

    .venv/bin/python -m bench.ciphers
"""

from __future__ import annotations

import asyncio
import time

import asyncssh

from bench.hosts import fresh_hosts, ssh_key

LINES = 20_000
ALGORITHMS = (
    "chacha20-poly1305@openssh.com",
    "aes128-gcm@openssh.com",
    "aes256-gcm@openssh.com",
    "aes128-ctr",
)
PRINTER = (
    f"python3 -u -c 'import time\nfor i in range({LINES}):\n    print(i, flush=True)\n    time.sleep(0.0002)'"
)


async def measure(address: str, key: str, algorithm: str) -> tuple[float, int]:
    """(CPU µs per read, reads) of reading the printer's output with ``algorithm``."""
    async with asyncssh.connect(
        address, username="root", client_keys=[key], known_hosts=None, encryption_algs=[algorithm]
    ) as conn:
        process = await conn.create_process(PRINTER, term_type="dumb", encoding=None)
        began = time.process_time()
        reads = 0
        while await process.stdout.read(65536):
            reads += 1
        await process.wait()
        return (time.process_time() - began) * 1e6 / max(1, reads), reads


async def main() -> None:
    with ssh_key() as key:
        async with fresh_hosts(1, key=key) as hosts:
            for round_ in (1, 2):
                for algorithm in ALGORITHMS:
                    per_read, reads = await measure(hosts[0].address, str(key), algorithm)
                    print(f"round {round_}  {algorithm:31s} {per_read:6.1f} µs CPU per read ({reads:,})")


if __name__ == "__main__":
    asyncio.run(main())
