"""A :class:`~.runtime.StreamSession` over one asyncio stream pair: bytes in, bytes out.

Port-forward's connection to the pod (sessions.py) is exactly this; Docker's hijacked exec
and attach connections (runtimes/docker_session.py) build on it, demultiplexing output
when there is no tty.  Closing stdin is the socket's half-close (``write_eof``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from .runtime import STDOUT

READ = 64 * 1024


class SocketSession:
    """Raw bytes both ways; no terminal, no exit code (see the module doc)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        with contextlib.suppress(ConnectionError):
            while chunk := await self.reader.read(READ):
                yield STDOUT, chunk

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def close_stdin(self) -> None:
        with contextlib.suppress(OSError, RuntimeError):
            if self.writer.can_write_eof():
                self.writer.write_eof()

    async def resize(self, width: int, height: int) -> None:
        return None

    async def exit_code(self) -> int | None:
        return None

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


__all__ = ["READ", "SocketSession"]
