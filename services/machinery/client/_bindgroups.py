"""Binds asked for in the same turn of the event loop go out together.

``ApiClient.bind`` joins its namespace's group and waits.  On the loop's next turn the
groups leave: a bind alone in its group is handed back to its caller, who sends it as its
own request (in its own task, with its own trace context, as before); two or more go in
one batched create of ``pods/binding`` (the API server's natsbatch.py), each line naming
its pod and carrying its caller's ``traceparent``, and each caller gets its own answer or
its own error.  Nothing waits on purpose: the scheduler binds in background tasks and
yields every 2 ms, so the binds of one slice of cycles go in one request instead of one
each (kube-scheduler sends one per pod over HTTP/2; this is the NATS face's equivalent of
many requests in flight on one connection, as the ReplicaSet controller's creates).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from jetkube.schemas.objects import Obj

from ..runtime.telemetry import current_traceparent

__all__ = ["BIND_BATCH", "BindGroups", "Pending"]

BIND_BATCH = 128
"""Binds per batched request, at most (the API server takes up to 128 lines)."""


@dataclass(slots=True)
class Pending:
    """One bind waiting for its group to leave."""

    name: str
    """The pod's name."""
    body: bytes
    """The Binding, encoded."""
    traceparent: str
    """Its caller's trace context when it asked ("" when there is none)."""
    answer: asyncio.Future[Obj | None]
    """The bind's answer; None: alone in its group, the caller sends it itself."""


SendGroup = Callable[[str, Sequence[Pending]], Awaitable[None]]
"""Send a namespace's pending binds in one request and answer each one's future."""


class BindGroups:
    def __init__(self, send: SendGroup) -> None:
        self._send = send
        self._groups: dict[str, list[Pending]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self, namespace: str, name: str, body: bytes) -> Obj | None:
        """Wait for the group to leave: the bind's answer, or None when it was alone (send
        it yourself).  Raises the error the bind met."""
        loop = asyncio.get_running_loop()
        pending = Pending(name, body, current_traceparent() or "", loop.create_future())
        if not self._groups:
            loop.call_soon(self._leave)  # after every bind asked for in this turn
        self._groups.setdefault(namespace, []).append(pending)
        return await pending.answer

    def _leave(self) -> None:
        groups, self._groups = self._groups, {}
        for namespace, group in groups.items():
            waiting = [p for p in group if not p.answer.done()]  # a cancelled caller's: not sent
            if len(waiting) == 1:
                waiting[0].answer.set_result(None)
                continue
            for start in range(0, len(waiting), BIND_BATCH):
                task = asyncio.get_running_loop().create_task(
                    self._send_group(namespace, waiting[start:start + BIND_BATCH]))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send_group(self, namespace: str, group: Sequence[Pending]) -> None:
        try:
            await self._send(namespace, group)
        except Exception as err:  # the whole request failed: each bind failed with it
            for p in group:
                if not p.answer.done():
                    p.answer.set_exception(err)
        for p in group:  # never leave a caller waiting
            if not p.answer.done():
                p.answer.set_exception(RuntimeError(f"bind of {p.name} was not answered"))
