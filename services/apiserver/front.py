"""The front door both faces share: authenticate, authorize, dispatch, trace.

HTTP and NATS build an :class:`ApiRequest` and call :meth:`Front.serve`;
errors come back as :class:`ApiError` for the face to render as a Status.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from opentelemetry import trace

from jetkube.schemas.registry import is_metrics, is_review

from ..machinery.apimachinery import apierrors
from ..machinery.runtime.telemetry import extract_context, start_span
from ..machinery.store import TooLarge, Unavailable
from . import discovery, openapi
from .auth import Attributes, Authenticator, Authorizer
from .handlers import Handlers
from .inflight import InflightLimiter
from .metrics import serve_metrics
from .nodeauthorizer import Decision, NodeAuthorizer
from .request import REQUEST_USER, ApiRequest, UserInfo, parse_path
from .response import Response, StreamResponse, UpgradeResponse, WatchResponse
from .reviews import serve_review

log = logging.getLogger(__name__)
tracer = trace.get_tracer("jetkube.apiserver")
_SERVER, _ALLOW = trace.SpanKind.SERVER, Decision.ALLOW  # (every request's: see store.EventType)

_HEALTH = {"/healthz", "/livez", "/readyz"}

UPGRADES = ("exec", "attach", "portforward")
"""The subresources a WebSocket handshake may open (podstreams.py)."""

UNAVAILABLE_RETRY_AFTER = 1
"""The ``Retry-After`` (seconds) of a 503 from a store without a leader or quorum: the
store already rode out its own deadline (8 s), so a client may try again soon."""


class Front:
    def __init__(self, handlers: Handlers, authn: Authenticator, authz: Authorizer,
                 server_address: str, node_authz: NodeAuthorizer | None = None,
                 inflight: InflightLimiter | None = None) -> None:
        self.handlers = handlers
        self.authn = authn
        self.authz = authz
        self.node_authz = node_authz or NodeAuthorizer(handlers.cache)
        self.server_address = server_address
        self.inflight = inflight or InflightLimiter()
        self.ready = False

    def health(self, verbose: bool) -> bytes | None:
        """/healthz, /livez, /readyz: ``ok``, or kube-apiserver's ``[+]check ok`` list."""
        checks = {"ping": True, "watch-cache": self.handlers.cache.synced.is_set(),
                  "bootstrap": self.ready}
        if not verbose:
            return b"ok" if all(checks.values()) else None
        lines = [f"[{'+' if ok else '-'}]{name} {'ok' if ok else 'failed'}"
                 for name, ok in checks.items()]
        verdict = "passed" if all(checks.values()) else "failed"
        return ("\n".join(lines) + f"\nhealthz check {verdict}\n").encode()

    def _non_resource(self, path: str, query: dict[str, str]) -> Any:
        p = path.rstrip("/") or "/"
        if p in _HEALTH:
            return self.health("verbose" in query)
        if p == "/version":
            return discovery.version_info()
        if p == "/api":
            return discovery.api_versions(self.server_address)
        if p == "/apis":
            return discovery.api_group_list()
        if p.startswith(openapi.PREFIX):  # pre-serialized, built once (openapi.py)
            return openapi.v3(p) or False
        parts = [x for x in p.split("/") if x]
        if len(parts) == 2 and parts[0] == "api":
            return discovery.resource_list("", parts[1]) or False
        if len(parts) == 2 and parts[0] == "apis":
            return discovery.api_group(parts[1]) or False
        if len(parts) == 3 and parts[0] == "apis":
            return discovery.resource_list(parts[1], parts[2]) or False
        return False

    async def serve_http(self, method: str, path: str, query: dict[str, str], body: bytes,
                         headers: dict[str, str]
                         ) -> Response | WatchResponse | StreamResponse | UpgradeResponse:
        req = parse_path(method, path, query)
        if req is None:
            if method != "GET":
                raise apierrors.method_not_allowed(f"{method} is not allowed on {path}")
            doc = self._non_resource(path, query)
            if doc is None:
                return Response(503, b"not ready", "text/plain")
            if doc is False:
                raise apierrors.ApiError(404, "NotFound",
                                         f"the server could not find the requested resource ({path})")
            if path.rstrip("/") not in _HEALTH:
                self.authn.authenticate(headers.get("authorization"))
            if isinstance(doc, bytes):
                return Response(200, doc, "text/plain")
            return Response(200, orjson.dumps(doc))
        req.body = body
        req.content_type = headers.get("content-type", "application/json")
        req.user_agent = headers.get("user-agent", "")  # the default field manager
        req.accept = headers.get("accept", "")  # negotiated after authorization (handlers)
        req.trace_headers = {k: v for k, v in headers.items()
                             if k in ("traceparent", "tracestate")}
        req.upgrade = headers.get("upgrade", "").lower()
        if req.upgrade == "websocket":
            req.subprotocols = tuple(p.strip() for p in
                                     headers.get("sec-websocket-protocol", "").split(",")
                                     if p.strip())
            if req.subresource not in UPGRADES:
                self.authn.authenticate(headers.get("authorization"))
                raise apierrors.bad_request(
                    f"WebSocket upgrades are served for pods/{', pods/'.join(UPGRADES)} only")
        return await self.serve(req, headers.get("authorization"))

    async def serve(self, req: ApiRequest, authorization: str | None, *,
                    user: UserInfo | None = None
                    ) -> Response | WatchResponse | StreamResponse | UpgradeResponse:
        """Serve one request of either face: ``authorization`` (a bearer token, HTTP) is
        authenticated, unless the face already knows the ``user`` (NATS: the sender's
        identity, vouched for by nats-server)."""
        if user is None:
            user = self.authn.authenticate(authorization)
        req.user = user
        ctx = extract_context(req.trace_headers) if req.trace_headers else None
        as_user = REQUEST_USER.set(user)
        try:
            with start_span(tracer, f"{req.verb} {req.resource_path}", context=ctx,
                            kind=_SERVER,
                            attributes=lambda: {"k8s.namespace": req.namespace or "",
                                                "k8s.name": req.name or ""}):
                async with self.inflight.slot(user, req.verb):  # or 429 (inflight.py)
                    self.authorize(user, req)
                    if is_review(req.rt):  # answered, never stored (reviews.py)
                        return await serve_review(req, self.authz, self.node_authz)
                    if is_metrics(req.rt):  # asked of the node agents, never stored
                        return await serve_metrics(self.handlers, req)
                    return await self.handlers.handle(req)
        except Unavailable as err:  # no stream leader or quorum within the store's deadline
            raise apierrors.ApiError(503, "ServiceUnavailable", str(err),
                                     {"retryAfterSeconds": UNAVAILABLE_RETRY_AFTER}) from None
        except TooLarge as err:
            raise apierrors.ApiError(413, "RequestEntityTooLarge",
                                     f"Request entity too large: {err}") from None
        finally:
            REQUEST_USER.reset(as_user)

    def authorize(self, user: UserInfo, req: ApiRequest) -> None:
        """``--authorization-mode=Node,RBAC``: a node agent's request the Node authorizer
        allows is allowed; anything else is RBAC's to allow or refuse."""
        a = Attributes(req.verb, req.rt.group, req.resource_path, req.namespace, req.name)
        if self.node_authz.decide(user, a) is _ALLOW:
            return
        self.authz.authorize(user, a)
