"""How failures look: a failing command, a server that goes silent mid-setup; and IPv6 addresses."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from setupwizard.provisioning import (
    EventType,
    MemoryKnownHosts,
    SessionEvent,
    SetupOptions,
    StepStatus,
    Target,
    run_setup,
    test_connection,
)
from setupwizard.testbed.host import TestHost

from .recorder import Recorder, login


async def test_failing_script_fails_its_step_with_the_output_tail(test_host: TestHost) -> None:
    script = "echo preparing\necho 'fatal: disk on fire' >&2\nexit 3\n"
    rec = Recorder()
    options = SetupOptions(packages=["ufw"], script=script)
    result = await run_setup(login(test_host, "sudo_nopasswd"), options, rec.emitter, MemoryKnownHosts())
    assert result.status == "failed" and result.error_code == "command_failed"
    step = result.steps[-1]
    assert step.id == "script" and step.status is StepStatus.FAILED
    assert "退出码 3" in step.message and "fatal: disk on fire" in step.message
    assert result.message.startswith("第 7 步「运行自定义脚本」失败")
    assert "preparing" in rec.messages(EventType.LOG)
    assert rec.events[-1].message.startswith("✗") and rec.events[-1].data["status"] == "failed"


async def test_ipv6_address_works_like_ipv4(test_host: TestHost) -> None:
    assert test_host.address6, "the testbed gives every host an IPv6 address"
    acct = test_host.root
    known = MemoryKnownHosts()
    report = await test_connection(Target(test_host.address6, acct.username, password=acct.password), known)
    assert report.supported and await known.get(test_host.address6, 22) == report.host_key_fingerprint


async def test_a_server_that_goes_silent_mid_setup_is_noticed_by_keepalive(
    make_test_host: Callable[[], TestHost],
) -> None:
    host = make_test_host()
    started = threading.Event()

    async def sink(event: SessionEvent) -> None:
        if event.message == "long-task-started":
            started.set()

    rec = Recorder(on_event=sink)
    options = SetupOptions(packages=["ufw"], script="echo long-task-started\nsleep 600\n")
    setup = asyncio.create_task(
        run_setup(login(host, "root"), options, rec.emitter, MemoryKnownHosts(), keepalive_interval=2)
    )
    assert await asyncio.to_thread(started.wait, 120)
    # every packet dropped from now on, inside the host's namespace: no FIN, no RST, just silence
    blackhole = "iptables -I INPUT 1 -j DROP && iptables -I OUTPUT 1 -j DROP"
    assert host.run_root(blackhole).returncode == 0
    result = await asyncio.wait_for(setup, timeout=120)  # keepalive: 3 missed × 2 s, not the 600 s sleep
    assert result.status == "failed"
    step = result.steps[-1]
    assert step.id == "script" and step.status is StepStatus.FAILED
    assert "SSH 连接中断" in step.message
    rec.assert_well_formed()
