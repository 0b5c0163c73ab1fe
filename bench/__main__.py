"""``python -m bench [bus|engine]``: print measurements as JSON; bench/results.md records them."""

from __future__ import annotations

import asyncio
import json
import platform
import sys


def main(argv: list[str]) -> None:
    """Run the named benchmarks (all by default)."""
    names = argv or ["bus", "engine"]
    report: dict[str, object] = {
        "machine": f"{platform.node()} {platform.machine()} python {platform.python_version()}"
    }
    if "bus" in names:
        from bench import bus

        report["bus"] = asyncio.run(bus.run())
    if "engine" in names:
        from bench import engine

        report["engine"] = asyncio.run(engine.run())
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
