"""Fake time: timers and sleepers fire in deadline order, instantly and deterministically."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from jetkube.services.machinery.runtime import FakeClock, RealClock, wait_for


async def test_timers_fire_in_deadline_then_registration_order() -> None:
    clock = FakeClock()
    fired: list[str] = []
    clock.call_later(2, lambda: fired.append("b"))
    clock.call_later(1, lambda: fired.append("a"))
    clock.call_later(2, lambda: fired.append("c"))
    cancelled = clock.call_later(1.5, lambda: fired.append("never"))
    cancelled.cancel()
    await clock.advance(1.9)
    assert fired == ["a"]
    await clock.advance(0.1)
    assert fired == ["a", "b", "c"]
    assert clock.pending() == 0


async def test_a_sleeping_loop_runs_once_per_period_inside_one_advance() -> None:
    clock = FakeClock()
    ticks: list[float] = []

    async def loop() -> None:
        while True:
            await clock.sleep(10)
            ticks.append(clock.monotonic())

    task = asyncio.create_task(loop())
    await clock.advance(35)
    assert ticks == [10, 20, 30]
    assert clock.monotonic() == 35
    assert clock.now() == datetime(2024, 1, 1, tzinfo=UTC) + timedelta(seconds=35)
    assert clock.next_deadline() == 40
    assert await clock.advance_to_next() == 5 and ticks[-1] == 40
    task.cancel()


async def test_wait_for_times_out_on_the_fake_clock() -> None:
    clock = FakeClock()
    never = asyncio.Event()
    task = asyncio.create_task(wait_for(clock, never.wait(), 5))
    await clock.advance(4.9)
    assert not task.done()
    await clock.advance(0.1)
    with pytest.raises(TimeoutError):
        await task
    assert await wait_for(clock, asyncio.sleep(0, "ok"), 5) == "ok"


async def test_real_clock_basics() -> None:
    clock = RealClock()
    assert clock.now().tzinfo is UTC
    t0 = clock.monotonic()
    hit = asyncio.Event()
    clock.call_later(0.01, hit.set)
    await asyncio.wait_for(hit.wait(), 1)
    await clock.sleep(0.001)
    assert clock.monotonic() > t0


def test_fake_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError):
        FakeClock(datetime(2024, 1, 1))
