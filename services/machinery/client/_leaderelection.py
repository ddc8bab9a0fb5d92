"""Lease-based leader election (client-go's ``leaderelection``), over the API server.

Candidates race for one ``coordination.k8s.io/v1`` Lease.  Every write is a
compare-and-swap (the Lease's ``metadata.resourceVersion``), so two
candidates can never both think they took it.

- **Acquire**: every ``retry_period`` (jittered) a candidate reads the Lease.
  It takes it if nobody holds it, or if the record has not changed for
  ``lease_duration`` *as observed on the candidate's own monotonic clock*
  (times written in the Lease are informational, so clock skew between
  machines does not matter).
- **Renew**: the leader rewrites ``renewTime`` every ``retry_period``.  If
  no renewal succeeds within ``renew_deadline`` (< lease duration) it stops
  leading: cancels the ``on_started_leading`` task and calls
  ``on_stopped_leading``; ``run()`` returns.  The caller campaigns again with fresh
  state (machinery/service ``lead_forever``); it never exits for that.
- **Release**: when ``run()`` is cancelled while leading and
  ``release_on_cancel`` is set, the Lease is handed back (empty holder), so
  a standby takes over at its next retry instead of after the lease duration.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import inspect
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Protocol

from jetkube.schemas import format_micro_time
from jetkube.schemas.objects import Obj

from ..apimachinery.apierrors import ApiError
from ..runtime import Clock, LeaderElection, wait_for

log = logging.getLogger(__name__)

LEASES = "leases"


class LeaseClient(Protocol):
    """The part of the API client leader election uses; raises ApiError 404/409."""

    async def get(self, resource: str, namespace: str | None, name: str) -> Obj: ...

    async def create(self, resource: str, namespace: str | None, body: Obj) -> Obj: ...

    async def update(self, resource: str, namespace: str | None, name: str, body: Obj) -> Obj: ...


class LeaderElector:
    def __init__(
        self,
        client: LeaseClient,
        namespace: str,
        name: str,
        identity: str,
        clock: Clock,
        on_started_leading: Callable[[], Awaitable[None]],
        on_stopped_leading: Callable[[], Awaitable[None] | None],
        *,
        settings: LeaderElection | None = None,
        on_new_leader: Callable[[str], None] | None = None,
        release_on_cancel: bool = True,
        rng: random.Random | None = None,
    ) -> None:
        if not identity:
            raise ValueError("leader election needs a non-empty identity")
        self.client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.clock = clock
        self.on_started_leading = on_started_leading
        self.on_stopped_leading = on_stopped_leading
        self.on_new_leader = on_new_leader
        self.settings = settings or LeaderElection()
        self.release_on_cancel = release_on_cancel
        self._rng = rng or random.Random()
        self._observed: Obj | None = None  # the last Lease spec seen
        self._observed_rv: str | None = None
        self._observed_at = 0.0  # clock.monotonic() when the spec last changed
        self._is_leader = False
        self._reported_leader: str | None = None

    @property
    def is_leader(self) -> bool:
        return self._is_leader

    @property
    def leader(self) -> str | None:
        """The holder this candidate last observed."""
        return (self._observed or {}).get("holderIdentity") or None

    # --- one attempt ----------------------------------------------------------------

    def _spec(self, prev: Obj | None) -> Obj:
        now = format_micro_time(self.clock.now())
        s = self.settings
        spec: Obj = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, round(s.lease_duration_seconds)),
            "acquireTime": now,
            "renewTime": now,
            "leaseTransitions": 0,
        }
        if prev:
            transitions = int(prev.get("leaseTransitions") or 0)
            if prev.get("holderIdentity") == self.identity:
                spec["acquireTime"] = prev.get("acquireTime") or now
                spec["leaseTransitions"] = transitions
            else:
                spec["leaseTransitions"] = transitions + 1
        return spec

    def _observe(self, spec: Obj, rv: str | None) -> None:
        if spec != self._observed:
            self._observed = copy.deepcopy(spec)
            self._observed_at = self.clock.monotonic()
        self._observed_rv = rv
        holder = spec.get("holderIdentity") or None
        if holder and holder != self._reported_leader:
            self._reported_leader = holder
            if self.on_new_leader is not None:
                try:
                    self.on_new_leader(holder)
                except Exception:
                    log.exception("on_new_leader failed")

    async def try_acquire_or_renew(self) -> bool:
        """One read-and-CAS attempt; True if this candidate holds the Lease afterwards."""
        try:
            lease = await self.client.get(LEASES, self.namespace, self.name)
        except ApiError as err:
            if err.code != 404:
                raise
            body: Obj = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                         "metadata": {"name": self.name, "namespace": self.namespace},
                         "spec": self._spec(None)}
            try:
                created = await self.client.create(LEASES, self.namespace, body)
            except ApiError as cerr:
                if cerr.code == 409:
                    return False
                raise
            self._observe(created.get("spec") or body["spec"],
                          (created.get("metadata") or {}).get("resourceVersion"))
            return True
        spec: Obj = lease.get("spec") or {}
        md: Obj = lease.get("metadata") or {}
        self._observe(spec, md.get("resourceVersion"))
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self.settings.lease_duration_seconds)
        if (holder and holder != self.identity
                and self._observed_at + duration > self.clock.monotonic()):
            return False  # held by someone else and not expired
        new: Obj = copy.deepcopy(lease)
        new["spec"] = self._spec(spec)
        try:
            updated = await self.client.update(LEASES, self.namespace, self.name, new)
        except ApiError as err:
            if err.code in (404, 409):
                return False
            raise
        self._observe(updated.get("spec") or new["spec"],
                      (updated.get("metadata") or {}).get("resourceVersion"))
        return True

    async def _attempt(self, budget: float) -> bool:
        try:
            return await wait_for(self.clock, self.try_acquire_or_renew(), budget)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.warning("lease %s/%s: attempt failed: %s", self.namespace, self.name, err)
            return False

    # --- the loop -----------------------------------------------------------------

    async def _acquire(self) -> None:
        s = self.settings
        while True:
            if await self._attempt(s.renew_deadline_seconds):
                return
            jitter = self._rng.random() * s.jitter_factor if s.jitter_factor > 0 else 0.0
            await self.clock.sleep(s.retry_period_seconds * (1.0 + jitter))

    async def _renew_until_lost(self) -> None:
        s = self.settings
        last_ok = self.clock.monotonic()
        while True:
            await self.clock.sleep(s.retry_period_seconds)
            while True:
                left = last_ok + s.renew_deadline_seconds - self.clock.monotonic()
                if left <= 0:
                    log.error("lease %s/%s: failed to renew within %.1fs; stopping leading",
                              self.namespace, self.name, s.renew_deadline_seconds)
                    return
                if await self._attempt(left):
                    last_ok = self.clock.monotonic()
                    break
                if self.leader not in (None, self.identity):
                    log.error("lease %s/%s: taken by %s; stopping leading",
                              self.namespace, self.name, self.leader)
                    return
                left = last_ok + s.renew_deadline_seconds - self.clock.monotonic()
                await self.clock.sleep(min(s.retry_period_seconds, max(0.0, left)))

    async def run(self) -> None:
        """Acquire, lead until the Lease is lost (or this task is cancelled), then return."""
        await self._acquire()
        self._is_leader = True
        log.info("lease %s/%s: %s started leading", self.namespace, self.name, self.identity)
        work: asyncio.Future[None] = asyncio.ensure_future(self.on_started_leading())
        work.add_done_callback(_log_crash)
        try:
            await self._renew_until_lost()
        finally:
            self._is_leader = False
            work.cancel()
            with contextlib.suppress(BaseException):
                await work
            cancelled = _being_cancelled()
            if cancelled and self.release_on_cancel:
                await self._release()
            await self._stopped()

    async def _stopped(self) -> None:
        log.info("lease %s/%s: %s stopped leading", self.namespace, self.name, self.identity)
        try:
            res = self.on_stopped_leading()
            if inspect.isawaitable(res):
                await res
        except Exception:
            log.exception("on_stopped_leading failed")

    async def _release(self) -> None:
        """Hand the Lease back if this candidate still holds the version it wrote last."""
        if not self._observed or self._observed.get("holderIdentity") != self.identity:
            return
        with contextlib.suppress(Exception):
            lease = await wait_for(self.clock, self.client.get(LEASES, self.namespace, self.name),
                                   self.settings.retry_period_seconds)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            body = copy.deepcopy(lease)
            now = format_micro_time(self.clock.now())
            body["spec"] = {**spec, "holderIdentity": "", "leaseDurationSeconds": 1,
                            "renewTime": now, "acquireTime": now}
            await wait_for(self.clock,
                           self.client.update(LEASES, self.namespace, self.name, body),
                           self.settings.retry_period_seconds)
            log.info("lease %s/%s: released", self.namespace, self.name)


def _log_crash(fut: asyncio.Future[None]) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("on_started_leading failed", exc_info=fut.exception())


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
