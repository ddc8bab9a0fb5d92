"""Controller expectations (Kubernetes' ReplicaSet controller), so a stale cache never acts twice.

A controller that creates 3 pods for a ReplicaSet records "expect 3 creations
for this key" *before* it calls the API.  Until the informer has seen those 3
pods arrive (``creation_observed`` from the pod ``on_add`` handler), or the
TTL (5 minutes, measured on the :class:`~..runtime.Clock`) has passed,
``satisfied(key)`` is False and the reconcile must not compute a new diff
from the cache: the cache is known to be behind.  Deletions work the same
way; :class:`UIDTrackingExpectations` tracks *which* pods are expected to go
so a delete seen twice (watch, then relist) is counted once.

If a create call fails, the controller lowers the expectation itself
(``creation_observed``), since no add event will ever come for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..runtime import Clock, RealClock

log = logging.getLogger(__name__)

EXPECTATIONS_TTL_SECONDS = 5 * 60.0


@dataclass
class Expectation:
    add: int
    delete: int
    timestamp: float  # clock.monotonic() when set

    def fulfilled(self) -> bool:
        return self.add <= 0 and self.delete <= 0


class ControllerExpectations:
    def __init__(self, clock: Clock | None = None, *,
                 ttl_seconds: float = EXPECTATIONS_TTL_SECONDS) -> None:
        self.clock: Clock = clock or RealClock()
        self.ttl_seconds = ttl_seconds
        self._exp: dict[str, Expectation] = {}

    def get(self, key: str) -> Expectation | None:
        return self._exp.get(key)

    def satisfied(self, key: str) -> bool:
        """May the controller act on ``key`` from its cache now?

        True when nothing is recorded (a new controller or after ``delete``),
        when every expected create/delete was observed, or when the record is
        older than the TTL (the events were lost; act rather than stall).
        """
        e = self._exp.get(key)
        if e is None:
            return True
        if e.fulfilled():
            return True
        if self.expired(e):
            log.info("expectations for %s expired (add=%d delete=%d)", key, e.add, e.delete)
            return True
        return False

    def expired(self, e: Expectation) -> bool:
        return self.clock.monotonic() - e.timestamp > self.ttl_seconds

    def set(self, key: str, add: int, delete: int) -> None:
        """Replace the record for ``key`` (and restart its TTL)."""
        self._exp[key] = Expectation(add, delete, self.clock.monotonic())

    def expect_creations(self, key: str, count: int) -> None:
        self.set(key, count, 0)

    def expect_deletions(self, key: str, count: int) -> None:
        self.set(key, 0, count)

    def raise_expectations(self, key: str, add: int, delete: int) -> None:
        e = self._exp.get(key)
        if e is None:
            self.set(key, add, delete)
        else:
            e.add += add
            e.delete += delete

    def lower_expectations(self, key: str, add: int, delete: int) -> None:
        e = self._exp.get(key)
        if e is not None:
            e.add -= add
            e.delete -= delete

    def creation_observed(self, key: str) -> None:
        """One expected object arrived (or its create failed)."""
        self.lower_expectations(key, 1, 0)

    def deletion_observed(self, key: str) -> None:
        self.lower_expectations(key, 0, 1)

    def delete(self, key: str) -> None:
        """Forget ``key`` (its owner was deleted)."""
        self._exp.pop(key, None)

    def __contains__(self, key: str) -> bool:
        return key in self._exp


class UIDTrackingExpectations(ControllerExpectations):
    """Expectations that remember which objects are expected to be deleted.

    ``expect_deletions_of(key, uids)`` records the uids; ``deletion_observed(key, uid)``
    lowers the count only the first time each of them is seen.
    """

    def __init__(self, clock: Clock | None = None, *,
                 ttl_seconds: float = EXPECTATIONS_TTL_SECONDS) -> None:
        super().__init__(clock, ttl_seconds=ttl_seconds)
        self._uids: dict[str, set[str]] = {}

    def expect_deletions_of(self, key: str, uids: list[str]) -> None:
        pending = set(uids)
        self._uids[key] = pending
        self.expect_deletions(key, len(pending))

    def pending_deletions(self, key: str) -> set[str]:
        return set(self._uids.get(key, ()))

    def deletion_observed(self, key: str, uid: str | None = None) -> None:
        if uid is None:
            super().deletion_observed(key)
            return
        pending = self._uids.get(key)
        if pending is None or uid not in pending:
            return
        pending.discard(uid)
        super().deletion_observed(key)

    def delete(self, key: str) -> None:
        super().delete(key)
        self._uids.pop(key, None)
