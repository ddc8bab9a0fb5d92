"""tests/polling.py: the first truthy value comes back; on timeout, the message and the last value."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from polling import _pauses, until, wait_until


def counter(truthy_from: int) -> tuple[list[int], object]:
    calls: list[int] = []

    def pred() -> list[int] | None:
        calls.append(len(calls) + 1)
        return [len(calls)] if len(calls) >= truthy_from else None
    return calls, pred


async def test_returns_the_first_truthy_value() -> None:
    calls, pred = counter(3)
    assert await until(pred, interval=0.001) == [3]  # type: ignore[arg-type]
    assert calls == [1, 2, 3]


async def test_a_true_predicate_returns_at_once_without_pausing() -> None:
    t0 = time.monotonic()
    assert await until(lambda: "ready", interval=10) == "ready"
    assert wait_until(lambda: 42, interval=10) == 42
    assert time.monotonic() - t0 < 1


async def test_awaits_async_predicates_and_lets_the_loop_run() -> None:
    done = asyncio.Event()
    asyncio.get_running_loop().call_soon(done.set)

    async def pred() -> str | None:
        await asyncio.sleep(0)
        return "set" if done.is_set() else None
    assert await until(pred, interval=0.001) == "set"


async def test_timeout_names_the_message_and_the_last_value() -> None:
    seen = iter(range(1_000_000))
    t0 = time.monotonic()
    with pytest.raises(AssertionError) as err:
        await until(lambda: [] if next(seen) >= 0 else None, timeout=0.05, interval=0.01,
                    message="the pods listed")
    assert time.monotonic() - t0 >= 0.05  # it kept trying until the deadline
    assert "the pods listed" in str(err.value) and "last value: []" in str(err.value)
    assert "0.05s" in str(err.value)


async def test_the_last_try_happens_at_the_deadline_even_with_a_long_interval() -> None:
    calls, pred = counter(10**9)
    with pytest.raises(AssertionError):
        await until(pred, timeout=0.05, interval=60)  # type: ignore[arg-type]
    assert calls == [1, 2]  # one at once, one when time was up


async def test_retry_on_counts_those_exceptions_as_not_yet_and_reports_the_last() -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionError(f"refused #{len(calls)}")
        return "up"
    assert await until(flaky, interval=0.001, retry_on=ConnectionError) == "up"

    def down() -> str:
        raise ConnectionError("still refused")
    with pytest.raises(AssertionError, match="still refused") as err:
        await until(down, timeout=0.02, interval=0.005, retry_on=ConnectionError, message="api up")
    assert isinstance(err.value.__cause__, ConnectionError)
    with pytest.raises(KeyError):  # other exceptions are not swallowed
        await until(lambda: {}["x"], retry_on=ConnectionError)


def test_wait_until_is_the_blocking_form() -> None:
    _, pred = counter(2)
    assert wait_until(pred, interval=0.001) == [2]  # type: ignore[arg-type]
    with pytest.raises(AssertionError, match=r"kctl get pods \(not within 0.02s; last value: ''\)"):
        wait_until(lambda: "", timeout=0.02, interval=0.005, message="kctl get pods")


def test_wait_until_refuses_an_async_predicate() -> None:
    async def pred() -> bool:
        return True
    with pytest.raises(TypeError, match="await until"):
        wait_until(pred)


def test_backoff_grows_the_pause_up_to_max_interval() -> None:
    assert list(itertools.islice(_pauses(60, 0.01, 2, 0.08), 6)) == [
        0.01, 0.02, 0.04, 0.08, 0.08, 0.08]
    assert list(_pauses(0, 0.01, 2, 0.08)) == []  # no time left: no pause, the caller gives up


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        wait_until(lambda: True, interval=0)
    with pytest.raises(ValueError):
        wait_until(lambda: True, backoff=0.5)


async def test_accept_replaces_truthiness_and_the_timeout_reports_the_last_value() -> None:
    values = iter([[], [1], [1, 2], [1, 2, 3]])
    assert await until(lambda: next(values), interval=0.001, accept=lambda v: len(v) == 2) == [1, 2]
    assert await until(lambda: 0, accept=lambda v: v == 0) == 0  # a falsy value can be the goal
    with pytest.raises(AssertionError, match=r"ingress \[.10.0.0.1.\] \(not within .*last value: \[\]"):
        wait_until(lambda: [], timeout=0.02, interval=0.005, accept=lambda got: got == ["10.0.0.1"],
                   message="ingress ['10.0.0.1']")
