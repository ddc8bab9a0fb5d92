"""``Requests`` fails a request that gets no answer in time with nats-py's TimeoutError,
through one sweep for all of them (no timer per request): each unanswered request fails
once its own wait is over and not before, an answered one is forgotten at the next sweep,
and no sweep runs while nothing waits."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats import errors as nats_errors
from nats.aio.msg import Msg

from jetkube.services.machinery.store import Requests
from jetkube.services.machinery.store import _requests as requests_module


class FakeNats:
    """What Requests uses of a connection; a reply is handed in by :meth:`answer`."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.cb: Any = None
        self.published = asyncio.Event()

    def new_inbox(self) -> str:
        return "_INBOX.test"

    async def subscribe(self, subject: str, queue: str = "", cb: Any = None) -> FakeNats:
        self.cb = cb
        return self

    async def unsubscribe(self) -> None:
        self.cb = None

    async def publish(self, subject: str, payload: bytes, reply: str = "",
                      headers: dict[str, str] | None = None) -> None:
        self.sent.append(reply)
        self.published.set()

    async def sent_at_least(self, n: int) -> None:
        while len(self.sent) < n:
            self.published.clear()
            await self.published.wait()

    async def answer(self, reply: str, data: bytes) -> None:
        await self.cb(Msg(_client=None, subject=reply, data=data))  # type: ignore[arg-type]


async def test_only_the_unanswered_request_fails_and_only_after_its_wait(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requests_module, "SWEEP_S", 0.01)
    nc = FakeNats()
    req = Requests(nc)  # type: ignore[arg-type]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    quick = asyncio.create_task(req.request("a", b"1", wait=0.05))
    slow = asyncio.create_task(req.request("b", b"2", wait=0.3))
    answered = asyncio.create_task(req.request("c", b"3", wait=0.05))
    await nc.sent_at_least(3)
    await nc.answer(nc.sent[2], b"ok")
    assert (await answered).data == b"ok"
    with pytest.raises(nats_errors.TimeoutError):
        await quick
    assert loop.time() - t0 >= 0.05
    assert not slow.done()  # its own wait is not over
    with pytest.raises(nats_errors.TimeoutError):
        await slow
    assert loop.time() - t0 >= 0.3
    assert not req._waiting


async def test_answered_requests_are_forgotten_and_no_sweep_runs_while_none_waits() -> None:
    nc = FakeNats()
    req = Requests(nc)  # type: ignore[arg-type]
    tasks = [asyncio.create_task(req.request("s", b"x", wait=30)) for _ in range(100)]
    await nc.sent_at_least(100)
    assert req._sweeper is not None  # something waits
    for reply in nc.sent:
        await nc.answer(reply, b"r")
    await asyncio.gather(*tasks)
    assert sum(len(q) for q in req._deadlines.values()) == 100  # until the next sweep
    req._sweep()
    assert req._deadlines == {} and req._sweeper is None
    await req.close()
