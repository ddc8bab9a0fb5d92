"""Serving NATS request/reply in a queue group, concurrently, with nats-py callbacks.

Each message is handled in its own task (bounded: past ``max_in_flight`` the
subscription callback waits, which is backpressure on the socket), and the
handler's reply goes to the message's reply subject.  Callbacks, not async
iterators (nats.py issue 541); measured here: ~14k echo/s, against 3.2-3.6k/s
for the same subject served through FastStream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nats.aio.client import Client as NATS

log = logging.getLogger(__name__)

Reply = tuple[bytes, dict[str, str]]
Handler = Callable[[str, dict[str, str], bytes], Awaitable[Reply]]
Accept = Callable[[str, str | None], bool]
"""``(subject, reply)``: whether to serve a message at all.  nats-server does not check
reply subjects, and JetStream publishes a consumer's deliveries wherever its creator says,
so a responder must check who can read the reply before it acts (see natsface.py)."""


class Server:
    def __init__(self, nc: NATS, subject: str, queue: str, handler: Handler, *,
                 max_in_flight: int = 1024, accept: Accept | None = None) -> None:
        self.nc = nc
        self.subject = subject
        self.queue = queue
        self.handler = handler
        self.accept = accept
        self.refused = 0
        """Messages dropped because ``accept`` said no."""
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task[None]] = set()
        self._sub: Any = None

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self.subject, queue=self.queue, cb=self._on_msg)

    async def _on_msg(self, msg: Any) -> None:
        if self.accept is not None and not self.accept(msg.subject, msg.reply):
            self.refused += 1
            if self.refused & (self.refused - 1) == 0:  # 1st, 2nd, 4th, 8th...: not a flood
                log.warning("dropped %d message(s) whose reply another identity could read; "
                            "last: %s (reply %r)", self.refused, msg.subject, msg.reply)
            return
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._serve(msg))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, msg: Any) -> None:
        try:
            body, headers = await self.handler(msg.subject, dict(msg.headers or {}), msg.data)
            if msg.reply:
                await self.nc.publish(msg.reply, body, headers=headers)
        except Exception:  # the handler answers errors itself; this is a bug or a lost link
            log.exception("serving %s failed", msg.subject)
        finally:
            self._slots.release()

    async def stop(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
