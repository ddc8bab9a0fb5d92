"""Serving NATS request/reply in a queue group, concurrently.

Each message is handed over as soon as it is read (``store.subscribe_now``) and handled
in its own task, at most ``max_in_flight`` at once: past that, messages wait their turn
in arrival order, up to ``max_waiting`` (nats-py's own limit of a subscription's pending
messages), past which they are dropped as nats-py drops a slow consumer's.  The
handler's reply goes to the message's reply subject.  Not async iterators (nats.py
issue 541); measured here: ~14k echo/s, against 3.2-3.6k/s for the same subject served
through FastStream.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.subscription import DEFAULT_SUB_PENDING_MSGS_LIMIT

from ..store import subscribe_now

log = logging.getLogger(__name__)

Reply = tuple[bytes, dict[str, str]]
Handler = Callable[[str, dict[str, str], bytes], Awaitable[Reply]]
Accept = Callable[[str, str | None], bool]
"""``(subject, reply)``: whether to serve a message at all.  nats-server does not check
reply subjects, and JetStream publishes a consumer's deliveries wherever its creator says,
so a responder must check who can read the reply before it acts (see natsface.py)."""


class Server:
    def __init__(self, nc: NATS, subject: str, queue: str, handler: Handler, *,
                 max_in_flight: int = 1024, accept: Accept | None = None,
                 max_waiting: int = DEFAULT_SUB_PENDING_MSGS_LIMIT) -> None:
        self.nc = nc
        self.subject = subject
        self.queue = queue
        self.handler = handler
        self.accept = accept
        self.refused = 0
        """Messages dropped because ``accept`` said no."""
        self.dropped = 0
        """Messages dropped because ``max_waiting`` were already waiting."""
        self.max_in_flight = max_in_flight
        self.max_waiting = max_waiting
        self._waiting: deque[Any] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = await subscribe_now(self.nc, self.subject, self._on_msg, queue=self.queue)

    def _on_msg(self, msg: Any) -> None:
        if self.accept is not None and not self.accept(msg.subject, msg.reply):
            self.refused += 1
            if self.refused & (self.refused - 1) == 0:  # 1st, 2nd, 4th, 8th...: not a flood
                log.warning("dropped %d message(s) whose reply another identity could read; "
                            "last: %s (reply %r)", self.refused, msg.subject, msg.reply)
            return
        if len(self._tasks) < self.max_in_flight:
            self._start(msg)
        elif len(self._waiting) < self.max_waiting:
            self._waiting.append(msg)
        else:
            self.dropped += 1
            if self.dropped & (self.dropped - 1) == 0:
                log.warning("dropped %d message(s) on %s: %d in flight, %d waiting",
                            self.dropped, self.subject, len(self._tasks), len(self._waiting))

    def _start(self, msg: Any) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(msg))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._waiting and len(self._tasks) < self.max_in_flight:
            self._start(self._waiting.popleft())

    async def _serve(self, msg: Any) -> None:
        try:
            body, headers = await self.handler(msg.subject, dict(msg.headers or {}), msg.data)
            if msg.reply:
                await self.nc.publish(msg.reply, body, headers=headers)
        except Exception:  # the handler answers errors itself; this is a bug or a lost link
            log.exception("serving %s failed", msg.subject)

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
        self._waiting.clear()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
