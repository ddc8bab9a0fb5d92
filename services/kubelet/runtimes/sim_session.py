"""The sim runtime's interactive session: an echo, so streams are testable without Docker.

Whatever the command (exec) or the container (attach), the session behaves like ``cat``:
each stdin write comes back on STDOUT as it was written, a resize is recorded and
echoed as a line ``resize WxH`` on STDERR (so tests see it arrive), and the output ends
when stdin is closed (or at once without stdin).  The exit code is the pod's
``jetkube.io/sim-exec-exit-code`` (sim.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from ..runtime import STDERR, STDOUT

_END = None


class SimSession:
    """The runtime's :class:`StreamSession` for sim containers (see the module doc)."""

    def __init__(self, *, stdin: bool, code: int | None, room: int = 64) -> None:
        self._queue: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue(room)
        self._code = code
        self.sizes: list[tuple[int, int]] = []
        if not stdin:
            self._queue.put_nowait(_END)

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        while (item := await self._queue.get()) is not _END:
            yield item

    async def write(self, data: bytes) -> None:
        await self._queue.put((STDOUT, data))  # waits while the reader lags: backpressure

    async def close_stdin(self) -> None:
        await self._queue.put(_END)

    async def resize(self, width: int, height: int) -> None:
        self.sizes.append((width, height))
        await self._queue.put((STDERR, f"resize {width}x{height}\n".encode()))

    async def exit_code(self) -> int | None:
        return self._code

    async def close(self) -> None:
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_END)


__all__ = ["SimSession"]
