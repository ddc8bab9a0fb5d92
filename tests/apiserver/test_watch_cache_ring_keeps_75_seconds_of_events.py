"""The watch cache's event ring is trimmed by age as well as by count, as kube-apiserver
sizes its watch cache to keep ``eventFreshDuration`` (75 s) of events (issue 17, memory):
events older than that go once more than ``min_events`` remain, at the next event or on
the idle trim, and with them the bytes of deleted objects' last states; a watch from a
revision before the oldest kept event is 410 Gone, one from a kept revision replays what
followed.  Fake clock: the test moves time, nothing sleeps."""

from __future__ import annotations

import orjson
import pytest

from jetkube.services.apiserver.watchcache import RELEASE_AFTER, CacheWatcher, WatchCache
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.store import MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _pod(name: str) -> bytes:
    return orjson.dumps({"apiVersion": "v1", "kind": "Pod",
                         "metadata": {"name": name, "namespace": "default"}})


async def _cache(clock: Clock, min_events: int = 2) -> tuple[MemoryStore, WatchCache]:
    store = MemoryStore()
    cache = WatchCache(store, fresh_s=75, min_events=min_events, clock=clock)
    await cache.start()
    return store, cache


async def _create(store: MemoryStore, cache: WatchCache, *names: str) -> list[int]:
    revs = [await store.create(f"pods.default.{n}", _pod(n)) for n in names]
    await cache.wait_fresh()
    return revs


def _watch(cache: WatchCache, since: int) -> list[str]:
    w = CacheWatcher("pods", None, lambda c: True)
    cache.add_watcher(w, since)
    out = []
    while not w.queue.empty():
        item = w.queue.get_nowait()
        assert item is not None
        out.append(item[1].name)
    cache.remove_watcher(w)
    return out


async def test_events_older_than_75_s_leave_the_ring_when_a_new_one_comes() -> None:
    clock = Clock()
    store, cache = await _cache(clock)
    try:
        old = await _create(store, cache, "a", "b", "c")
        clock.now += 60
        mid = await _create(store, cache, "d")
        assert [e.new.name for e in cache.events] == ["a", "b", "c", "d"]  # all fresh yet
        clock.now += 20  # a, b and c are 80 s old, d 20 s
        await _create(store, cache, "e")
        assert [e.new.name for e in cache.events] == ["d", "e"]
        with pytest.raises(apierrors.ApiError) as gone:  # what followed a is gone too
            _watch(cache, old[0])
        assert gone.value.code == 410
        assert _watch(cache, old[2]) == ["d", "e"]  # from c's revision: nothing missing
        assert _watch(cache, mid[0]) == ["e"]
    finally:
        await cache.stop()


async def test_a_quiet_ring_is_trimmed_but_keeps_its_minimum() -> None:
    clock = Clock()
    store, cache = await _cache(clock, min_events=2)
    try:
        await _create(store, cache, *"abcde")
        rev = await store.delete("pods.default.a", int(cache.resource("pods").items[
            "pods.default.a"].rv))
        await cache.wait_fresh()
        assert len(cache.events) == 6
        clock.now += 76
        assert cache.trim() == 4  # no new event: the idle trim frees the old bytes
        assert [(e.type, e.new.name) for e in cache.events] == [("ADDED", "e"),
                                                                  ("DELETED", "a")]
        assert cache.trim() == 0  # the minimum stays, however old
        assert _watch(cache, rev) == []
    finally:
        await cache.stop()


async def test_the_count_bound_still_holds_for_fresh_events() -> None:
    clock = Clock()
    store = MemoryStore()
    cache = WatchCache(store, history=3, fresh_s=75, min_events=1, clock=clock)
    await cache.start()
    try:
        revs = await _create(store, cache, *"abcd")
        assert [e.new.name for e in cache.events] == ["b", "c", "d"]
        with pytest.raises(apierrors.ApiError):
            _watch(cache, revs[0] - 1)
        assert _watch(cache, revs[0]) == ["b", "c", "d"]
    finally:
        await cache.stop()


async def test_events_aging_out_a_few_at_a_time_give_memory_back_once_many_went() -> None:
    """Lease renewals keep coming: each trims the few events that aged out, and once a
    thousand have gone that way the free memory goes back too."""
    clock = Clock()
    store, cache = await _cache(clock, min_events=1)
    released: list[int] = []
    cache.release = lambda: released.append(len(cache.events))
    try:
        for i in range(RELEASE_AFTER + 1):
            await _create(store, cache, f"p{i}")
            clock.now += 0.07  # all within 75 s: none ages out yet
        assert len(cache.events) == RELEASE_AFTER + 1
        clock.now += 5
        went = i = 0
        while went < RELEASE_AFTER:  # one arrival a second: each ages about 14 out
            before = len(cache.events)
            await _create(store, cache, f"late{i}")
            gone = before + 1 - len(cache.events)
            assert gone < 20
            went += gone
            assert len(released) == (1 if went >= RELEASE_AFTER else 0), (went, released)
            clock.now += 1
            i += 1
    finally:
        await cache.stop()


async def test_a_trim_of_many_events_gives_free_memory_back_a_small_one_does_not() -> None:
    clock = Clock()
    store, cache = await _cache(clock, min_events=1)
    released: list[int] = []
    cache.release = lambda: released.append(len(cache.events))
    try:
        await _create(store, cache, *(f"p{i}" for i in range(RELEASE_AFTER + 1)))
        clock.now += 76
        assert cache.trim() == RELEASE_AFTER and released == [1]
        await _create(store, cache, "late")  # its arrival trims the 76 s old one
        assert [e.new.name for e in cache.events] == ["late"]
        assert released == [1]  # one event: not worth a syscall
    finally:
        await cache.stop()


async def test_the_ring_keeps_at_most_its_byte_budget_of_fresh_events() -> None:
    """Under churn, 75 s of events can be most of the API server's memory: beyond
    ``max_bytes`` of objects the oldest go however fresh, a watch from before them is 410
    Gone, and once many went the free memory goes back."""
    clock = Clock()
    store = MemoryStore()
    size = len(orjson.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "p00", "namespace": "default", "resourceVersion": "10"}}))
    cache = WatchCache(store, fresh_s=75, min_events=1, clock=clock, max_bytes=5 * size)
    released: list[int] = []
    cache.release = lambda: released.append(len(cache.events))
    await cache.start()
    try:
        revs = await _create(store, cache, *(f"p{i:02}" for i in range(12)))
        assert [e.new.name for e in cache.events] == [f"p{i:02}" for i in range(7, 12)]
        assert cache.ring_bytes == sum(len(e.new.raw) for e in cache.events) <= 5 * size
        with pytest.raises(apierrors.ApiError) as gone:
            _watch(cache, revs[5])
        assert gone.value.code == 410
        assert _watch(cache, revs[6]) == [f"p{i:02}" for i in range(7, 12)]  # none missing
        # each new event past the budget lets the oldest go: memory back after many
        await _create(store, cache, *(f"q{i:04}" for i in range(RELEASE_AFTER)))
        assert len(cache.events) <= 5 and released
    finally:
        await cache.stop()


def test_the_ring_budget_is_a_flag_in_mib_of_at_least_one() -> None:
    from jetkube.services.apiserver.main import parse_args
    from jetkube.services.apiserver.watchcache import RING_BYTES

    assert parse_args([]).watch_cache_bytes == RING_BYTES == 16 << 20
    assert parse_args(["--watch-cache-mib", "64"]).watch_cache_bytes == 64 << 20
    for bad in ("0", "-5", "lots"):
        with pytest.raises(SystemExit):
            parse_args(["--watch-cache-mib", bad])
