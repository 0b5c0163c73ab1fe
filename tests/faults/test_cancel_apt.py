"""Cancel while apt unpacks: the server's packages must not stay half-configured.

A real ``apt-get install nginx postgresql`` from the testbed's apt proxy, cancelled at the first
``Unpacking`` line. Afterwards ``dpkg --audit`` on the server reports nothing, and the result says what
was done about it (``dpkg --configure -a``) and in what state the packages are.
"""

from __future__ import annotations

import asyncio

from setupwizard.provisioning import EventType, SessionEvent, SetupOptions, Target, run_setup
from setupwizard.provisioning.known_hosts import MemoryKnownHosts
from setupwizard.provisioning.messages import render
from setupwizard.provisioning.steps.dpkg_settle import audit_packages
from setupwizard.testbed.host import TestHost
from tests.integration.provisioning.recorder import Recorder

PACKAGES = ["nginx", "postgresql"]
CANCEL_AT_UNPACK = 10
"""Cancel at this ``Unpacking`` line: dpkg then holds packages unpacked and not configured yet (the first
ones are set up one by one, so an early cancel may find nothing half done)."""


async def test_cancel_mid_unpack_leaves_no_half_configured_package(test_host: TestHost) -> None:
    cancel = asyncio.Event()
    unpacked: list[str] = []

    async def press_cancel_when_unpacking(event: SessionEvent) -> None:
        if event.type is EventType.LOG and event.message.startswith("Unpacking "):
            unpacked.append(event.message)
            if len(unpacked) >= CANCEL_AT_UNPACK:
                cancel.set()

    rec = Recorder(on_event=press_cancel_when_unpacking)
    target = Target(host=test_host.address, username="root", password=test_host.root.password)
    options = SetupOptions(packages=PACKAGES, firewall=False)
    result = await run_setup(target, options, rec.emitter, MemoryKnownHosts(), cancel=cancel)

    assert cancel.is_set(), "the install never reached dpkg's unpacking"
    assert result.status == "cancelled", result.message
    audit = test_host.run_root("dpkg --audit").stdout
    assert audit.strip() == "", audit
    packages = next(s for s in result.steps if s.id == "packages")
    assert packages.status == "cancelled"
    said = [e for e in rec.step_events("packages") if e.data.get("status") == "cancelled"][-1]
    assert said.code is not None
    english = render(said.code, said.params, "en")
    assert "waited for" in english and "apt/dpkg" in english, english  # which was done
    assert "package state: consistent" in english, english  # and in what state the packages are
    # the summary at the end says it too, in both languages (the page's cancel dialog promises it)
    summary = [
        (render(e.code, e.params, "en"), render(e.code, e.params, "zh"))
        for e in rec.events
        if e.code == "summary.step" and "Install packages:" in render(e.code, e.params, "en")
    ]
    assert len(summary) == 1, [e.message for e in rec.events if e.code and e.code.startswith("summary.")]
    summary_en, summary_zh = summary[0]
    assert "Install packages: cancelled; waited for" in summary_en, summary_en
    assert "package state: consistent" in summary_en, summary_en
    assert "已等待" in summary_zh and "软件包状态: 正常" in summary_zh, summary_zh


def test_dpkg_audit_output_names_the_unfinished_packages() -> None:
    said = [
        "The following packages are in a mess due to serious problems during",
        "installation.  They must be reinstalled for them (and any packages",
        "that depend on them) to function properly:",
        " libsasl2-modules:amd64 (no description available)",
        "",
        "The following packages have been unpacked but not yet configured.",
        " nginx                (no description available)",
        " perl-modules-5.36    Core Perl modules",
    ]
    assert audit_packages(said) == ["libsasl2-modules:amd64", "nginx", "perl-modules-5.36"]
    assert audit_packages([]) == []
