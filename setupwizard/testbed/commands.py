"""Running host commands for the testbed, with errors that say which command failed and why."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence


class TestbedError(RuntimeError):
    """The testbed could not be set up or a host could not be started."""

    __test__ = False  # not a pytest test class


def run(
    argv: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (no shell), capturing output; raise ``TestbedError`` with stderr when it fails.

    ``env`` adds variables to this process's environment (the way to pass secrets: never in argv).
    """
    full_env = {**os.environ, **env} if env is not None else None
    try:
        result = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            env=full_env,
        )
    except FileNotFoundError as exc:
        raise TestbedError(f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise TestbedError(f"timed out after {timeout:.0f}s: {' '.join(argv)}") from exc
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise TestbedError(f"failed ({result.returncode}): {' '.join(argv)}\n{detail}")
    return result


def require_commands(*names: str) -> None:
    """Raise ``TestbedError`` naming the commands missing from PATH."""
    missing = [name for name in names if shutil.which(name) is None]
    if missing:
        raise TestbedError(
            f"missing commands: {', '.join(missing)} (run scripts/install-system-deps.sh as root)"
        )
