"""The work queue: client-go dedup, one worker per item, delays, and rate-limited retries."""

from __future__ import annotations

import asyncio

import pytest

from jetkube.services.machinery.client import (
    BucketRateLimiter,
    ItemExponentialFailureRateLimiter,
    ShutDown,
    WorkQueue,
)
from jetkube.services.machinery.runtime import Backoff, FakeClock, RateLimit, Settings


async def test_item_added_twice_is_handed_out_once() -> None:
    q: WorkQueue[str] = WorkQueue(FakeClock())
    q.add("a")
    q.add("b")
    q.add("a")
    assert len(q) == 2
    assert [await q.get(), await q.get()] == ["a", "b"]
    assert len(q) == 0


async def test_item_readded_while_processing_comes_back_only_after_done() -> None:
    q: WorkQueue[str] = WorkQueue(FakeClock())
    q.add("a")
    item = await q.get()
    q.add("a")
    q.add("a")
    assert len(q) == 0  # not handed to a second worker while the first has it
    q.done(item)
    assert len(q) == 1
    assert await q.get() == "a"
    q.done("a")
    assert len(q) == 0


async def test_waiting_getter_wakes_on_add() -> None:
    q: WorkQueue[str] = WorkQueue(FakeClock())
    getter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    assert not getter.done()
    q.add("x")
    assert await asyncio.wait_for(getter, 1) == "x"


async def test_add_after_waits_for_the_clock_and_keeps_the_earliest_deadline() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock)
    q.add_after("a", 10)
    q.add_after("a", 3)   # earlier: replaces
    q.add_after("a", 20)  # later: ignored
    await clock.advance(2.9)
    assert len(q) == 0 and q.waiting == 1
    await clock.advance(0.1)
    assert len(q) == 1 and q.waiting == 0
    await clock.advance(30)
    assert len(q) == 1  # no second copy from the dropped timers


async def test_rate_limited_retries_back_off_exponentially_until_forgotten() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock, backoff=Backoff(base_seconds=0.005, cap_seconds=1000))
    delays = []
    for _ in range(5):
        delays.append(q.rate_limiter.when("k"))
    assert delays == pytest.approx([0.005, 0.01, 0.02, 0.04, 0.08])
    assert q.num_requeues("k") == 5
    q.forget("k")
    assert q.num_requeues("k") == 0
    q.add_rate_limited("k")
    await clock.advance(0.004)
    assert len(q) == 0
    await clock.advance(0.001)
    assert len(q) == 1


def test_per_item_backoff_is_capped() -> None:
    lim: ItemExponentialFailureRateLimiter[str] = ItemExponentialFailureRateLimiter(
        Backoff(base_seconds=0.005, cap_seconds=1000))
    delays = [lim.when("k") for _ in range(2000)]  # 2**2000 must not overflow
    assert max(delays) == 1000
    assert delays[-1] == 1000
    assert lim.when("other") == 0.005  # items back off independently


def test_token_bucket_allows_burst_then_paces_at_qps() -> None:
    clock = FakeClock()
    bucket: BucketRateLimiter[str] = BucketRateLimiter(clock, RateLimit(qps=10, burst=100))
    assert [bucket.when(f"i{n}") for n in range(100)] == [0.0] * 100
    assert bucket.when("x") == pytest.approx(0.1)
    assert bucket.when("y") == pytest.approx(0.2)


async def test_overall_bucket_slows_a_storm_of_distinct_failures() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock, rate_limit=RateLimit(qps=10, burst=2))
    for n in range(4):
        q.add_rate_limited(f"k{n}")
    await clock.advance(0.005)
    assert len(q) == 2  # the burst
    await clock.advance(0.1)
    assert len(q) == 3
    await clock.advance(0.1)
    assert len(q) == 4


async def test_schedule_comes_from_settings_data() -> None:
    s = Settings.from_env({}, queue_backoff={"base_seconds": 1, "cap_seconds": 4})
    q: WorkQueue[str] = WorkQueue(FakeClock(), backoff=s.queue_backoff,
                                  rate_limit=s.queue_rate_limit)
    assert [q.rate_limiter.when("k") for _ in range(4)] == [1, 2, 4, 4]


async def test_shutdown_hands_out_queued_items_then_raises() -> None:
    clock = FakeClock()
    q: WorkQueue[str] = WorkQueue(clock)
    waiter = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")
    assert await waiter == "a"
    q.add("b")
    q.add_after("later", 5)
    idle = asyncio.create_task(q.get())
    q.shutdown()
    assert await idle == "b"
    q.add("c")  # ignored after shutdown
    with pytest.raises(ShutDown):
        await q.get()
    await clock.advance(10)
    assert len(q) == 0


async def test_cancelled_getter_passes_its_wake_up_on() -> None:
    q: WorkQueue[str] = WorkQueue(FakeClock())
    g1 = asyncio.create_task(q.get())
    g2 = asyncio.create_task(q.get())
    await asyncio.sleep(0)
    q.add("a")  # wakes g1 ...
    g1.cancel()  # ... which is cancelled before it runs
    assert await asyncio.wait_for(g2, 1) == "a"
    assert g1.cancelled()
