"""The scheduling queue: priority order, 1 s doubling to 10 s backoff on a FakeClock,
unschedulable pods moved back only by events their rejecting plugins care about,
scheduling gates, and the 5-minute leftover flush."""

from __future__ import annotations

import asyncio

from jetkube.services.machinery.runtime import FakeClock
from jetkube.services.scheduler.cluster_events import NODE_ADD, NODE_UPDATE_LABEL, POD_DELETE
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.queue import SchedulingQueue
from jetkube.services.scheduler.testing import make_pod

EVENTS = {"NodeResourcesFit": [NODE_ADD, POD_DELETE], "NodeAffinity": [NODE_ADD, NODE_UPDATE_LABEL]}


def _queue(clock: FakeClock) -> SchedulingQueue:
    return SchedulingQueue(clock, plugin_events=EVENTS)


async def _pop_now(q: SchedulingQueue) -> str | None:
    try:
        return (await asyncio.wait_for(q.pop(), 0.05)).key
    except TimeoutError:
        return None


async def test_higher_priority_first_then_first_come() -> None:
    q = _queue(FakeClock())
    q.add(pod_info(make_pod("low")))
    q.add(pod_info(make_pod("high", priority=100)))
    q.add(pod_info(make_pod("low2")))
    assert [await _pop_now(q) for _ in range(3)] == ["default/high", "default/low", "default/low2"]


async def test_backoff_doubles_from_one_to_ten_seconds() -> None:
    clock = FakeClock()
    q = _queue(clock)
    assert [q.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    q.add(pod_info(make_pod("p")))
    qp = await q.pop()
    for expected in (1, 2, 4, 8, 10, 10):
        q.add_backoff(qp)  # the attempt failed
        await clock.advance(expected - 0.01)
        assert await _pop_now(q) is None, expected
        await clock.advance(0.02)
        qp = await asyncio.wait_for(q.pop(), 1)
        assert qp.key == "default/p"


async def test_unschedulable_pods_wait_for_an_event_their_plugins_registered() -> None:
    clock = FakeClock()
    q = _queue(clock)
    q.add(pod_info(make_pod("p")))
    qp = await q.pop()
    q.add_unschedulable(qp, q.scheduling_cycle, {"NodeResourcesFit"})
    await clock.advance(60)
    assert await _pop_now(q) is None  # no polling: it waits
    assert q.move_all(NODE_UPDATE_LABEL) == 0  # NodeResourcesFit does not care
    assert q.move_all(NODE_ADD) == 1
    assert await _pop_now(q) == "default/p"  # backoff (1 s) long over: straight to active


async def test_a_pod_moved_while_still_backing_off_waits_out_its_backoff() -> None:
    clock = FakeClock()
    q = _queue(clock)
    q.add(pod_info(make_pod("p")))
    qp = await q.pop()
    q.add_unschedulable(qp, q.scheduling_cycle, {"NodeResourcesFit"})
    q.add(pod_info(make_pod("other")))
    await q.pop()  # another cycle, so the move below happens after p's cycle
    q.move_all(POD_DELETE)
    assert q.counts()["backoff"] == 1
    assert await _pop_now(q) is None
    await clock.advance(1.0)
    assert await _pop_now(q) == "default/p"


async def test_an_event_during_the_cycle_sends_the_pod_to_backoff_not_unschedulable() -> None:
    clock = FakeClock()
    q = _queue(clock)
    q.add(pod_info(make_pod("p")))
    qp = await q.pop()
    q.move_all(NODE_ADD)  # a node joined while p was being scheduled
    q.add_unschedulable(qp, q.scheduling_cycle, {"NodeResourcesFit"})
    assert q.counts()["backoff"] == 1 and q.counts()["unschedulable"] == 0


async def test_gated_pods_wait_until_their_gates_are_removed() -> None:
    q = _queue(FakeClock())
    gated = make_pod("g")
    gated["spec"]["schedulingGates"] = [{"name": "example.com/wait"}]
    q.add(pod_info(gated))
    q.move_all(NODE_ADD)
    assert await _pop_now(q) is None
    q.update(pod_info(make_pod("g")))
    assert await _pop_now(q) == "default/g"


async def test_long_unschedulable_pods_are_retried_after_five_minutes() -> None:
    clock = FakeClock()
    q = _queue(clock)
    q.add(pod_info(make_pod("p")))
    qp = await q.pop()
    q.add_unschedulable(qp, q.scheduling_cycle, {"NodeResourcesFit"})
    await clock.advance(299)
    assert q.flush_unschedulable_leftover() == 0
    await clock.advance(1)
    assert q.flush_unschedulable_leftover() == 1
    assert await _pop_now(q) == "default/p"


async def test_deleted_pods_leave_the_queue() -> None:
    q = _queue(FakeClock())
    q.add(pod_info(make_pod("p")))
    q.delete("default/p")
    assert await _pop_now(q) is None
