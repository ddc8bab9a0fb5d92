"""Expectations keep a controller with a stale cache from creating the same pods twice."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson

from jetkube.services.machinery.client import (
    ControllerExpectations,
    Informer,
    UIDTrackingExpectations,
    by_owner_uid,
)
from jetkube.services.machinery.runtime import FakeClock
from jetkube.services.machinery.store import MemoryStore, WatchEvent, WatchHandler

RS_KEY = "replicasets.default.web"


class LaggingStore(MemoryStore):
    """Holds watch events back while ``lagging`` (a slow watch: the cache is behind)."""

    def __init__(self) -> None:
        super().__init__()
        self.lagging = False
        self.held: list[tuple[WatchHandler, WatchEvent]] = []

    async def watch(self, prefix: str, handler: WatchHandler, *,  # type: ignore[override]
                    since: int | None = None) -> Any:
        def maybe_hold(ev: WatchEvent) -> None:
            if self.lagging:
                self.held.append((handler, ev))
            else:
                handler(ev)
        return await super().watch(prefix, maybe_hold, since=since)

    def catch_up(self) -> None:
        self.lagging = False
        held, self.held = self.held, []
        for handler, ev in held:
            handler(ev)


class ReplicaSetish:
    """The create half of a ReplicaSet controller, with or without expectations."""

    def __init__(self, store: MemoryStore, pods: Informer[dict[str, Any]],
                 exp: ControllerExpectations | None, replicas: int = 3) -> None:
        self.store, self.pods, self.exp, self.replicas = store, pods, exp, replicas
        self.names = itertools.count()
        self.created = 0
        if exp is not None:
            pods.add_event_handler(on_add=lambda p: exp.creation_observed(RS_KEY))

    async def reconcile(self, key: str) -> None:
        if self.exp is not None and not self.exp.satisfied(key):
            return  # the cache is known to be behind: do not diff against it
        have = len(self.pods.by_index("owner", "rs-uid"))
        diff = self.replicas - have
        if diff <= 0:
            return
        if self.exp is not None:
            self.exp.expect_creations(key, diff)
        for _ in range(diff):
            name = f"web-{next(self.names)}"
            body = {"metadata": {"name": name, "namespace": "default",
                                 "ownerReferences": [{"uid": "rs-uid", "controller": True}]}}
            await self.store.create(f"pods.default.{name}", orjson.dumps(body))
            self.created += 1


async def start(store: MemoryStore) -> Informer[dict[str, Any]]:
    pods = Informer(store, "pods.")
    pods.add_indexer("owner", by_owner_uid(controller_only=True))
    pods.start()
    await pods.wait_synced()
    return pods


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_without_expectations_a_stale_cache_creates_twice() -> None:
    store = LaggingStore()
    pods = await start(store)
    rs = ReplicaSetish(store, pods, None)
    store.lagging = True
    await rs.reconcile(RS_KEY)
    await rs.reconcile(RS_KEY)  # e.g. the ReplicaSet's status changed meanwhile
    assert rs.created == 6  # the bug expectations exist to prevent
    await pods.stop()


async def test_expectations_hold_the_second_reconcile_until_the_cache_catches_up() -> None:
    clock = FakeClock()
    store = LaggingStore()
    pods = await start(store)
    exp = ControllerExpectations(clock)
    rs = ReplicaSetish(store, pods, exp)
    assert exp.satisfied(RS_KEY)  # nothing recorded yet
    store.lagging = True
    await rs.reconcile(RS_KEY)
    await rs.reconcile(RS_KEY)
    assert rs.created == 3
    assert not exp.satisfied(RS_KEY)
    store.catch_up()
    await settle()
    assert exp.satisfied(RS_KEY)
    await rs.reconcile(RS_KEY)
    assert rs.created == 3
    assert len(pods) == 3
    await pods.stop()


async def test_expectations_expire_after_five_minutes_on_the_clock() -> None:
    clock = FakeClock()
    exp = ControllerExpectations(clock)
    exp.expect_creations(RS_KEY, 2)
    exp.creation_observed(RS_KEY)
    await clock.advance(299)
    assert not exp.satisfied(RS_KEY)
    await clock.advance(2)
    assert exp.satisfied(RS_KEY)  # the events were lost: act rather than stall forever
    exp.delete(RS_KEY)
    assert RS_KEY not in exp


def test_uid_tracking_counts_each_deletion_once() -> None:
    exp = UIDTrackingExpectations(FakeClock())
    exp.expect_deletions_of(RS_KEY, ["u1", "u2"])
    exp.deletion_observed(RS_KEY, "u1")
    exp.deletion_observed(RS_KEY, "u1")  # seen by the watch, then again by a relist
    exp.deletion_observed(RS_KEY, "other")
    assert not exp.satisfied(RS_KEY)
    assert exp.pending_deletions(RS_KEY) == {"u2"}
    exp.deletion_observed(RS_KEY, "u2")
    assert exp.satisfied(RS_KEY)


def test_raise_and_lower() -> None:
    exp = ControllerExpectations(FakeClock())
    exp.raise_expectations(RS_KEY, 1, 1)
    exp.raise_expectations(RS_KEY, 1, 0)
    e = exp.get(RS_KEY)
    assert e is not None and (e.add, e.delete) == (2, 1)
    exp.lower_expectations(RS_KEY, 2, 1)
    assert exp.satisfied(RS_KEY)
