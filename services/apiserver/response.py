"""What a handler returns: a JSON body with a code, a watch, or a body to stream; and the
warnings a request collects on the way (Kubernetes' ``Warning`` response headers).

A write asked for with ``Prefer: return=minimal`` (RFC 7240; the NATS face's callers
that read nothing of the answer but its identity: the node agents' status writes, the
ReplicaSet controller's and the event recorder's creates) is answered with the written
object's :func:`object_identity` only: the object is not encoded whole, nor carried on
the bus, nor decoded by its caller.  The write itself is the same.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from ..machinery.apimachinery.apierrors import ApiError
from .tables import TableForm
from .watchcache import CacheWatcher


@dataclass(slots=True)
class Response:
    code: int
    body: bytes
    content_type: str = "application/json"
    retry_after: int | None = None
    """Seconds for a ``Retry-After`` header (a 429, or a 503 from the store)."""


IDENTITY_FIELDS = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
"""The ``metadata`` fields a minimal answer keeps."""


def object_identity(obj: Any) -> dict[str, Any]:
    """An object's identity: apiVersion, kind and :data:`IDENTITY_FIELDS` of ``metadata``."""
    md = obj.get("metadata") or {}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "metadata": {k: md[k] for k in IDENTITY_FIELDS if k in md}}


def written(code: int, obj: Any, minimal: bool = False, raw: bytes | None = None) -> Response:
    """A write's answer: the object written (``raw``: its encoding, when the write has it
    already), or (``minimal``) its :func:`object_identity`."""
    if minimal:
        return Response(code, orjson.dumps(object_identity(obj)))
    return Response(code, orjson.dumps(obj) if raw is None else raw)


def status_response(err: ApiError) -> Response:
    """An error as the Status body both faces send, with its ``retryAfterSeconds`` (if
    any) for the ``Retry-After`` header."""
    after = err.details.get("retryAfterSeconds")
    return Response(err.code, orjson.dumps(err.to_status()),
                    retry_after=after if isinstance(after, int) else None)


@dataclass(slots=True)
class WatchResponse:
    """A 200 whose body is the watch's events (watchstream.py): ``bookmarks`` when the
    client allowed them, ``initial_events_end`` for a WatchList (``sendInitialEvents=true``)
    that allowed them: its initial events end with the annotated bookmark; ``table`` when
    the client asked for Tables."""

    watcher: CacheWatcher
    bookmarks: bool
    timeout: float | None
    kind: str
    api_version: str
    initial_events_end: bool = False
    table: TableForm | None = None
    """Each event's object as a meta.k8s.io Table of one row (tables.py)."""


@dataclass(slots=True)
class StreamResponse:
    """A 200 whose body is written (chunked) as ``chunks`` yields it, e.g. ``pods/log``
    with ``follow=true``; closed when the client goes away."""

    chunks: AsyncIterator[bytes]
    content_type: str = "text/plain"


@dataclass
class UpgradeResponse:
    """A WebSocket handshake accepted with ``subprotocol``: the face completes it and runs
    ``session`` over the connection (podstreams.py) until either side ends."""

    subprotocol: str
    session: Callable[[WebSocketLike], Awaitable[None]]


class WebSocketLike(Protocol):
    """What a session needs of an accepted WebSocket (the HTTP face supplies it)."""

    async def receive(self) -> bytes | None:
        """The next binary (or text, as UTF-8) message; None once the client closed."""
        ...

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int = 1000, reason: str = "") -> None: ...


WARNINGS: ContextVar[list[str] | None] = ContextVar("jetkube_warnings", default=None)
"""The warnings of the request being served, as Kubernetes' ``warning.AddWarning(ctx, …)``:
each face sets a fresh list for the request (HTTP sends each as a ``Warning`` header, NATS
all of them in the reply's ``Warning`` header); None (no face) drops them."""

MAX_WARNING_TEXT = 4096
"""Characters of warning text one response carries at most (kube-apiserver's own bound);
a warning past it is dropped."""


def warn(text: str) -> None:
    """Add a warning to the request being served (once)."""
    got = WARNINGS.get()
    text = "".join(c if c >= " " and c != "\x7f" else " " for c in text[:256])
    if got is None or text in got or sum(map(len, got)) + len(text) > MAX_WARNING_TEXT:
        return
    got.append(text)


def warning_values() -> list[str]:
    """The ``Warning`` header values of the request being served: ``299 - "text"`` with
    quotes and backslashes escaped, as kube-apiserver writes them."""
    return ['299 - "{}"'.format(t.replace("\\", "\\\\").replace('"', '\\"'))
            for t in WARNINGS.get() or ()]
