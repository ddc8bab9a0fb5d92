"""A response's head and body in one write: uvicorn's httptools protocol, each answer's
writes joined.

uvicorn's ``RequestResponseCycle`` writes a response's head when the app sends
``http.response.start`` and its body when it sends ``http.response.body``: two system
calls (uvloop writes at once whatever it is given), and two TCP segments the client
reads one by one.  An answer of this server is nearly always both, sent back to back in
one turn of the loop.  :class:`OneWriteProtocol` gives each request's cycle a
:class:`_HeadHeld` in place of the connection's transport: the first write (the head)
is held, and goes with the second (the body's first bytes) in one write, or alone at the
loop's next turn when no second comes in this one (a watch's head, which its client
waits for before any event).  Every later write goes straight through.

Measured on this machine (bench/live_cost.py --face http and /proc, 2026-12-06): two
writes a create were 18-22 µs of the API server's system time per HTTP create.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["OneWriteProtocol"]


class _HeadHeld:
    """The transport a response's cycle writes to: its first write waits for the second
    (joined into one) or for the loop's next turn, whichever comes first."""

    __slots__ = ("_held", "_loop", "_transport", "_writes")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None
        self._writes = 0

    def write(self, data: bytes) -> None:
        self._writes += 1
        if self._writes == 1:
            self._held = data
            self._loop.call_soon(self._flush)
            return
        held, self._held = self._held, None
        self._transport.write(data if held is None else held + data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # anything else the cycle may ask of it
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, each request's cycle writing through a
    :class:`_HeadHeld` (the connection's own transport is the protocol's, untouched: a
    WebSocket upgrade, flow control and closing use it as before)."""

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        # (its task, started just now, runs from the loop's next turn: none has written)
        if cycle is not None and cycle.transport is self.transport:
            cycle.transport = _HeadHeld(self.transport, self.loop)  # type: ignore[assignment]
