"""The testbed as a whole: bridge, apt proxy, cached image, and the hosts started from it."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from setupwizard.testbed import cgroups
from setupwizard.testbed import host as host_module
from setupwizard.testbed.aptproxy import ensure_apt_proxy
from setupwizard.testbed.commands import TestbedError, require_commands
from setupwizard.testbed.host import TestHost
from setupwizard.testbed.image import ImageSpec, ensure_image, prune_images
from setupwizard.testbed.locks import file_lock
from setupwizard.testbed.network import ensure_bridge, list_netns, remove_host_network
from setupwizard.testbed.paths import DEFAULT_FLAVOUR, DEFAULT_RELEASE, HOST_NAME_PREFIX, HOSTS_DIR, STATE_DIR
from setupwizard.testbed.records import all_records, claim_free_slot, hosts_locked, read_record


def _require_root() -> None:
    if os.geteuid() != 0:
        raise TestbedError("the testbed needs root (network namespaces, overlay mounts, chroot)")


class Testbed:
    """Handle on the machine's testbed. ``Testbed.ensure()`` makes everything ready."""

    __test__ = False  # not a pytest test class

    def __init__(self, image: Path | None) -> None:
        self.image = image  # the quick bookworm image; None: only for listing and removing hosts
        self._images: dict[ImageSpec, Path] = {} if image is None else {ImageSpec(): image}

    @classmethod
    def ensure(cls) -> Testbed:
        """Bring up the bridge and apt proxy, build the image if needed, clean stale hosts.

        Raises ``TestbedError`` (with a how-to) when this machine cannot run the testbed.
        """
        _require_root()
        require_commands("ip", "nsenter", "unshare", "chroot", "debootstrap", "apt-cacher-ng", "mount")
        with file_lock(STATE_DIR / "network.lock"):
            ensure_bridge()
            ensure_apt_proxy()
        image = ensure_image()
        testbed = cls(image)
        with hosts_locked():
            testbed._clean_stale_locked()
            in_use = {record.image for record in all_records()}
            # Hosts recorded before the image was recorded: their image is unknown, so prune nothing.
            if "" not in in_use:
                prune_images(keep=image, in_use=in_use)
        return testbed

    def image_for(self, spec: ImageSpec) -> Path:
        """The image of ``spec``, built on first use (a cold build takes about a minute)."""
        if spec not in self._images:
            if spec.flavour == "systemd":
                require_commands("systemd-nspawn")
            self._images[spec] = ensure_image(spec)
        return self._images[spec]

    def new_host(
        self, *, persistent: bool = False, flavour: str = DEFAULT_FLAVOUR, release: str = DEFAULT_RELEASE
    ) -> TestHost:
        """Start a fresh host (blocks until its sshd accepts connections; systemd: until booted).

        ``flavour``: ``quick`` (chroot, no systemd, about a second) or ``systemd`` (the image's systemd
        as PID 1 under systemd-nspawn). ``release``: ``bookworm`` (Debian 12) or ``trixie`` (Debian 13).
        ``persistent`` hosts outlive this process (``setupwizard testbed up``); others are stale once it
        exits and are removed by the next run.
        """
        if self.image is None:
            raise TestbedError("no image: use Testbed.ensure() to start hosts")
        spec = ImageSpec(flavour, release)
        image = self.image_for(spec)
        with hosts_locked():
            self._clean_stale_locked()
            taken = {record.slot for record in all_records()}
            record = replace(claim_free_slot(taken), flavour=flavour, release=release)
        try:
            return host_module.start(record, image, persistent=persistent)
        except BaseException:
            host_module.destroy(record)
            raise

    def hosts(self) -> list[TestHost]:
        """Every host with a record on this machine (of any process), running or not."""
        return [TestHost(record) for record in all_records()]

    def clean_stale(self) -> list[str]:
        """Remove hosts whose owner is gone; return their names."""
        with hosts_locked():
            return self._clean_stale_locked()

    def _clean_stale_locked(self) -> list[str]:
        removed = []
        for record in all_records():
            if record.stale():
                host_module.destroy(record)
                removed.append(record.name)
        known = {record.name for record in all_records()}
        # Directories without a readable record and namespaces without a directory are leftovers too.
        if HOSTS_DIR.is_dir():
            for directory in HOSTS_DIR.iterdir():
                if directory.is_dir() and directory.name not in known and read_record(directory.name) is None:
                    remove_host_network(directory.name)
                    shutil.rmtree(directory, ignore_errors=True)
                    removed.append(directory.name)
        for name in list_netns(HOST_NAME_PREFIX):
            if name not in known:
                remove_host_network(name)
                removed.append(name)
        # A systemd host whose record was never written (its starter killed at the wrong moment).
        for name in cgroups.names():
            if name not in known:
                cgroups.kill_and_remove(name)
                removed.append(name)
        host_module.empty_trash()
        return sorted(set(removed))

    def destroy_all(self, *, include_running_tests: bool = False, only: str | None = None) -> list[str]:
        """Stop hosts started by ``testbed up`` and stale ones; return their names.

        With ``include_running_tests`` also the hosts of test runs that are still going; with ``only``
        just the host of that name (and stale ones).
        """
        with hosts_locked():
            names = []
            for record in all_records():
                if only is not None and record.name != only:
                    continue
                if record.persistent or include_running_tests or only is not None:
                    host_module.destroy(record)
                    names.append(record.name)
            return sorted(set(names + self._clean_stale_locked()))
