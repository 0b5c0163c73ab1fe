"""An abort of a job (its coroutine cancelled once, as procrastinate does) reaches the job's body as a
request: the body is never cut off mid-step, it sees the request before its run starts, a run already
started is asked to stop, and the cancellation goes through once the body has ended."""

from __future__ import annotations

import asyncio

import pytest

from setupwizard.jobs.abort import Abort, abortable
from setupwizard.setup.running import RunningSetup


def _run() -> RunningSetup:
    return RunningSetup(session_id="s", owner_id=1, host="192.0.2.1", port=22)


async def test_an_abort_before_the_run_starts_is_seen_by_the_body_which_is_not_cut_off() -> None:
    step = asyncio.Event()
    seen: list[bool] = []

    async def body(abort: Abort) -> str:
        await step.wait()  # a database write the abort lands in
        seen.append(abort.requested)
        return "cancelled before it started"

    job = asyncio.create_task(abortable(body, "a test job"))
    await asyncio.sleep(0)
    job.cancel()
    await asyncio.sleep(0.01)
    assert not job.done()  # the body's step goes on
    step.set()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert seen == [True]


async def test_an_abort_after_the_run_started_sets_the_runs_cancel_and_waits_for_its_end() -> None:
    run = _run()
    started = asyncio.Event()

    async def body(abort: Abort) -> str:
        abort.started(run)
        started.set()
        await run.cancel.wait()  # the run ends once asked to stop
        return "cancelled"

    job = asyncio.create_task(abortable(body, "a test job"))
    await started.wait()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert run.cancel.is_set()


async def test_an_abort_asked_before_the_run_starts_stops_the_run_when_it_starts() -> None:
    abort = Abort()
    abort.request()
    run = _run()
    abort.started(run)
    assert run.cancel.is_set()


async def test_a_second_cancel_still_waits_for_the_body() -> None:
    step = asyncio.Event()

    async def body(abort: Abort) -> str:
        await step.wait()
        return "done"

    job = asyncio.create_task(abortable(body, "a test job"))
    await asyncio.sleep(0)
    job.cancel()
    await asyncio.sleep(0.01)
    job.cancel()
    await asyncio.sleep(0.01)
    assert not job.done()
    step.set()
    with pytest.raises(asyncio.CancelledError):
        await job


async def test_without_an_abort_the_body_answers_and_its_failure_is_its_own() -> None:
    async def answers(abort: Abort) -> str:
        return "succeeded"

    async def fails(abort: Abort) -> str:
        raise RuntimeError("the body failed")

    assert await abortable(answers, "a test job") == "succeeded"
    with pytest.raises(RuntimeError, match="the body failed"):
        await abortable(fails, "a test job")
