"""The cached Debian root filesystems test hosts start from (read-only overlay lower dirs).

One image per flavour and release (``ImageSpec``): the quick flavour (chroot + a small init) and the
systemd flavour (the image's own systemd as PID 1 under systemd-nspawn), each for Debian 12 bookworm or
Debian 13 trixie. Built in two cached stages, each keyed by a hash of its recipe so a changed recipe
builds a new one:

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
from dataclasses import dataclass
from pathlib import Path

from setupwizard.testbed.accounts import ACCOUNTS, ROOT_PASSWORD
from setupwizard.testbed.commands import TestbedError, require_commands, run
from setupwizard.testbed.locks import file_lock
from setupwizard.testbed.paths import (
    APT_PROXY_URL,
    CACHE_DIR,
    DEBIAN_MIRROR,
    DEFAULT_FLAVOUR,
    DEFAULT_RELEASE,
    FLAVOURS,
    RELEASES,
)

INCLUDE = ["openssh-server", "sudo", "python3", "iproute2", "ca-certificates", "procps"]
SYSTEMD_INCLUDE = ["systemd", "systemd-sysv", "dbus"]
PRUNE_AFTER = 6 * 3600
IMAGE_FORMAT = "1"  # bump to force a rebuild of stage 2 when the customisation below changes

CUSTOMIZE_SCRIPT = Path(__file__).with_name("customize-image.sh")


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class ImageSpec:
    """Which image: ``flavour`` (quick | systemd) and Debian ``release`` (bookworm | trixie)."""

    flavour: str = DEFAULT_FLAVOUR
    release: str = DEFAULT_RELEASE

    def __post_init__(self) -> None:
        if self.flavour not in FLAVOURS:
            raise TestbedError(f"unknown testbed flavour {self.flavour!r} (one of: {', '.join(FLAVOURS)})")
        if self.release not in RELEASES:
            raise TestbedError(f"unknown Debian release {self.release!r} (one of: {', '.join(RELEASES)})")

    @property
    def include(self) -> list[str]:
        return INCLUDE + (SYSTEMD_INCLUDE if self.flavour == "systemd" else [])

    def debootstrap_argv(self, target: Path) -> list[str]:
        return [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(self.include)}",
            self.release,
            str(target),
            DEBIAN_MIRROR,
        ]

    def stage1_path(self, cache_dir: Path = CACHE_DIR) -> Path:
        """Where stage 1 (plain debootstrap output) of this recipe lives."""
        return cache_dir / f"debootstrap-{_digest(*self.debootstrap_argv(Path('TARGET')))}"

    def image_path(self, cache_dir: Path = CACHE_DIR) -> Path:
        """Where stage 2 (the image) of this recipe lives."""
        script = CUSTOMIZE_SCRIPT.read_text()
        accounts = ";".join(f"{a.username}:{a.password}" for a in ACCOUNTS)
        # The quick flavour's key is what it was before flavours existed, so its image is not rebuilt.
        flavour = [] if self.flavour == "quick" else [self.flavour]
        key = _digest(
            self.stage1_path().name,
            IMAGE_FORMAT,
            script,
            accounts,
            ROOT_PASSWORD,
            APT_PROXY_URL,
            DEBIAN_MIRROR,
            *flavour,
        )
        return cache_dir / f"base-{key}"


def all_specs() -> list[ImageSpec]:
    """Every image the testbed can build (flavour x release)."""
    return [ImageSpec(flavour, release) for flavour in FLAVOURS for release in RELEASES]


def stage1_path() -> Path:
    """Where stage 1 of the default image (quick, bookworm) lives."""
    return ImageSpec().stage1_path()


def _fresh_tmp(final: Path) -> Path:
    tmp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    return tmp


def _stage1(spec: ImageSpec) -> Path:
    final = spec.stage1_path()
    if final.is_dir():
        return final
    require_commands("debootstrap")
    tmp = _fresh_tmp(final)
    try:
        run(spec.debootstrap_argv(tmp), env={"http_proxy": APT_PROXY_URL}, timeout=1800)
    except TestbedError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp.rename(final)
    return final


def ensure_image(spec: ImageSpec | None = None) -> Path:
    """Return the cached image directory, building it first if needed (takes minutes the first time)."""
    spec = spec or ImageSpec()
    with file_lock(CACHE_DIR / "image.lock"):
        stage1 = _stage1(spec)
        final = spec.image_path()
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
                "TB_SUITE": spec.release,
                "TB_FLAVOUR": spec.flavour,
            }
            run(["sh", str(CUSTOMIZE_SCRIPT), str(tmp)], env=env, timeout=600)
        except TestbedError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        tmp.rename(final)
        return final


def prune_images(keep: Path, in_use: set[str], cache_dir: Path = CACHE_DIR) -> list[Path]:
    """Delete image directories of older recipes that no host uses; return what was deleted.

    Images of the current recipes (every flavour and release, built or not) always stay. Others go only
    once ``keep`` has been the current image for ``PRUNE_AFTER`` seconds: a test session that started
    before the recipe changed may still start hosts from the old image. Call with the host table locked
    (``records.hosts_locked``) so no host starts from one meanwhile.
    """
    removed: list[Path] = []
    if time.time() - keep.stat().st_mtime < PRUNE_AFTER:
        return removed
    current = {keep.name}
    for spec in all_specs():
        current |= {spec.stage1_path().name, spec.image_path().name}
    with file_lock(cache_dir / "image.lock"):
        for path in sorted(cache_dir.glob("base-*")) + sorted(cache_dir.glob("debootstrap-*")):
            if path.name in current or str(path) in in_use or ".tmp-" in path.name:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
