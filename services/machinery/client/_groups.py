"""Requests of one kind asked for in the same turn of the event loop go out together.

``ApiClient.create_subresource`` (a bind, a TokenRequest) and ``ApiClient.patch_together``
(a pod's status) join the group of their :data:`GroupKey` and wait.  On the loop's next
turn the groups leave: a request alone in its group is handed back to its caller, who
sends it as its own request (in its own task, with its own trace context, as before); two
or more go in one batched request (the API server's natsbatch.py), each line naming its
object and carrying its caller's ``traceparent``, and each caller gets its own answer or
its own error.  Nothing waits on purpose: the scheduler binds in background tasks and
yields every 2 ms, so the binds of one slice of cycles go in one request; hollow nodes
starting many pods at once ask for their tokens, and write their statuses, together.
Kubernetes' clients send these one by one over HTTP/2; this is the NATS face's
equivalent of many requests in flight on one connection, as the ReplicaSet controller's
batched creates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from jetkube.schemas.objects import Obj

from ..runtime.telemetry import current_traceparent

__all__ = ["GROUP_BATCH", "GROUP_BYTES", "GroupKey", "Pending", "RequestGroups"]

GROUP_BATCH = 128
"""Requests per batched request, at most (the API server takes up to 128 lines)."""
GROUP_BYTES = 256 * 1024
"""Bytes of bodies per batched request, at most (a NATS message holds 1 MiB by default);
a body bigger than this goes alone."""

GroupKey = tuple[str, str, str, str, str, bool]
"""(verb, resource, subresource or "", namespace, content type, minimal answers): what
one batched request may carry."""


@dataclass(slots=True)
class Pending:
    """One request waiting for its group to leave."""

    name: str
    """The object it addresses (a pod's name for a bind or a status patch)."""
    body: bytes
    """Its body (a Binding, a TokenRequest, a patch), encoded."""
    traceparent: str
    """Its caller's trace context when it asked ("" when there is none)."""
    answer: asyncio.Future[Obj | None]
    """The request's answer; None: alone in its group, the caller sends it itself."""


SendGroup = Callable[[GroupKey, Sequence[Pending]], Awaitable[None]]
"""Send one group's pending requests in one request and answer each one's future."""


class RequestGroups:
    def __init__(self, send: SendGroup) -> None:
        self._send = send
        self._groups: dict[GroupKey, list[Pending]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    async def join(self, key: GroupKey, name: str, body: bytes) -> Obj | None:
        """Wait for the group to leave: the request's answer, or None when it was alone
        (send it yourself).  Raises the error the request met."""
        loop = asyncio.get_running_loop()
        pending = Pending(name, body, current_traceparent() or "", loop.create_future())
        if not self._groups:
            loop.call_soon(self._leave)  # after every request asked for in this turn
        self._groups.setdefault(key, []).append(pending)
        return await pending.answer

    def _leave(self) -> None:
        groups, self._groups = self._groups, {}
        for key, group in groups.items():
            waiting = [p for p in group if not p.answer.done()]  # a cancelled caller's: not sent
            for chunk in _chunks(waiting):
                if len(chunk) == 1:
                    chunk[0].answer.set_result(None)
                    continue
                task = asyncio.get_running_loop().create_task(self._send_group(key, chunk))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _send_group(self, key: GroupKey, group: Sequence[Pending]) -> None:
        try:
            await self._send(key, group)
        except Exception as err:  # the whole request failed: each one failed with it
            for p in group:
                if not p.answer.done():
                    p.answer.set_exception(err)
        for p in group:  # never leave a caller waiting
            if not p.answer.done():
                p.answer.set_exception(RuntimeError(f"request for {p.name} was not answered"))


def _chunks(waiting: list[Pending]) -> list[list[Pending]]:
    """``waiting`` cut in order into batches of at most :data:`GROUP_BATCH` requests and
    :data:`GROUP_BYTES` bytes (one bigger body is a batch of its own)."""
    chunks: list[list[Pending]] = []
    size = 0
    for p in waiting:
        if not chunks or len(chunks[-1]) == GROUP_BATCH or size + len(p.body) > GROUP_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(p)
        size += len(p.body)
    return chunks
