"""Lease-based leader election on fake time, over a fake API client with CAS semantics."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from jetkube.services.machinery.apimachinery.apierrors import (
    ApiError,
    already_exists,
    conflict,
    not_found,
)
from jetkube.services.machinery.client import LeaderElector
from jetkube.services.machinery.runtime import FakeClock, LeaderElection

NS, NAME = "kube-system", "jetkube-scheduler"
LEASE = 15.0
RENEW = 10.0
RETRY = 2.0


class FakeLeaseApi:
    """Objects by (resource, ns, name); update is a CAS on metadata.resourceVersion."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str | None, str], dict[str, Any]] = {}
        self.rv = 0
        self.down: set[str] = set()  # identities whose calls fail (partitioned)
        self.hang: set[str] = set()  # identities whose calls never return
        self.writes: list[tuple[str, str]] = []

    def client(self, identity: str) -> _Client:
        return _Client(self, identity)

    def holder(self) -> str | None:
        o = self.objects.get(("leases", NS, NAME))
        return (o or {}).get("spec", {}).get("holderIdentity") or None


class _Client:
    def __init__(self, api: FakeLeaseApi, identity: str) -> None:
        self.api, self.identity = api, identity

    async def _gate(self) -> None:
        if self.identity in self.api.hang:
            await asyncio.Event().wait()
        if self.identity in self.api.down:
            raise ApiError(503, "ServiceUnavailable", "no API server answered")

    async def get(self, resource: str, namespace: str | None, name: str) -> dict[str, Any]:
        await self._gate()
        o = self.api.objects.get((resource, namespace, name))
        if o is None:
            raise not_found(resource, name)
        return copy.deepcopy(o)

    async def create(self, resource: str, namespace: str | None,
                     body: dict[str, Any]) -> dict[str, Any]:
        await self._gate()
        key = (resource, namespace, body["metadata"]["name"])
        if key in self.api.objects:
            raise already_exists(resource, key[2])
        self.api.rv += 1
        o = copy.deepcopy(body)
        o["metadata"]["resourceVersion"] = str(self.api.rv)
        self.api.objects[key] = o
        self.api.writes.append((self.identity, "create"))
        return copy.deepcopy(o)

    async def update(self, resource: str, namespace: str | None, name: str,
                     body: dict[str, Any]) -> dict[str, Any]:
        await self._gate()
        key = (resource, namespace, name)
        cur = self.api.objects.get(key)
        if cur is None:
            raise not_found(resource, name)
        if body["metadata"].get("resourceVersion") != cur["metadata"]["resourceVersion"]:
            raise conflict(resource, name)
        self.api.rv += 1
        o = copy.deepcopy(body)
        o["metadata"]["resourceVersion"] = str(self.api.rv)
        self.api.objects[key] = o
        self.api.writes.append((self.identity, "update"))
        return copy.deepcopy(o)


class Candidate:
    def __init__(self, api: FakeLeaseApi, clock: FakeClock, identity: str,
                 jitter: float = 0.0) -> None:
        self.identity = identity
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self.work_cancelled = False
        self.clock = clock
        settings = LeaderElection(lease_duration_seconds=LEASE, renew_deadline_seconds=RENEW,
                                  retry_period_seconds=RETRY, jitter_factor=jitter)
        self.elector = LeaderElector(api.client(identity), NS, NAME, identity, clock,
                                     self.lead, self.stop, settings=settings)
        self.task: asyncio.Task[None] = asyncio.create_task(self.elector.run())

    async def lead(self) -> None:
        self.started_at = self.clock.monotonic()
        try:
            await asyncio.Event().wait()  # the controllers run here
        except asyncio.CancelledError:
            self.work_cancelled = True
            raise

    def stop(self) -> None:
        self.stopped_at = self.clock.monotonic()


async def test_one_leader_and_standby_takes_over_within_the_lease_when_leader_dies() -> None:
    clock = FakeClock()
    api = FakeLeaseApi()
    a = Candidate(api, clock, "sched-a")
    await clock.settle()
    b = Candidate(api, clock, "sched-b")
    await clock.advance(30)
    assert a.elector.is_leader and not b.elector.is_leader
    assert api.holder() == "sched-a" and a.started_at == 0
    assert b.elector.leader == "sched-a"

    # the leader's process freezes: it stops renewing (and cannot release)
    api.hang.add("sched-a")
    a.task.cancel()
    stopped_renewing = clock.monotonic()
    while not b.elector.is_leader:
        await clock.advance(0.5)
        assert clock.monotonic() - stopped_renewing <= LEASE + 2 * RETRY, "standby too slow"
    assert api.holder() == "sched-b"
    assert clock.monotonic() - stopped_renewing >= LEASE - RETRY  # not before the lease ran out
    lease = api.objects[("leases", NS, NAME)]["spec"]
    assert lease["leaseTransitions"] == 1 and lease["leaseDurationSeconds"] == 15
    assert lease["acquireTime"].endswith("Z") and lease["renewTime"] >= lease["acquireTime"]
    b.task.cancel()
    await asyncio.gather(a.task, b.task, return_exceptions=True)


async def test_leader_that_cannot_renew_stops_leading_before_anyone_can_take_over() -> None:
    clock = FakeClock()
    api = FakeLeaseApi()
    a = Candidate(api, clock, "cm-a")
    await clock.advance(1)
    assert a.elector.is_leader
    await clock.advance(20)  # renewing fine
    assert a.stopped_at is None
    api.down.add("cm-a")  # partitioned from the API server
    lost_at = clock.monotonic()
    await clock.advance(RENEW + RETRY + 1)
    assert a.task.done()  # run() returned: the process should now exit
    assert not a.elector.is_leader and a.work_cancelled
    assert a.stopped_at is not None
    assert a.stopped_at - lost_at <= RENEW + RETRY  # within the renew deadline of the last renew
    assert a.stopped_at - lost_at < LEASE  # before a standby could take the lease


async def test_leader_whose_renew_call_hangs_also_stops_at_the_deadline() -> None:
    clock = FakeClock()
    api = FakeLeaseApi()
    a = Candidate(api, clock, "cm-a")
    await clock.advance(1)
    api.hang.add("cm-a")
    last = clock.monotonic()
    await clock.advance(RENEW + RETRY + 1)
    assert a.task.done() and a.stopped_at is not None
    assert a.stopped_at - last <= RENEW + RETRY


async def test_cancelled_leader_releases_the_lease_so_standby_takes_over_fast() -> None:
    clock = FakeClock()
    api = FakeLeaseApi()
    a = Candidate(api, clock, "a")
    await clock.advance(1)
    b = Candidate(api, clock, "b")
    await clock.advance(5)
    a.task.cancel()
    await clock.settle()
    assert api.holder() is None and a.stopped_at is not None
    released = clock.monotonic()
    while not b.elector.is_leader:
        await clock.advance(0.5)
    assert clock.monotonic() - released <= RETRY
    b.task.cancel()
    await asyncio.gather(a.task, b.task, return_exceptions=True)


async def test_two_candidates_racing_on_an_empty_lease_get_exactly_one_leader() -> None:
    clock = FakeClock()
    api = FakeLeaseApi()
    cands = [Candidate(api, clock, f"c{i}", jitter=1.2) for i in range(5)]
    for _ in range(20):
        await clock.advance(3)
        assert sum(c.elector.is_leader for c in cands) == 1
    for c in cands:
        c.task.cancel()
    await asyncio.gather(*(c.task for c in cands), return_exceptions=True)


def test_settings_reject_a_renew_deadline_longer_than_the_lease() -> None:
    with pytest.raises(ValueError, match="lease_duration_seconds must be greater"):
        LeaderElection(lease_duration_seconds=10, renew_deadline_seconds=10)
