"""The engine's entry points: run the default plan against a server, or just test the connection."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import asyncssh

from setupwizard.provisioning.context import StepContext, parse_os_release
from setupwizard.provisioning.errors import (
    ProvisioningError,
    StepCancelled,
    SudoPasswordWrongError,
    SudoRefusedError,
)
from setupwizard.provisioning.events import EventEmitter, EventType, Level, SessionEvent, StepRef
from setupwizard.provisioning.facts import read_facts
from setupwizard.provisioning.known_hosts import KnownHostStore
from setupwizard.provisioning.plan import Plan, Policy, StepOutcome
from setupwizard.provisioning.remote import Remote
from setupwizard.provisioning.result import ConnectionReport, SetupResult, StepResult, StepStatus
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.ssh import open_connection
from setupwizard.provisioning.steps import default_plan
from setupwizard.provisioning.sudo import detect_sudo
from setupwizard.provisioning.summary import complete_event_level, mark, summary_lines
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.provisioning.validate import validate_options, validate_target

log = logging.getLogger(__name__)


async def run_setup(
    target: Target,
    options: SetupOptions,
    emitter: EventEmitter,
    known_hosts: KnownHostStore,
    *,
    cancel: asyncio.Event | None = None,
    connect_timeout: float = 10.0,
    keepalive_interval: float = 5.0,
) -> SetupResult:
    """Run the default setup plan on ``target``, streaming events to ``emitter``.

    Never raises :class:`ProvisioningError`: a failure becomes ``SetupResult(success=False,
    status="failed")``. Setting ``cancel`` stops the running remote command and marks its step
    cancelled (``status="cancelled"``). The last event is always exactly one ``complete`` event
    whose ``data`` is ``result.to_dict()``. ``result.sudo`` is set as soon as sudo was verified.
    """
    return await execute_setup(
        target,
        options,
        emitter,
        known_hosts,
        cancel=cancel,
        connect_timeout=connect_timeout,
        keepalive_interval=keepalive_interval,
        settings=PlanSettings(),
    )


async def execute_setup(
    target: Target,
    options: SetupOptions,
    emitter: EventEmitter,
    known_hosts: KnownHostStore,
    *,
    settings: PlanSettings,
    cancel: asyncio.Event | None = None,
    connect_timeout: float = 10.0,
    keepalive_interval: float = 5.0,
) -> SetupResult:
    """:func:`run_setup` with engine :class:`PlanSettings` (tests use it for the lock-out drill)."""
    register_secrets(emitter, target)
    result = SetupResult(success=False, message="", status="failed")
    try:
        try:
            validate_target(target)
            validate_options(options)
        except ProvisioningError as exc:
            result.message = f"输入无效: {exc}"
            result.error_code = exc.code
            await emitter.emit(EventType.INFO, Level.ERROR, f"✗ {result.message}")
            return await _complete(emitter, result)
        plan = default_plan(options)
        ctx = StepContext(
            target=target,
            options=options,
            settings=settings,
            emitter=emitter,
            known_hosts=known_hosts,
            cancel=cancel or asyncio.Event(),
            connect_timeout=connect_timeout,
            keepalive_interval=keepalive_interval,
        )
        result.steps = [StepResult(step.id, step.name) for step in plan.steps]
        await emitter.emit(
            EventType.INFO,
            Level.INFO,
            f"开始设置 {target.username}@{target.host}:{target.port}，共 {len(plan.steps)} 步",
            data={"steps": [{"id": s.id, "name": s.name} for s in plan.steps]},
        )
        try:
            await _run_steps(plan, ctx, result)
        finally:
            ctx.close()
    except asyncio.CancelledError:
        result.status, result.success, result.message = "cancelled", False, "设置被中断"
        for record in result.steps:
            if record.status is StepStatus.RUNNING:
                record.status, record.message = StepStatus.CANCELLED, "已中断"
            elif record.status is StepStatus.PENDING:
                record.status, record.message = StepStatus.SKIPPED, "已中断，未执行"
        await asyncio.shield(_complete(emitter, result))
        raise
    except Exception as exc:  # the contract: no exception escapes, the page always gets a result
        log.exception("setup of %s failed unexpectedly", target.host)
        result.status, result.success = "failed", False
        result.message = emitter.redact(f"内部错误: {type(exc).__name__}")
    return await _complete(emitter, result)


def register_secrets(emitter: EventEmitter, target: Target) -> None:
    """Tell the emitter every secret of ``target``, including each line of a private key."""
    for secret in target.secrets():
        emitter.add_secret(secret)
    for line in (target.private_key or "").splitlines():
        if len(line.strip()) >= 16 and not line.startswith("-----"):
            emitter.add_secret(line.strip())


async def _run_steps(plan: Plan, ctx: StepContext, result: SetupResult) -> None:
    total = len(plan.steps)
    stopped: StepStatus | None = None  # FAILED or CANCELLED once the plan stops
    for index, (step, record) in enumerate(zip(plan.steps, result.steps, strict=True), 1):
        ref = StepRef(step.id, index, total)
        if stopped is None and ctx.cancel.is_set():
            stopped = StepStatus.CANCELLED
        if stopped is not None:
            record.status = StepStatus.SKIPPED
            record.message = "已取消，未执行" if stopped is StepStatus.CANCELLED else "前面的步骤失败，未执行"
            await _step_event(ctx.emitter, ref, record, f"– {step.name}: {record.message}", Level.INFO)
            continue
        ctx.step = ref
        record.status = StepStatus.RUNNING
        await _step_event(ctx.emitter, ref, record, f"[{index}/{total}] {step.name} …", Level.INFO)
        started = time.monotonic()
        code: str | None = None
        try:
            outcome = await step.action(ctx)
        except StepCancelled:
            outcome = StepOutcome(StepStatus.CANCELLED, "已取消，远程命令已终止")
        except ProvisioningError as exc:
            outcome = StepOutcome(StepStatus.FAILED, str(exc))
            code = exc.code
        except (asyncssh.Error, OSError) as exc:  # the connection dropped mid-step
            reason = getattr(exc, "reason", None) or type(exc).__name__
            outcome = StepOutcome(StepStatus.FAILED, f"SSH 连接中断: {reason}")
            code = "connection_lost"
        except Exception as exc:  # a bug must not leave the step "running" on the page
            log.exception("step %s failed unexpectedly", step.id)
            outcome = StepOutcome(StepStatus.FAILED, f"内部错误: {type(exc).__name__}")
            code = "internal_error"
        record.duration = time.monotonic() - started
        status = outcome.status
        if status is StepStatus.FAILED and step.policy is Policy.WARN:
            status = StepStatus.WARNING
        record.status, record.changed = status, outcome.changed
        record.message = ctx.emitter.redact(outcome.message)
        result.host_key_fingerprint = ctx.fingerprint
        result.os_name = ctx.os.pretty_name if ctx.os else None
        result.sudo = ctx.sudo
        level = {
            StepStatus.FAILED: Level.ERROR,
            StepStatus.WARNING: Level.WARNING,
            StepStatus.CANCELLED: Level.WARNING,
        }.get(status, Level.SUCCESS)
        await _step_event(
            ctx.emitter, ref, record, f"{mark(status)} {step.name}: {record.message}", level, code
        )
        if status in (StepStatus.FAILED, StepStatus.CANCELLED):
            stopped = status
            if status is StepStatus.FAILED:
                result.message = f"第 {index} 步「{step.name}」失败: {record.message}"
                result.error_code = code or "step_failed"
    ctx.step = None
    if stopped is StepStatus.CANCELLED:
        result.status, result.message = "cancelled", "设置已取消，已完成的步骤保持不变"
    elif stopped is StepStatus.FAILED:
        result.status = "failed"
    else:
        warnings = sum(1 for s in result.steps if s.status is StepStatus.WARNING)
        result.status = "succeeded"
        result.message = "服务器设置完成" + (f"（{warnings} 个警告）" if warnings else "")
    result.success = result.status == "succeeded"


async def _step_event(
    emitter: EventEmitter,
    ref: StepRef,
    record: StepResult,
    message: str,
    level: Level,
    code: str | None = None,
) -> SessionEvent:
    data: dict[str, object] = {
        "status": record.status.value,
        "duration": round(record.duration, 3),
        "changed": record.changed,
    }
    if code:
        data["error_code"] = code
    return await emitter.emit(EventType.STEP, level, message, step=ref, data=data)


async def _complete(emitter: EventEmitter, result: SetupResult) -> SetupResult:
    for line in summary_lines(result):
        await emitter.emit(EventType.INFO, Level.INFO, line)
    level = complete_event_level(result)
    symbol = {Level.SUCCESS: "✓", Level.WARNING: "⚠"}.get(level, "✗")
    result.message = emitter.redact(result.message)
    await emitter.emit(EventType.COMPLETE, level, f"{symbol} {result.message}", data=result.to_dict())
    return result


async def _discard(events: Sequence[SessionEvent]) -> None:
    """A sink that drops events (connection tests emit none)."""


async def test_connection(
    target: Target, known_hosts: KnownHostStore, *, connect_timeout: float = 10.0
) -> ConnectionReport:
    """Connect with the same host-key policy, detect the OS and the sudo mode; change nothing.

    A user without sudo rights is reported with ``sudo_mode=None``.

    :raises InvalidInputError: a field of ``target`` is invalid.
    :raises ConnectError: unreachable, refused, timeout, authentication failed, host key changed.
    :raises SudoRefusedError: sudo needs a password and the one given was wrong (tried once).
    """
    validate_target(target)
    known = await known_hosts.get(target.host, target.port) is not None
    connection = await open_connection(target, known_hosts, connect_timeout=connect_timeout)
    try:
        emitter = EventEmitter(_discard)
        register_secrets(emitter, target)
        remote = Remote(connection, guard=emitter.redactor)
        facts = await read_facts(remote)
        os_info = parse_os_release(facts.os_release)
        try:
            sudo = await detect_sudo(remote, target.username, target.sudo_password or target.password, facts)
            mode = sudo.mode
        except SudoPasswordWrongError:
            raise
        except SudoRefusedError:
            mode = None
    finally:
        connection.close()
    return ConnectionReport(
        os_name=os_info.pretty_name,
        os_id=os_info.id,
        supported=os_info.supported,
        sudo_mode=mode,
        host_key_fingerprint=connection.fingerprint,
        host_key_known=known,
    )


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported into one
