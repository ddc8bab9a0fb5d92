"""What a handler returns: a JSON body with a code, or a watch to stream."""

from __future__ import annotations

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
