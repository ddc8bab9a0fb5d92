"""What a handler returns: a JSON body with a code, a watch, or a body to stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from .watchcache import CacheWatcher


@dataclass(slots=True)
class Response:
    code: int
    body: bytes
    content_type: str = "application/json"


@dataclass(slots=True)
class WatchResponse:
    watcher: CacheWatcher
    bookmarks: bool
    timeout: float | None
    kind: str
    api_version: str


@dataclass(slots=True)
class StreamResponse:
    """A 200 whose body is written (chunked) as ``chunks`` yields it, e.g. ``pods/log``
    with ``follow=true``; closed when the client goes away."""

    chunks: AsyncIterator[bytes]
    content_type: str = "text/plain"
