"""The NATS face: the same handlers over request/reply, in a queue group.

Subject ``jetkube.api.<verb>.<group>.<version>.<resource>`` (group ``core``
for the core group, dots written as ``_``); the payload is the request body;
headers carry the rest (namespace, name, subresource, query, content type,
Authorization, W3C trace context).  The reply body is the object or a
Status, with the HTTP code in the ``Jetkube-Code`` header.  FastStream
serves it (its telemetry middleware continues the caller's trace) and
documents the subjects in its AsyncAPI document.  Any number of API servers
share the subject through the queue group.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qsl

import orjson
from faststream.nats import NatsBroker, NatsResponse
from faststream.nats.annotations import NatsMessage

from jetkube import __version__
from jetkube.schemas.registry import by_plural

from ..machinery import apierrors
from ..machinery.apiclient import API_SUBJECT, QUEUE_GROUP, decode_group
from ..machinery.nodestream import STREAM, SUBJECT_PREFIX
from .front import Front
from .request import ApiRequest
from .response import Response

log = logging.getLogger(__name__)


def request_from_message(subject: str, headers: dict[str, str], body: bytes) -> ApiRequest:
    parts = subject.split(".")
    if len(parts) != 6:
        raise apierrors.bad_request(f"malformed API subject {subject!r}")
    _, _, verb, group, version, resource = parts
    rt = by_plural(decode_group(group), resource)
    if rt is None or rt.version != version:
        raise apierrors.ApiError(404, "NotFound",
                                 f"the server could not find the requested resource ({resource})")
    sub = headers.get("Jetkube-Subresource") or None
    if sub is not None and sub not in rt.subresources:
        raise apierrors.ApiError(404, "NotFound", f"no subresource {rt.plural}/{sub}")
    if verb == "watch":
        raise apierrors.method_not_allowed(
            "watch is not served over NATS request/reply: watch the store (informers) instead")
    return ApiRequest(
        verb=verb, rt=rt,
        namespace=headers.get("Jetkube-Namespace") or None,
        name=headers.get("Jetkube-Name") or None,
        subresource=sub,
        query=dict(parse_qsl(headers.get("Jetkube-Query", ""), keep_blank_values=True)),
        body=body or None,
        content_type=headers.get("Content-Type", "application/json"),
        trace_headers={k: v for k, v in headers.items() if k in ("traceparent", "tracestate")},
    )


def build_broker(front: Front | None, nats_url: str, *,
                 middlewares: tuple[Any, ...] = ()) -> NatsBroker:
    """The FastStream broker of the NATS face (``front`` None: for documentation only)."""
    # apply_types=False: FastStream's dependency injection hops through a thread pool
    # per message (measured: 1.6k echo/s with it, 3.2k/s without, 14k/s raw nats-py);
    # the handler takes the message from FastStream's context instead.
    broker = NatsBroker(nats_url, middlewares=middlewares, max_reconnect_attempts=-1,
                        logger=None, apply_types=False,
                        description="jetkube API server, NATS face")

    @broker.subscriber(f"{API_SUBJECT}.>", queue=QUEUE_GROUP, title="jetkube.api",
                       max_workers=256,
                       description="Kubernetes REST verbs over request/reply; the body is the "
                                   "object, headers carry namespace, name, query and token")
    async def serve(body: bytes) -> NatsResponse:
        msg: NatsMessage = broker.context.get_local("message")
        headers = dict(msg.headers or {})
        try:
            if front is None:
                raise apierrors.ApiError(503, "ServiceUnavailable", "not serving")
            req = request_from_message(msg.raw_message.subject, headers, msg.body)
            result = await front.serve(req, headers.get("Authorization"))
            if not isinstance(result, Response):
                raise apierrors.method_not_allowed("streaming is not served over NATS")
        except apierrors.ApiError as err:
            result = Response(err.code, orjson.dumps(err.to_status()))
        except Exception as err:
            log.exception("internal error serving %s", msg.raw_message.subject)
            e = apierrors.internal(f"internal error: {type(err).__name__}")
            result = Response(e.code, orjson.dumps(e.to_status()))
        return NatsResponse(result.body, headers={"Jetkube-Code": str(result.code)})

    # Documented here so the AsyncAPI document lists every subject; the publish itself
    # is machinery's NodePodStream (nats-py, JetStream with a dedup id).
    broker.publisher(
        f"{SUBJECT_PREFIX}.{{node}}.pods", stream=STREAM, title="jetkube.watch.nodes.pods",
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
