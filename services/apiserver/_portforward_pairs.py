"""The stream pairs of the ``portforward.k8s.io`` server (portforward.py).

Each forwarded connection is an error stream and a data stream that share a
``requestID``; ``Pair`` is what the session knows of one, and ``stream_headers`` checks
a new stream's headers as the kubelet does (pkg/cri/streaming/portforward/httpstream.go).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Final

__all__ = ["INBOUND_CHUNKS", "Pair", "stream_headers"]

INBOUND_CHUNKS: Final = 16  # client bytes queued per forwarded connection before reading pauses


@dataclass(eq=False)
class Pair:
    """The error and data streams of one forwarded connection."""

    request_id: str
    error_id: int = 0
    data_id: int = 0
    port: int = 0
    error_open: bool = False  # we may still write on the error stream
    data_open: bool = False  # ... on the data stream
    upload_done: bool = False  # the client sent FIN or RST on the data stream
    finished: bool = False
    reset: asyncio.Event = field(default_factory=asyncio.Event)
    inbound: asyncio.Queue[bytes | None] = field(default_factory=lambda: asyncio.Queue(INBOUND_CHUNKS))
    task: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None


def stream_headers(headers: dict[str, str]) -> tuple[str, int, str] | None:
    """(streamType, port, requestID) as the kubelet checks them, or None to reject the stream."""
    port, kind = headers.get("port", ""), headers.get("streamtype", "")
    digits = port.lstrip("0")  # Go's ParseUint(port, 10, 16) takes leading zeros
    if not (port.isascii() and port.isdigit()) or len(digits) > 5 or not 1 <= int(digits or "0") <= 65535:
        return None
    if kind not in ("error", "data"):
        return None
    return kind, int(digits), headers.get("requestid", "")
