"""Container exits on Docker, as the node's event stream reports them.

Each ``die`` event of one of the node's containers (docker_events.NodeEvents picks
them out of the node's one stream) is handed to every ``on_exit`` handler as a
ContainerInfo (exit code, reason, start and finish times).  For a container this
runtime started (``started``) the event says what is missing: its exit code and
time (docker_convert.exit_info), so no call; else, or when only an inspect can tell
(137: SIGKILL, maybe the OOM killer), ``inspect`` reads the container, and when it
is gone already the event alone says what it can.  A handler may be a coroutine
function (awaited); one that fails is logged and does not keep the others from
hearing.  Nothing polls: the stream reconnects and replays what it missed
(docker_events.EventReader).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..runtime import ContainerInfo, ExitHandler, RuntimeError_
from . import docker_convert as conv

log = logging.getLogger(__name__)


class Exits:
    """The runtime's exit handlers and the deliveries under way; ``inspect`` is the
    runtime's (one Engine API call)."""

    def __init__(self, inspect_container: Callable[[str], Awaitable[ContainerInfo]]) -> None:
        self.handlers: list[ExitHandler] = []
        self._inspect = inspect_container
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._started: dict[str, ContainerInfo] = {}  # by id: as create_and_start answered

    def add(self, handler: ExitHandler) -> None:
        self.handlers.append(handler)

    def started(self, info: ContainerInfo) -> None:
        """``info`` is running now, as the runtime started (or found) it."""
        self._started[info.id] = info

    def removed(self, container_id: str) -> None:
        self._started.pop(container_id, None)

    def deliver(self, event: dict[str, Any]) -> None:
        """The stream's exit consumer (on the loop): a ``die`` of one of the node's
        containers.  Heard by nobody (no handler yet): not even inspected."""
        started = self._started.pop(str(event.get("id", "")), None)
        if self._closing or not self.handlers:
            return
        info = conv.exit_info(event, started) if started is not None else None
        task = asyncio.get_running_loop().create_task(self._dispatch(event, info))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch(self, event: dict[str, Any], info: ContainerInfo | None) -> None:
        if info is None:
            try:
                info = await self._inspect(str(event.get("id", "")))
            except RuntimeError_:
                info = conv.event_info(event)  # removed already: what the event says
        for handler in list(self.handlers):
            try:
                result = handler(info)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("exit handler failed for container %s", info.id[:12])

    def close(self) -> None:
        """Deliver nothing more; cancel the deliveries under way."""
        self._closing = True
        for task in list(self._tasks):
            task.cancel()


__all__ = ["Exits"]
