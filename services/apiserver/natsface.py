"""The NATS face: the same handlers over request/reply, in a queue group.

Subject ``<prefix>.<identity>.<verb>.<group>.<version>.<resource>`` (the prefix is
``Settings.api_subject_prefix``, ``jetkube.api`` unless ``JETKUBE_API_SUBJECT_PREFIX``
moves it for the API servers and their clients alike; group ``core`` for the
core group, dots written as ``_``).  The identity token is the sender's NATS identity:
nats-server lets only that identity publish there (cli/buspolicy.py), so it *is* the
authentication, mapped to a Kubernetes user by ``bus_user`` (an ``Authorization`` header
is ignored: no token travels on the bus).  The payload is the request body;
headers carry the rest (namespace, name, subresource, query, content type,
W3C trace context, which ``front.serve`` continues).  The reply
body is the object or a Status, with the HTTP code in the ``Jetkube-Code``
header; a write whose request says ``Prefer: return=minimal`` (RFC 7240) is answered
with the object's identity only (response.py).  A create or a patch may carry many
objects (``Jetkube-Batch``: natsbatch.py).  Any number of API servers share the subject
through the queue group.

Served by machinery's bare nats-py request/reply server (``rpc.Server``):
FastStream measured 1.6k echo/s (3.2-3.6k with ``apply_types=False``) against
14k/s for a bare subscription, and every controller write and scheduler bind
takes this path.  FastStream declares the same subjects (``build_broker``) and
generates the AsyncAPI document from them (docs/asyncapi.yaml).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass, replace
from typing import Any

import orjson
from faststream.nats import NatsBroker, NatsResponse
from faststream.nats.annotations import NatsMessage

from jetkube import __version__
from jetkube.schemas.registry import ResourceType, by_plural

from ..machinery.apimachinery import apierrors, bus_user, inbox_prefix
from ..machinery.client import API_SUBJECT, QUEUE_GROUP, Server, decode_group
from ..machinery.store import NODE_PODS_STREAM, NODE_PODS_SUBJECT_PREFIX, NatsConnection
from . import params as query_params
from .auth import AUTHENTICATED
from .front import Front
from .managedfields import bus_agent
from .natsbatch import BATCH_HEADER, serve_batch
from .params import decode_query
from .request import ApiRequest, UserInfo, check_target
from .response import WARNINGS, Response, status_response, warning_values

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Route:
    """What a request's subject says: the sender's user, the verb and the resource type."""

    prefix: str
    verb: str
    rt: ResourceType
    user: UserInfo
    agent: str
    """The field manager of a request that names no ``User-Agent`` (``bus_agent``)."""


ROUTES_KEPT = 4096
"""Subjects whose :class:`Route` is remembered (the oldest goes first).  A cluster has
identities x verbs x resources of them; a node's binds and status writes take a handful
of subjects each, so a thousand nodes fit.  Only a subject that routes is remembered."""
_routes: dict[str, Route] = {}


def route(subject: str, prefix: str = API_SUBJECT) -> Route:
    """The route of ``subject`` (401 for an identity that names nobody, 404 for no such
    resource), worked out once per subject: 3 µs of each request over
    NATS (split, identity, registry, user) that every bind and status write paid."""
    known = _routes.get(subject)
    if known is not None and known.prefix == prefix:
        return known
    rest = subject.removeprefix(f"{prefix}.")
    parts = rest.split(".") if rest != subject else []
    if len(parts) != 5:
        raise apierrors.bad_request(f"malformed API subject {subject!r}")
    identity, verb, group, version, resource = parts
    who = bus_user(identity)
    if who is None:
        raise apierrors.unauthorized()
    rt = by_plural(decode_group(group), resource)
    if rt is None or rt.version != version:
        raise apierrors.ApiError(404, "NotFound",
                                 f"the server could not find the requested resource ({resource})")
    found = Route(prefix, verb, rt, UserInfo(who.name, who.name, (*who.groups, AUTHENTICATED)),
                  bus_agent(identity))
    if len(_routes) >= ROUTES_KEPT:
        del _routes[next(iter(_routes))]
    _routes[subject] = found
    return found


def request_from_message(subject: str, headers: dict[str, str], body: bytes,
                         prefix: str = API_SUBJECT) -> ApiRequest:
    r = route(subject, prefix)
    rt, verb = r.rt, r.verb
    sub = headers.get("Jetkube-Subresource") or None
    if sub is not None and sub not in rt.subresources:
        raise apierrors.ApiError(404, "NotFound", f"no subresource {rt.plural}/{sub}")
    if verb == "watch":
        raise apierrors.method_not_allowed(
            "watch is not served over NATS request/reply: watch the store (informers) instead")
    namespace = headers.get("Jetkube-Namespace") or None
    name = headers.get("Jetkube-Name") or None
    if name is None and verb in ("get", "update", "patch", "delete") and (
            BATCH_HEADER not in headers):  # a batch names each line's object (natsbatch.py)
        raise apierrors.bad_request("Name parameter required.")
    check_target(rt, verb, namespace, name)  # the same rules as a path's segments
    query = decode_query(headers.get("Jetkube-Query", ""))
    return ApiRequest(
        verb=verb, rt=rt, namespace=namespace, name=name, subresource=sub,
        query=query, params=query_params.parse(query),
        body=body or None,
        content_type=headers.get("Content-Type", "application/json"),
        trace_headers={k: v for k, v in headers.items() if k in ("traceparent", "tracestate")},
        user=r.user,
        user_agent=headers.get("User-Agent") or r.agent,  # the field manager
        minimal=prefers_minimal(headers.get("Prefer")),
    )


def prefers_minimal(prefer: str | None) -> bool:
    """Whether a ``Prefer`` header (RFC 7240: comma-separated preferences, each
    ``token[=value]`` with optional ``;`` parameters) asks for ``return=minimal``."""
    if not prefer:
        return False
    for pref in prefer.split(","):
        token, _, value = pref.split(";", 1)[0].partition("=")
        if token.strip().lower() == "return" and value.strip().strip('"').lower() == "minimal":
            return True
    return False


REPLY_MARGIN = 4096
"""Bytes of a NATS message left for the reply's headers."""


async def handle(front: Front, subject: str, headers: dict[str, str], body: bytes,
                 prefix: str = API_SUBJECT, max_payload: int | None = None
                 ) -> tuple[bytes, dict[str, str]]:
    """One request of the NATS face: the reply body and its headers.  No reply is bigger
    than ``max_payload`` (the server's message limit): a list page that would be is cut
    to fewer items (a page may hold fewer than ``limit``, as Kubernetes allows); a list
    asked for without ``limit`` is refused with 413, naming the remedy.  Warnings go in
    one ``Warning`` header, comma-joined as HTTP joins repeated ones."""
    WARNINGS.set([])  # this request's: rpc.Server runs each in a task of its own
    try:
        req = request_from_message(subject, headers, body, prefix)
        if BATCH_HEADER in headers:  # many creates or patches (natsbatch.py)
            return _reply(await serve_batch(
                front, req, headers, max_payload - REPLY_MARGIN if max_payload else None))
        served = await front.serve(req, None, user=req.user)
        if not isinstance(served, Response):
            raise apierrors.method_not_allowed("streaming is not served over NATS")
        result = served
        if max_payload and len(result.body) > max_payload - REPLY_MARGIN:
            result = await _smaller_page(front, req, result, max_payload - REPLY_MARGIN)
    except apierrors.ApiError as err:
        result = status_response(err)
    except Exception as err:  # never leave a caller without an answer
        log.exception("internal error serving %s", subject)
        result = status_response(apierrors.internal(f"internal error: {type(err).__name__}"))
    return _reply(result)


def _reply(result: Response) -> tuple[bytes, dict[str, str]]:
    reply = {"Jetkube-Code": str(result.code)}
    if result.retry_after is not None:
        reply["Retry-After"] = str(result.retry_after)
    if warnings := warning_values():
        reply["Warning"] = ", ".join(warnings)
    return result.body, reply


async def _smaller_page(front: Front, req: ApiRequest, result: Response, room: int) -> Response:
    if req.verb != "list":
        raise apierrors.ApiError(413, "RequestEntityTooLarge",
                                 f"the answer ({len(result.body)} bytes) is larger than one NATS "
                                 f"message may be ({room} bytes)")
    limit = req.params.limit or 0
    if limit <= 0:
        raise apierrors.ApiError(413, "RequestEntityTooLarge",
                                 f"the list ({len(result.body)} bytes) is larger than one NATS "
                                 f"message may be ({room} bytes): ask for it in pages "
                                 "(limit and continue)")
    while len(result.body) > room and limit > 1:
        limit = max(1, limit * room // (2 * len(result.body)) or 1)
        req.query["limit"] = str(limit)
        req.params = replace(req.params, limit=limit)
        again = await front.serve(req, None, user=req.user)
        assert isinstance(again, Response)
        result = again
    return result


def serve(front: Front, nc: NatsConnection, prefix: str = API_SUBJECT) -> Server:
    """The NATS face on ``nc`` under ``prefix`` (``Settings.api_subject_prefix``; start it
    with ``await server.start()``)."""

    def on_request(subject: str, headers: dict[str, str], body: bytes
                   ) -> Awaitable[tuple[bytes, dict[str, str]]]:
        return handle(front, subject, headers, body, prefix, nc.max_payload)  # (no frame more)

    return Server(nc, f"{prefix}.*.>", QUEUE_GROUP, on_request,
                  accept=lambda subject, reply: reply_is_senders(subject, reply, prefix))


def reply_is_senders(subject: str, reply: str | None, prefix: str = API_SUBJECT) -> bool:
    """Serve a request only when its reply goes to the sender's own inbox
    (``_INBOX.<identity>.``, which only that identity may read).  Anything else is a forged
    request: a reply naming a subject the API server may write (``$KV.…``, a kubelet's), or
    a JetStream delivery aimed at ``jetkube.api.…`` (its reply is ``$JS.ACK.…``)."""
    identity = subject[len(prefix) + 1:].partition(".")[0]
    return bool(reply) and bool(identity) and str(reply).startswith(
        inbox_prefix(identity) + ".")


def build_broker(front: Front | None, nats_url: str, *,
                 middlewares: tuple[Any, ...] = ()) -> NatsBroker:
    """The subjects as FastStream declares them, for the AsyncAPI document (and a
    FastStream-served face when ``front`` is given, kept for comparison)."""
    # apply_types=False: FastStream's dependency injection hops through a thread pool
    # per message (measured: 1.6k echo/s with it, 3.2k/s without, 14k/s raw nats-py);
    # the handler takes the message from FastStream's context instead.
    broker = NatsBroker(nats_url, middlewares=middlewares, max_reconnect_attempts=-1,
                        logger=None, apply_types=False,
                        description="jetkube API server, NATS face")

    @broker.subscriber(f"{API_SUBJECT}.*.>", queue=QUEUE_GROUP, title="jetkube.api",
                       max_workers=256,
                       description="Kubernetes REST verbs over request/reply, "
                                   "<identity>.<verb>.<group>.<version>.<resource>: the "
                                   "identity is the sender's NATS user (only it may publish "
                                   "there); the body is the object, headers carry namespace, "
                                   "name, query and trace context; a create or a patch with "
                                   "Jetkube-Batch: n carries n objects, one JSON object per "
                                   "line (a subresource's creates, such as binds, and patches "
                                   "name each line's object in Jetkube-Batch-Names; "
                                   "Jetkube-Batch-Traceparents carries each line's trace "
                                   "context), and is answered with each one's code and body")
    async def serve(body: bytes) -> NatsResponse:
        msg: NatsMessage = broker.context.get_local("message")
        if front is None:
            e = apierrors.ApiError(503, "ServiceUnavailable", "documentation broker")
            return NatsResponse(orjson.dumps(e.to_status()), headers={"Jetkube-Code": "503"})
        reply, headers = await handle(front, msg.raw_message.subject, dict(msg.headers or {}),
                                      msg.body)
        return NatsResponse(reply, headers=headers)

    # Documented here so the AsyncAPI document lists every subject; the publish itself
    # is machinery's NodePodStream (nats-py, JetStream with a dedup id).
    broker.publisher(
        f"{NODE_PODS_SUBJECT_PREFIX}.{{node}}.pods", stream=NODE_PODS_STREAM,
        title="jetkube.watch.nodes.pods",
        description="Watch events ({type, object}) of the pods bound to one node, published by "
                    "the API server after each committed write whose old or new spec.nodeName is "
                    "set; JetStream stream JETKUBE_NODE_PODS, Nats-Msg-Id key@revision.")
    return broker


def asyncapi_document() -> str:
    """The AsyncAPI document (YAML) of every subject the services use."""
    from faststream.specification import AsyncAPI

    broker = build_broker(None, "nats://127.0.0.1:4222")
    return str(AsyncAPI(broker, title="jetkube", version=__version__,
                        description="Subjects of the jetkube control plane on NATS.")
               .to_specification().to_yaml())


if __name__ == "__main__":
    print(asyncapi_document(), end="")
