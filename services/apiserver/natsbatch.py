"""Batched creates and patches over the NATS face: one request carrying many objects, each
served as its own request would be.  A batch may also create one subresource of many objects (the
scheduler's binds: ``pods/binding``) or patch many objects (the node agents' pod status
writes: ``pods/status``), each line naming its object.

A ``create`` whose headers carry ``Jetkube-Batch: <n>`` has as its body ``n`` objects of
the subject's resource, one JSON document per line (compact JSON has no raw newline: a
string's newline is written ``\\n``), all in the request's namespace.  Each line is served
as one create through the whole front door (authorization, admission, validation, quota,
its own store write and revision) with the sender's identity, concurrently, so their
store writes go out pipelined; one failing does not stop the others.  The reply is one
JSON array, in the request's order, of ``{"code": <HTTP code>, "body": <the created
object, or a Status>}``; each body is spliced in as the create produced it, not decoded
again.  The batch itself answers 200, or a Status when it is refused whole (not one of the
batches below, more than :data:`MAX_BATCH` items, a count or names that do not match its
lines).
A batch of a subresource's creates (``Jetkube-Subresource``), or of patches (the verb
``patch``, the subresource optional, one ``Content-Type`` for all), names each line's
object in ``Jetkube-Batch-Names``, comma-separated in the lines' order (no name holds a
comma); each line is then the body that object's own request would carry.
``Jetkube-Batch-Traceparents``, optional in any batch, carries each line's W3C
``traceparent`` the same way (empty: the request's own), so every item continues the
trace of the caller that asked for it, as its own request would.
A batch asked for with ``Prefer: return=minimal`` answers each written object with its
identity only (response.py), as each line's own request would be answered.
A reply that would not fit one NATS message carries the created objects' identity only
(apiVersion, kind and ``metadata``'s name, namespace, uid, resourceVersion,
creationTimestamp) and each failure's code, reason and message (its first 200
characters): at most :data:`ITEM_ROOM` bytes an item, which a batch is refused before
anything is served when ``n`` of them would not fit.

Measured with bench/api.py (2 cores, loopback): see docs/architecture.md.  Kubernetes
has no batch verb; its clients send creates concurrently over one HTTP/2 connection,
which this is the NATS face's equivalent of: the per-message costs (a request and a
reply on the bus, a task, the subject's parsing and the identity's mapping) are paid once
per batch instead of once per object.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import orjson

from ..machinery.apimachinery import apierrors
from ..machinery.client import BATCH_HEADER, NAMES_HEADER, TRACES_HEADER  # the client's
from .front import Front
from .request import ApiRequest, check_target
from .response import Response, object_identity, status_response

__all__ = ["BATCH_HEADER", "MAX_BATCH", "NAMES_HEADER", "TRACES_HEADER", "serve_batch"]

log = logging.getLogger(__name__)

MAX_BATCH = 128
"""Objects one batched request may carry (more: 413, the whole batch refused)."""
ITEM_ROOM = 640
"""The most bytes one item's short answer takes (name 253, namespace 63, uid, revision
and time; or a Status's code, reason and 200 characters of message, JSON-escaped)."""


def _named(req: ApiRequest) -> bool:
    """Whether each line of this batch names its object (a subresource's creates, patches)."""
    return req.verb == "patch" or bool(req.subresource)


def _lines(req: ApiRequest, count: str, names: str | None) -> list[bytes]:
    if req.verb not in ("create", "patch") or req.name or _named(req) != (names is not None):
        what = f"{req.verb} of {req.resource_path}" + (f" {req.name}" if req.name else "")
        raise apierrors.bad_request(f"only creates of a resource, and creates of a "
                                    f"subresource or patches with {NAMES_HEADER}, are "
                                    f"batched, not {what}")
    if not count.isdigit() or int(count) == 0:
        raise apierrors.bad_request(f"{BATCH_HEADER} must be a count of objects, 1 to "
                                    f"{MAX_BATCH}, not {count[:20]!r}")
    if int(count) > MAX_BATCH:
        raise apierrors.ApiError(413, "RequestEntityTooLarge",
                                 f"a batch carries at most {MAX_BATCH} objects, not {count}")
    lines = (req.body or b"").split(b"\n")
    if len(lines) != int(count):
        raise apierrors.bad_request(f"{BATCH_HEADER} says {count} objects but the body has "
                                    f"{len(lines)} lines: one JSON object per line")
    return lines


def _per_line(header: str, value: str | None, count: int) -> list[str]:
    """A per-line header's values (empty strings when it is absent)."""
    if value is None:
        return [""] * count
    values = value.split(",")
    if len(values) != count:
        raise apierrors.bad_request(f"{header} has {len(values)} values for {count} lines: "
                                    "one per line, comma-separated")
    return values


async def _one(front: Front, req: ApiRequest, body: bytes, name: str, traceparent: str
               ) -> tuple[int, bytes]:
    try:
        item = req.copy()
        item.body = body or None
        if _named(req) and not name:  # each line of such a batch names its object
            raise apierrors.bad_request("Name parameter required.")
        if name:
            check_target(req.rt, req.verb, req.namespace, name)  # as a path's segment
            item.name = name
        if traceparent:
            item.trace_headers = {"traceparent": traceparent}
        result = await front.serve(item, None, user=req.user)
        if not isinstance(result, Response):
            raise apierrors.method_not_allowed("streaming is not served over NATS")
    except apierrors.ApiError as err:
        result = status_response(err)
    except Exception as err:  # one item's bug is its own 500, never the batch's
        log.exception("internal error serving a batched %s of %s", req.verb, req.resource_path)
        result = status_response(apierrors.internal(f"internal error: {type(err).__name__}"))
    return result.code, result.body


def _short(code: int, body: bytes) -> bytes:
    obj: dict[str, Any] = orjson.loads(body)
    if code >= 400:  # a Status
        return orjson.dumps({"apiVersion": "v1", "kind": "Status", "status": "Failure",
                             "code": code, "reason": obj.get("reason"),
                             "message": str(obj.get("message") or "")[:200]})
    return orjson.dumps(object_identity(obj))


def _reply(results: list[tuple[int, bytes]]) -> bytes:
    return b"[" + b",".join(b'{"code":%d,"body":%b}' % (code, body)
                            for code, body in results) + b"]"


async def serve_batch(front: Front, req: ApiRequest, headers: Mapping[str, str],
                      room: int | None = None) -> Response:
    """Serve a batched request (the module doc) whose request carried ``headers``;
    ``room``: the most bytes one reply may hold (the server's max_payload less the
    headers' margin)."""
    names_header = headers.get(NAMES_HEADER)
    lines = _lines(req, headers.get(BATCH_HEADER, ""), names_header)
    names = _per_line(NAMES_HEADER, names_header, len(lines))
    traces = _per_line(TRACES_HEADER, headers.get(TRACES_HEADER), len(lines))
    if room is not None and len(lines) * ITEM_ROOM > room:
        raise apierrors.ApiError(413, "RequestEntityTooLarge", f"the answers to {len(lines)} "
                                 f"objects might not fit one NATS message ({room} bytes): "
                                 f"send at most {max(0, room) // ITEM_ROOM} in a batch")
    results = list(await asyncio.gather(
        *(_one(front, req, line, name, tp)
          for line, name, tp in zip(lines, names, traces, strict=True))))
    body = _reply(results)
    if room is not None and len(body) > room:  # each item's short answer: they fit
        body = _reply([(code, _short(code, b)) for code, b in results])
    return Response(200, body)
