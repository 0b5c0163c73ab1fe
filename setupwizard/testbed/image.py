"""The cached Debian 12 root filesystem every test host starts from (read-only overlay lower dir).

Built in two cached stages, each keyed by a hash of its recipe so a changed recipe builds a new one:
1. ``debootstrap-<hash>``: plain debootstrap output (downloads go through the apt proxy, so even a
   rebuild downloads nothing);
2. ``base-<hash>``: a copy of stage 1 with the test users, sshd settings, apt proxy and sources.

Each stage is built in a temporary directory and renamed into place under an flock, so concurrent
pytest processes build it once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from setupwizard.testbed.accounts import ACCOUNTS, ROOT_PASSWORD
from setupwizard.testbed.commands import TestbedError, require_commands, run
from setupwizard.testbed.locks import file_lock
from setupwizard.testbed.paths import APT_PROXY_URL, CACHE_DIR, DEBIAN_MIRROR, SUITE

INCLUDE = ["openssh-server", "sudo", "python3", "iproute2", "ca-certificates", "procps"]
PRUNE_AFTER = 6 * 3600
IMAGE_FORMAT = "1"  # bump to force a rebuild of stage 2 when the customisation below changes

CUSTOMIZE_SCRIPT = Path(__file__).with_name("customize-image.sh")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def _debootstrap_argv(target: Path) -> list[str]:
    return [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(INCLUDE)}",
        SUITE,
        str(target),
        DEBIAN_MIRROR,
    ]


def _fresh_tmp(final: Path) -> Path:
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    return tmp


def stage1_path() -> Path:
    """Where stage 1 (plain debootstrap output) of the current recipe lives."""
    return CACHE_DIR / f"debootstrap-{_digest(*_debootstrap_argv(Path('TARGET')))}"


def _stage1() -> Path:
    final = stage1_path()
    if final.is_dir():
        return final
    require_commands("debootstrap")
    tmp = _fresh_tmp(final)
    try:
        run(_debootstrap_argv(tmp), env={"http_proxy": APT_PROXY_URL}, timeout=1800)
    except TestbedError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.rename(final)
    return final


def _stage2_key(stage1: Path) -> str:
    script = CUSTOMIZE_SCRIPT.read_text()
    accounts = ";".join(f"{a.username}:{a.password}" for a in ACCOUNTS)
    return _digest(stage1.name, IMAGE_FORMAT, script, accounts, ROOT_PASSWORD, APT_PROXY_URL, DEBIAN_MIRROR)


def ensure_image() -> Path:
    """Return the cached image directory, building it first if needed (takes minutes the first time)."""
    with file_lock(CACHE_DIR / "image.lock"):
        stage1 = _stage1()
        final = CACHE_DIR / f"base-{_stage2_key(stage1)}"
        if final.is_dir():
            return final
        tmp = _fresh_tmp(final)
        try:
            run(["cp", "-a", "--reflink=auto", str(stage1), str(tmp)], timeout=600)
            accounts = "\n".join(f"{a.username}:{a.password}" for a in ACCOUNTS)
            env = {
                "TB_ROOT_PASSWORD": ROOT_PASSWORD,
                "TB_ACCOUNTS": accounts,
                "TB_APT_PROXY": APT_PROXY_URL,
                "TB_MIRROR": DEBIAN_MIRROR,
                "TB_SUITE": SUITE,
            }
            run(
                ["sh", str(CUSTOMIZE_SCRIPT), str(tmp)],
                env=env,
                timeout=600,
            )
        except TestbedError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        tmp.rename(final)
        return final


def prune_images(keep: Path, in_use: set[str], cache_dir: Path = CACHE_DIR) -> list[Path]:
    """Delete image directories of older recipes that no host uses; return what was deleted.

    Only once ``keep`` has been the current image for ``PRUNE_AFTER`` seconds: a test session that
    started before the recipe changed may still start hosts from the old image. Call with the host
    table locked (``records.hosts_locked``) so no host starts from one meanwhile.
    """
    removed: list[Path] = []
    if time.time() - keep.stat().st_mtime < PRUNE_AFTER:
        return removed
    with file_lock(cache_dir / "image.lock"):
        stage1 = cache_dir / stage1_path().name
        for path in sorted(cache_dir.glob("base-*")) + sorted(cache_dir.glob("debootstrap-*")):
            if path in (keep, stage1) or str(path) in in_use or ".tmp-" in path.name:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
