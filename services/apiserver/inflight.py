"""Requests in flight, bounded per user and in total, so one client cannot starve the others.

kube-apiserver bounds requests in flight (``--max-requests-inflight`` 400 read-only,
``--max-mutating-requests-inflight`` 200) and answers past the bound with 429 Too Many
Requests and ``Retry-After: 1``; API Priority and Fairness adds a queue per flow (per user)
so a flood from one user waits in its own queue while the others go on.  This is both,
kept small:

- each user may run ``max_user_requests_inflight`` requests at once; the next ones wait in
  that user's own queue (first come, first served), ``max_user_requests_queued`` of them at
  most, for ``max_queue_wait_seconds`` at most; past either bound, 429 with Retry-After;
- all users together may run ``max_requests_inflight`` read-only and
  ``max_mutating_requests_inflight`` mutating requests; past those, 429 at once;
- as kube-apiserver's max-in-flight filter, members of ``system:masters`` are not counted;
  nor are the control-plane components listed in :data:`EXEMPT_USERS`, which batch by
  design (a ReplicaSet's slow-start batch reaches 256 concurrent creates).

A request holds its slot while the front door serves it: authentication is done, the body
is read (bounded by ``MAX_BODY``), decoding and the store write are inside.  A watch or a
followed log holds it only until its stream starts (kube-apiserver does not count such
long-running requests either).  Both faces share one limiter: over NATS the user is the
sender's bus identity.
"""

from __future__ import annotations

import asyncio
from collections import deque
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field

from ..machinery.apimachinery import MASTERS_GROUP, apierrors
from .request import UserInfo

__all__ = ["EXEMPT_USERS", "MUTATING_VERBS", "InflightLimiter", "InflightLimits"]

MUTATING_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})

EXEMPT_USERS = frozenset({"system:kube-controller-manager", "system:kube-scheduler"})
"""Users never counted (with the members of ``system:masters``): the control plane's own
components, whose requests are the cluster working (APF puts them at a high level)."""


@dataclass(frozen=True, slots=True)
class InflightLimits:
    """The bounds (``jetkube-apiserver --max-requests-inflight`` and friends); 0 is none."""

    max_requests_inflight: int = 400
    """Read-only requests (get, list, a watch until it starts) running at once, all users
    together (kube-apiserver's default)."""
    max_mutating_requests_inflight: int = 200
    """Mutating requests (create, update, patch, delete, deletecollection) running at once,
    all users together (kube-apiserver's default)."""
    max_user_requests_inflight: int = 50
    """Requests of one user running at once (about the seats APF's global-default level
    has for all its users together)."""
    max_user_requests_queued: int = 100
    """Requests of one user waiting for one of its slots; the next is refused at once."""
    max_queue_wait_seconds: float = 10.0
    """How long a request waits in its user's queue before it is refused."""
    retry_after_seconds: int = 1
    """The ``Retry-After`` a refused request is told (kube-apiserver says 1)."""


def too_many_requests(message: str, retry_after: int) -> apierrors.ApiError:
    """kube-apiserver's 429: reason TooManyRequests, ``retryAfterSeconds`` in the details
    (the HTTP face sends it as ``Retry-After`` too)."""
    return apierrors.ApiError(429, "TooManyRequests", message,
                              {"retryAfterSeconds": retry_after})


@dataclass(slots=True)
class _Flow:
    """One user's slots: how many run, who waits (futures resolved in order)."""

    running: int = 0
    waiting: deque[asyncio.Future[None]] = field(default_factory=deque)


class InflightLimiter:
    def __init__(self, limits: InflightLimits | None = None) -> None:
        self.limits = limits or InflightLimits()
        self._flows: dict[str, _Flow] = {}
        self.readonly = 0
        self.mutating = 0

    @staticmethod
    def exempt(user: UserInfo) -> bool:
        return user.name in EXEMPT_USERS or MASTERS_GROUP in user.groups

    def flows(self) -> dict[str, tuple[int, int]]:
        """Per user with requests now: (running, waiting) — for tests and debugging."""
        return {u: (f.running, len(f.waiting)) for u, f in self._flows.items()}

    def slot(self, user: UserInfo, verb: str) -> AbstractAsyncContextManager[None]:
        """``async with`` it: hold one slot for ``user``'s request while the block runs, or
        raise 429 (a class, not an ``@asynccontextmanager``: it is on every request)."""
        return _EXEMPT if self.exempt(user) else _Slot(self, user.name, verb in MUTATING_VERBS)

    def _refuse(self, why: str) -> apierrors.ApiError:
        return too_many_requests(f"Too many requests, please try again later: {why}",
                                 self.limits.retry_after_seconds)

    def _take_global(self, mutating: bool) -> None:
        lim = self.limits
        if mutating:
            if lim.max_mutating_requests_inflight and (
                    self.mutating >= lim.max_mutating_requests_inflight):
                raise self._refuse(f"{self.mutating} mutating requests are in flight "
                                   f"(--max-mutating-requests-inflight)")
            self.mutating += 1
        else:
            if lim.max_requests_inflight and self.readonly >= lim.max_requests_inflight:
                raise self._refuse(f"{self.readonly} read-only requests are in flight "
                                   f"(--max-requests-inflight)")
            self.readonly += 1

    async def _enter_flow(self, user: str) -> None:
        lim = self.limits
        flow = self._flows.get(user)
        if flow is None:
            flow = self._flows[user] = _Flow()
        if not lim.max_user_requests_inflight or flow.running < lim.max_user_requests_inflight:
            flow.running += 1
            return
        if len(flow.waiting) >= lim.max_user_requests_queued:
            raise self._refuse(f"user {user!r} has {flow.running} requests in flight and "
                               f"{len(flow.waiting)} waiting")
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        flow.waiting.append(turn)
        try:
            await asyncio.wait_for(asyncio.shield(turn), lim.max_queue_wait_seconds)
        except (TimeoutError, asyncio.CancelledError) as err:
            if turn.done() and not turn.cancelled():  # handed a slot just now: give it back
                self._leave_flow(user)
            else:
                turn.cancel()
                self._forget(user, flow, turn)
            if isinstance(err, asyncio.CancelledError):
                raise
            raise self._refuse(f"user {user!r} waited {lim.max_queue_wait_seconds:g}s "
                               "for one of its slots") from None
        # the slot was handed over by _leave_flow: running already counts it

    def _forget(self, user: str, flow: _Flow, turn: asyncio.Future[None]) -> None:
        try:
            flow.waiting.remove(turn)
        except ValueError:
            pass
        if not flow.running and not flow.waiting:
            self._flows.pop(user, None)

    def _leave_flow(self, user: str) -> None:
        flow = self._flows[user]
        while flow.waiting:
            turn = flow.waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes to the first waiter
                return
        flow.running -= 1
        if not flow.running:
            del self._flows[user]


class _Slot(AbstractAsyncContextManager[None]):
    """One request's slot: its user's flow, then the global bound of its kind."""

    __slots__ = ("_limiter", "_mutating", "_user")

    def __init__(self, limiter: InflightLimiter, user: str, mutating: bool) -> None:
        self._limiter = limiter
        self._user = user
        self._mutating = mutating

    async def __aenter__(self) -> None:
        await self._limiter._enter_flow(self._user)
        try:
            self._limiter._take_global(self._mutating)
        except BaseException:
            self._limiter._leave_flow(self._user)
            raise

    async def __aexit__(self, *exc: object) -> None:
        lim = self._limiter
        if self._mutating:
            lim.mutating -= 1
        else:
            lim.readonly -= 1
        lim._leave_flow(self._user)


class _Unbounded(AbstractAsyncContextManager[None]):
    """The slot of an exempt user: nothing is counted."""

    __slots__ = ()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


_EXEMPT = _Unbounded()
