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
from setupwizard.provisioning.messages import Msg, msg, text_msg
from setupwizard.provisioning.plan import Plan, Policy, StepOutcome
from setupwizard.provisioning.preflight import check_plan
from setupwizard.provisioning.remote import Remote
from setupwizard.provisioning.result import (
    ConnectionReport,
    SessionStatus,
    SetupResult,
    StepResult,
    StepStatus,
)
from setupwizard.provisioning.settings import PlanSettings
from setupwizard.provisioning.ssh import open_connection
from setupwizard.provisioning.steps import default_plan
from setupwizard.provisioning.sudo import detect_sudo
from setupwizard.provisioning.summary import complete_event_level, level_mark, mark, step_name, summary_lines
from setupwizard.provisioning.target import SetupOptions, Target
from setupwizard.provisioning.validate import validate_options, validate_target

log = logging.getLogger(__name__)


async def run_setup(
    target: Target,
    options: SetupOptions,
    emitter: EventEmitter,
    known_hosts: KnownHostStore,
    *,
    settings: PlanSettings | None = None,
    cancel: asyncio.Event | None = None,
    confirm: asyncio.Event | None = None,
    connect_timeout: float = 10.0,
    keepalive_interval: float = 5.0,
) -> SetupResult:
    """Run the default setup plan on ``target``, streaming events to ``emitter``.

    Never raises :class:`ProvisioningError`: a failure becomes a result with status ``failed``. Setting
    ``cancel`` stops the running remote command and marks its step cancelled (status ``cancelled``). The
    last event is always exactly one ``complete`` event whose ``data`` is ``result.to_dict()``.
    ``result.sudo`` is set as soon as sudo was verified. Setting ``confirm`` confirms a new login the person
    tried themselves (``ssh_hardening.confirm_login``).
    ``settings``: engine tuning (the default :class:`PlanSettings`; tests set the lock-out drill).
    """
    register_secrets(emitter, target)
    for secret in options.secrets():
        emitter.add_secret(secret)
    if options.admin is not None:
        register_key_lines(emitter, options.admin.private_key)
    result = SetupResult(message="", status=SessionStatus.FAILED)
    reported = _Reported()
    try:
        try:
            validate_target(target)
            validate_options(options)
            check_plan(target, options)
        except ProvisioningError as exc:
            reason = exc.msg
            reported.set(result, msg("run.input_invalid", reason=reason))
            result.error_code = exc.code
            line = msg("run.invalid_input", reason=reason)
            await emitter.emit(EventType.INFO, Level.ERROR, str(line), code=line.code, params=line.params)
            return await _complete(emitter, result, reported)
        plan = default_plan(options)
        ctx = StepContext(
            target=target,
            options=options,
            settings=settings if settings is not None else PlanSettings(),
            emitter=emitter,
            known_hosts=known_hosts,
            cancel=cancel or asyncio.Event(),
            connect_timeout=connect_timeout,
            keepalive_interval=keepalive_interval,
            confirm=confirm or asyncio.Event(),
        )
        result.steps = [StepResult(step.id, step.name) for step in plan.steps]
        start = msg(
            "run.start", user=target.username, host=target.host, port=target.port, total=len(plan.steps)
        )
        await emitter.emit(
            EventType.INFO,
            Level.INFO,
            str(start),
            data={"steps": [{"id": s.id, "name": s.name} for s in plan.steps]},
            code=start.code,
            params=start.params,
        )
        try:
            await _run_steps(plan, ctx, result, reported)
        finally:
            ctx.close()
    except asyncio.CancelledError:
        result.status = SessionStatus.CANCELLED
        reported.set(result, msg("run.interrupted"))
        for record in result.steps:
            if record.status is StepStatus.RUNNING:
                record.status = StepStatus.CANCELLED
                reported.outcome(record, msg("step.interrupted"))
            elif record.status is StepStatus.PENDING:
                record.status = StepStatus.SKIPPED
                reported.outcome(record, msg("step.not_run.interrupted"))
        await asyncio.shield(_complete(emitter, result, reported))
        raise
    except Exception as exc:  # the contract: no exception escapes, the page always gets a result
        log.exception("setup of %s failed unexpectedly", target.host)
        result.status = SessionStatus.FAILED
        reported.set(result, msg("run.internal_error", kind=type(exc).__name__))
    return await _complete(emitter, result, reported)


class _Reported:
    """The catalogued forms of what a run reports: each step's outcome and the run's message."""

    def __init__(self) -> None:
        self.outcomes: dict[str, Msg] = {}
        self.result = text_msg("")

    def set(self, result: SetupResult, message: Msg) -> None:
        self.result = message
        result.message = str(message)
        result.code, result.params = message.code, message.params

    def outcome(self, record: StepResult, message: Msg) -> None:
        self.outcomes[record.id] = message
        record.message = str(message)


def register_secrets(emitter: EventEmitter, target: Target) -> None:
    """Tell the emitter every secret of ``target``, including each line of a private key."""
    for secret in target.secrets():
        emitter.add_secret(secret)
    register_key_lines(emitter, target.private_key)


def register_key_lines(emitter: EventEmitter, private_key: str | None) -> None:
    """Tell the emitter each line of a private key (a line may show alone in an output)."""
    for line in (private_key or "").splitlines():
        if len(line.strip()) >= 16 and not line.startswith("-----"):
            emitter.add_secret(line.strip())


async def _run_steps(plan: Plan, ctx: StepContext, result: SetupResult, reported: _Reported) -> None:
    total = len(plan.steps)
    redact = ctx.emitter.redact
    stopped: StepStatus | None = None  # FAILED or CANCELLED once the plan stops
    for index, (step, record) in enumerate(zip(plan.steps, result.steps, strict=True), 1):
        ref = StepRef(step.id, index, total)
        name = step_name(step.id, step.name)
        if stopped is None and ctx.cancel.is_set():
            stopped = StepStatus.CANCELLED
        if stopped is not None:
            record.status = StepStatus.SKIPPED
            cancelled = stopped is StepStatus.CANCELLED
            reported.outcome(record, msg("step.not_run.cancelled" if cancelled else "step.not_run.failed"))
            line = msg("step.end", mark="–", step=name, outcome=reported.outcomes[step.id])
            await _step_event(ctx.emitter, ref, record, line, Level.INFO)
            continue
        ctx.step = ref
        record.status = StepStatus.RUNNING
        await _step_event(ctx.emitter, ref, record, msg("step.running", index=index, total=total, step=name))
        started = time.monotonic()
        code: str | None = None
        try:
            outcome = await step.action(ctx)
            said = outcome.message if isinstance(outcome.message, Msg) else text_msg(outcome.message)
        except StepCancelled as exc:
            outcome, said = StepOutcome(StepStatus.CANCELLED, ""), exc.message or msg("step.cancelled")
        except ProvisioningError as exc:
            outcome, said, code = StepOutcome(StepStatus.FAILED, ""), exc.msg, exc.code
        except (asyncssh.Error, OSError) as exc:  # the connection dropped mid-step
            reason = getattr(exc, "reason", None) or type(exc).__name__
            outcome, said = StepOutcome(StepStatus.FAILED, ""), msg("step.connection_lost", reason=reason)
            code = "connection_lost"
        except Exception as exc:  # a bug must not leave the step "running" on the page
            log.exception("step %s failed unexpectedly", step.id)
            outcome = StepOutcome(StepStatus.FAILED, "")
            said, code = msg("step.internal_error", kind=type(exc).__name__), "internal_error"
        record.duration = time.monotonic() - started
        status = outcome.status
        if status is StepStatus.FAILED and step.policy is Policy.WARN:
            status = StepStatus.WARNING
        record.status, record.changed = status, outcome.changed
        reported.outcome(record, said)
        record.message = redact(record.message)
        result.host_key_fingerprint = ctx.fingerprint
        result.os_name = ctx.os.pretty_name if ctx.os else None
        result.sudo = ctx.sudo
        result.generated_private_key = ctx.generated_private_key
        result.login_after = ctx.login_after
        level = {
            StepStatus.FAILED: Level.ERROR,
            StepStatus.WARNING: Level.WARNING,
            StepStatus.CANCELLED: Level.WARNING,
        }.get(status, Level.SUCCESS)
        line = msg("step.end", mark=mark(status), step=name, outcome=said)
        await _step_event(ctx.emitter, ref, record, line, level, code)
        if status in (StepStatus.FAILED, StepStatus.CANCELLED):
            stopped = status
            if status is StepStatus.FAILED:
                reported.set(result, msg("run.failed_step", index=index, step=name, reason=said))
                result.message = redact(result.message)
                result.error_code = code or "step_failed"
    ctx.step = None
    if stopped is StepStatus.CANCELLED:
        result.status = SessionStatus.CANCELLED
        reported.set(result, msg("run.cancelled"))
    elif stopped is StepStatus.FAILED:
        result.status = SessionStatus.FAILED
    else:
        warnings = sum(1 for s in result.steps if s.status is StepStatus.WARNING)
        result.status = SessionStatus.SUCCEEDED
        reported.set(
            result, msg("run.succeeded_with_warnings", count=warnings) if warnings else msg("run.succeeded")
        )


async def _step_event(
    emitter: EventEmitter,
    ref: StepRef,
    record: StepResult,
    line: Msg,
    level: Level = Level.INFO,
    code: str | None = None,
) -> SessionEvent:
    data: dict[str, object] = {
        "status": record.status.value,
        "duration": round(record.duration, 3),
        "changed": record.changed,
    }
    if code:
        data["error_code"] = code
    return await emitter.emit(
        EventType.STEP, level, str(line), step=ref, data=data, code=line.code, params=line.params
    )


async def _complete(emitter: EventEmitter, result: SetupResult, reported: _Reported) -> SetupResult:
    for line in summary_lines(result, reported.outcomes):
        await emitter.emit(EventType.INFO, Level.INFO, str(line), code=line.code, params=line.params)
    level = complete_event_level(result)
    symbol = level_mark(level)
    result.message = emitter.redact(result.message)
    if result.params is not None:
        result.params = emitter.redact_params(result.params)
    line = msg("run.complete", mark=symbol, result=reported.result)
    await emitter.emit(
        EventType.COMPLETE, level, str(line), data=result.to_dict(), code=line.code, params=line.params
    )
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
        remote = Remote(connection, secret_locator=emitter.redactor)
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
        sudo_group=None if facts.is_root else facts.in_sudo_group,
    )


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test when imported into one
