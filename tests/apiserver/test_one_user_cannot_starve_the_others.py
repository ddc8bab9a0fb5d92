"""Per-user fairness (inflight.py): one user's flood waits in its own queue and past it
gets 429 Too Many Requests with Retry-After, while other users are served; masters and
the control plane are not counted; all users together are bounded per kind of verb.

Requests are held in flight by a handler that waits on an event the test sets, so what is
"in flight" is exact, not a matter of timing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from apiharness import make_api
from faces import asgi_request

from jetkube.services.apiserver.http import HttpApp
from jetkube.services.apiserver.inflight import InflightLimiter, InflightLimits
from jetkube.services.apiserver.request import UserInfo
from jetkube.services.machinery.apimachinery import apierrors

ALICE = UserInfo("alice", groups=("system:authenticated",))
BOB = UserInfo("bob", groups=("system:authenticated",))
ADMIN = UserInfo("admin", groups=("system:masters",))
CM = UserInfo("system:kube-controller-manager")


class Gate:
    """Holds every request in flight until :meth:`open`; counts who got in."""

    def __init__(self, limiter: InflightLimiter) -> None:
        self.limiter = limiter
        self.opened = asyncio.Event()
        self.inside: list[str] = []

    async def request(self, user: UserInfo, verb: str = "get") -> int:
        try:
            async with self.limiter.slot(user, verb):
                self.inside.append(user.name)
                await self.opened.wait()
            return 200
        except apierrors.ApiError as err:
            assert err.reason == "TooManyRequests" and err.retry_after == 1, err
            return err.code

    def open(self) -> None:
        self.opened.set()


async def until(cond: Any) -> None:
    for _ in range(1000):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_a_users_flood_queues_then_gets_429_while_another_user_is_served() -> None:
    limiter = InflightLimiter(InflightLimits(max_user_requests_inflight=2,
                                             max_user_requests_queued=3))
    gate = Gate(limiter)
    flood = [asyncio.create_task(gate.request(ALICE)) for _ in range(8)]
    await until(lambda: limiter.flows().get("alice") == (2, 3))
    # 2 run, 3 wait, the other 3 were refused at once
    assert sum(t.done() for t in flood) == 3 and {t.result() for t in flood if t.done()} == {429}
    bob = asyncio.create_task(gate.request(BOB))
    await until(lambda: "bob" in gate.inside)  # served while alice is saturated
    gate.open()
    codes = await asyncio.gather(*flood)
    assert sorted(codes) == [200] * 5 + [429] * 3
    assert await bob == 200
    assert limiter.flows() == {}, "a finished user's flow is forgotten"
    assert limiter.readonly == 0 and limiter.mutating == 0


async def test_queued_requests_get_their_slots_in_arrival_order() -> None:
    limiter = InflightLimiter(InflightLimits(max_user_requests_inflight=1))
    order: list[int] = []
    release = [asyncio.Event() for _ in range(4)]

    async def one(i: int) -> None:
        async with limiter.slot(ALICE, "create"):
            order.append(i)
            await release[i].wait()

    tasks = []
    for i in range(4):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0)  # arrive in order
    for i in range(4):
        await until(lambda i=i: order[-1:] == [i])
        assert limiter.flows()["alice"] == (1, 3 - i)
        release[i].set()
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3]


async def test_a_request_that_waits_too_long_is_refused_and_leaves_no_trace() -> None:
    limiter = InflightLimiter(InflightLimits(max_user_requests_inflight=1,
                                             max_queue_wait_seconds=0.01))
    gate = Gate(limiter)
    holder = asyncio.create_task(gate.request(ALICE))
    await until(lambda: gate.inside == ["alice"])
    assert await gate.request(ALICE) == 429  # waited 10 ms for a slot that never came
    assert limiter.flows() == {"alice": (1, 0)}
    gate.open()
    assert await holder == 200
    assert limiter.flows() == {}


async def test_a_waiter_that_goes_away_gives_up_its_place() -> None:
    limiter = InflightLimiter(InflightLimits(max_user_requests_inflight=1))
    gate = Gate(limiter)
    holder = asyncio.create_task(gate.request(ALICE))
    await until(lambda: gate.inside == ["alice"])
    leaver = asyncio.create_task(gate.request(ALICE))
    await until(lambda: limiter.flows()["alice"] == (1, 1))
    leaver.cancel()  # the client disconnected while waiting
    with pytest.raises(asyncio.CancelledError):
        await leaver
    assert limiter.flows() == {"alice": (1, 0)}
    gate.open()
    await holder
    assert limiter.flows() == {}


async def test_masters_and_the_control_plane_are_not_counted() -> None:
    limiter = InflightLimiter(InflightLimits(max_user_requests_inflight=1,
                                             max_user_requests_queued=0,
                                             max_mutating_requests_inflight=1))
    gate = Gate(limiter)
    many = [asyncio.create_task(gate.request(u, "create")) for u in (ADMIN, CM) for _ in range(5)]
    await until(lambda: len(gate.inside) == 10)
    assert limiter.flows() == {} and limiter.mutating == 0
    gate.open()
    assert await asyncio.gather(*many) == [200] * 10


async def test_all_users_together_are_bounded_per_kind_of_verb() -> None:
    limiter = InflightLimiter(InflightLimits(max_requests_inflight=1,
                                             max_mutating_requests_inflight=1))
    gate = Gate(limiter)
    first = [asyncio.create_task(gate.request(ALICE, "get")),
             asyncio.create_task(gate.request(BOB, "create"))]
    await until(lambda: len(gate.inside) == 2)
    assert await gate.request(UserInfo("carol"), "list") == 429
    assert await gate.request(UserInfo("carol"), "delete") == 429
    assert limiter.flows() == {"alice": (1, 0), "bob": (1, 0)}, "carol's refusals hold nothing"
    gate.open()
    assert await asyncio.gather(*first) == [200, 200]
    assert (limiter.readonly, limiter.mutating) == (0, 0)


async def test_the_http_face_says_429_with_retry_after_and_a_status(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('alice-token,alice,alice\nadmin-token,admin,admin,"system:masters"\n')
    api = await make_api(token_file=tokens)
    api.token = "admin-token"
    await api.ok("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "read-cm"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]})
    await api.ok("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "read-cm"},
        "subjects": [{"kind": "User", "name": "alice"}]})
    front = api.front
    front.inflight = InflightLimiter(InflightLimits(max_user_requests_inflight=1,
                                                   max_user_requests_queued=0))
    opened = asyncio.Event()
    real = front.handlers.handle

    async def held(req: Any) -> Any:
        if req.user.name == "alice":
            await opened.wait()
        return await real(req)

    front.handlers.handle = held
    app = HttpApp(front)
    alice = [(b"authorization", b"Bearer alice-token")]
    path = "/api/v1/namespaces/default/configmaps"
    first = asyncio.create_task(asgi_request(app, "GET", path, headers=alice))
    await until(lambda: front.inflight.flows().get("alice") == (1, 0))
    code, headers, body = await asgi_request(app, "GET", path, headers=alice)
    assert code == 429 and (b"retry-after", b"1") in headers
    assert b'"reason":"TooManyRequests"' in body and b'"retryAfterSeconds":1' in body
    # the admin is not held back by alice's flood
    code, _, _ = await asgi_request(app, "GET", path, headers=[(b"authorization",
                                                                b"Bearer admin-token")])
    assert code == 200
    opened.set()
    code, _, _ = await first
    assert code == 200  # alice's held request was served once let go
    assert front.inflight.flows() == {}
