"""metrics.k8s.io/v1beta1: NodeMetrics and PodMetrics (``kubectl top``), from the node agents.

In Kubernetes, metrics-server scrapes every kubelet's resource metrics and serves this
API through the aggregator.  Here the API server serves it itself and asks the node agents
when a client asks, over NATS request/reply as it forwards ``pods/log`` and ``pods/exec``
(podproxy.py): ``jetkube.kubelet.<node>.stats`` (node name token-encoded), request
``{"pods": ["<ns>/<name>", ...] | null, "node": bool}``, answer the usage (protocol:
kubelet/stats.py; the subject is repeated here because services never import each other).

- **Read-only, never stored**: ``get`` and ``list`` (with ``labelSelector`` and
  ``fieldSelector``, matched against the Nodes and Pods as metrics-server matches them);
  any other verb is 405.  The objects are made at each request: metadata (name, namespace,
  the node's or pod's labels, ``creationTimestamp`` now), ``timestamp`` (when the usage was
  measured), ``window`` (the interval it is averaged over, a Go duration) and ``usage``
  (``cpu`` in cores as a quantity, ``123456n`` or ``250m``; ``memory``, the working set,
  ``12345Ki``).
- **Which nodes are asked**: for NodeMetrics every selected Node; for PodMetrics the nodes
  of the selected pods that are Running (metrics-server leaves out other phases), each
  asked only for its pods.  All at once (at most :data:`CONCURRENCY` in flight), within
  one deadline of :data:`STATS_TIMEOUT` seconds; an absent agent is known at once (NATS
  "no responders").  A node that does not answer in time is left out of a list, as
  metrics-server leaves out nodes it could not scrape; a ``get`` of it, or of a pod on it,
  is 404 ``nodemetrics.metrics.k8s.io "<name>" not found`` (``podmetrics.metrics.k8s.io
  "<ns>/<name>"``), as metrics-server answers for what it has no metrics of; a missing
  Node or Pod is the core 404.
- **Authorization** is RBAC's, as for any resource (``view``, ``edit`` and ``admin`` hold
  the rules of ``system:aggregated-metrics-reader``: bootstrap.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

import orjson

from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj
from jetkube.schemas.quantity import canonical_quantity
from jetkube.schemas.registry import NODEMETRICS, NODES, PODS, ResourceType

from ..machinery.apimachinery import apierrors, encode_token, object_key
from ..machinery.runtime.telemetry import inject_headers
from .filters import build_filter
from .podproxy import SUBJECT_PREFIX, node_connection
from .request import ApiRequest
from .response import Response
from .rest import ResourceHandlers
from .watchcache import Cached, ResourceCache, WatchCache

log = logging.getLogger(__name__)

__all__ = ["serve_metrics"]

STATS_TIMEOUT = 5.0
"""Seconds a list (or get) waits for the node agents' answers, all of them together."""
CONCURRENCY = 256
"""Stats requests in flight at once."""
API_VERSION = NODEMETRICS.api_version


class MetricsHandlers(ResourceHandlers, Protocol):
    """What the metrics need of the handlers: the watch cache (and a NATS connection)."""

    @property
    def cache(self) -> WatchCache: ...


async def serve_metrics(h: MetricsHandlers, req: ApiRequest) -> Response:
    """Answer one request on ``nodes`` or ``pods`` of metrics.k8s.io (already authorized)."""
    if req.verb not in ("get", "list"):
        raise apierrors.method_not_allowed(
            f"{req.verb} is not supported on {req.rt.group_resource}: get and list only")
    if req.subresource:
        raise apierrors.ApiError(404, "NotFound", "the server could not find the requested "
                                 f"resource ({req.rt.plural}/{req.subresource})")
    nc = node_connection(h)
    fresh = req.query.get("resourceVersion", "") != "0"  # a consistent read, as a list's
    if req.rt is NODEMETRICS:
        if fresh:
            await h.cache.wait_fresh()
        return await _nodes(h.cache, nc, req)
    rc, _ = await h.cache.current(PODS.plural, req.namespace, fresh=fresh)
    return await _pods(rc, nc, req)


# --- NodeMetrics -------------------------------------------------------------------------

async def _nodes(cache: WatchCache, nc: Any, req: ApiRequest) -> Response:
    rc = cache.resource(NODES.plural)
    if req.verb == "get":
        name = req.name or ""
        node = rc.items.get(object_key(NODES.plural, None, name))
        if node is None:
            raise apierrors.not_found(NODES.plural, name)
        answers = await ask_nodes(nc, {name: {"pods": [], "node": True}})
        item = _node_metrics(node.obj, answers.get(name))
        if item is None:
            raise apierrors.not_found("nodemetrics", name, req.rt.group)
        return _json(item)
    nodes = {str(c.obj["metadata"]["name"]): c.obj for c in _select(rc, NODES, None, req.query)}
    answers = await ask_nodes(nc, {name: {"pods": [], "node": True} for name in nodes})
    items = [m for name, obj in nodes.items()
             if (m := _node_metrics(obj, answers.get(name))) is not None]
    return _list("NodeMetricsList", sorted(items, key=lambda m: m["metadata"]["name"]))


def _node_metrics(node: Obj, answer: dict[str, Any] | None) -> Obj | None:
    usage = (answer or {}).get("node")
    if not isinstance(usage, dict):
        return None
    md = node.get("metadata") or {}
    return {"kind": "NodeMetrics", "apiVersion": API_VERSION,
            "metadata": _metadata(md, namespaced=False), **_measured(usage),
            "usage": _usage(usage)}


# --- PodMetrics --------------------------------------------------------------------------

async def _pods(rc: ResourceCache, nc: Any, req: ApiRequest) -> Response:
    if req.verb == "get":
        name, ns = req.name or "", req.namespace or ""
        pod = rc.items.get(object_key(PODS.plural, ns, name))
        if pod is None:
            raise apierrors.not_found(PODS.plural, name)
        items = await _pod_metrics(nc, [pod])
        if not items:
            raise apierrors.not_found("podmetrics", f"{ns}/{name}", req.rt.group)
        return _json(items[0])
    pods = _select(rc, PODS, req.namespace, req.query)
    return _list("PodMetricsList", await _pod_metrics(nc, pods))


async def _pod_metrics(nc: Any, pods: list[Cached]) -> list[Obj]:
    running = [c for c in pods if (c.obj.get("status") or {}).get("phase") == "Running"
               and (c.obj.get("spec") or {}).get("nodeName")]
    by_node: dict[str, list[str]] = {}
    for c in running:
        md = c.obj["metadata"]
        by_node.setdefault(str(c.obj["spec"]["nodeName"]), []).append(
            f"{md.get('namespace')}/{md.get('name')}")
    answers = await ask_nodes(nc, {n: {"pods": keys, "node": False} for n, keys in by_node.items()})
    by_uid: dict[tuple[str, str, str], dict[str, Any]] = {}  # (node, ns/name, uid) -> usage
    by_name: dict[tuple[str, str], dict[str, Any]] = {}  # (node, ns/name) -> usage
    for node, answer in answers.items():
        for p in answer.get("pods") or ():
            if isinstance(p, dict):
                ref = f"{p.get('namespace')}/{p.get('name')}"
                by_uid[(node, ref, str(p.get("uid") or ""))] = p
                by_name.setdefault((node, ref), p)
    items: list[Obj] = []
    for c in sorted(running, key=lambda c: (c.namespace, c.name)):
        md = c.obj["metadata"]
        node, ref = str(c.obj["spec"]["nodeName"]), f"{md.get('namespace')}/{md.get('name')}"
        # the pod of this uid, else the one of that name (a static pod's mirror has its own
        # uid: metrics-server matches by name too)
        usage = by_uid.get((node, ref, str(md.get("uid") or ""))) or by_name.get((node, ref))
        if usage is None:
            continue
        order = [ct.get("name") for ct in (c.obj.get("spec") or {}).get("containers") or ()]
        containers = sorted(
            (ct for ct in usage.get("containers") or () if isinstance(ct, dict)),
            key=lambda ct: order.index(ct.get("name")) if ct.get("name") in order else len(order))
        items.append({"kind": "PodMetrics", "apiVersion": API_VERSION,
                      "metadata": _metadata(md, namespaced=True), **_measured(usage),
                      "containers": [{"name": str(ct.get("name")), "usage": _usage(ct)}
                                     for ct in containers]})
    return items


# --- asking the node agents ------------------------------------------------------------

def stats_subject(node: str) -> str:
    return f"{SUBJECT_PREFIX}.{encode_token(node)}.stats"


async def ask_nodes(nc: Any, requests: dict[str, dict[str, Any]],
                    limit_s: float | None = None) -> dict[str, dict[str, Any]]:
    """Each node's answer to its stats request; the nodes that did not answer within
    ``limit_s`` (all together; default :data:`STATS_TIMEOUT`), or refused, are absent."""
    if not requests:
        return {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (STATS_TIMEOUT if limit_s is None else limit_s)
    limit = asyncio.Semaphore(CONCURRENCY)
    headers = inject_headers({})

    async def one(node: str, body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
        async with limit:
            left = deadline - loop.time()
            if left <= 0:
                return node, None
            try:
                msg = await nc.request(stats_subject(node), orjson.dumps(body), timeout=left,
                                       headers=headers)
                answer = orjson.loads(msg.data or b"{}")
            except Exception as err:  # timeout, no responders, garbage: left out
                log.debug("node %s gave no stats (%s): left out", node, type(err).__name__)
                return node, None
        if not isinstance(answer, dict) or answer.get("code") != 200:
            log.info("node %s refused the stats request: %s", node,
                     answer.get("message") if isinstance(answer, dict) else answer)
            return node, None
        return node, answer

    got = await asyncio.gather(*(one(n, b) for n, b in requests.items()))
    return {n: a for n, a in got if a is not None}


# --- shapes --------------------------------------------------------------------------------

def _select(rc: Any, rt: ResourceType, namespace: str | None, query: dict[str, str]
            ) -> list[Cached]:
    f = build_filter(rt, namespace, query)  # the selectors of the Nodes / Pods (400 if bad)
    return [c for c in rc.candidates(namespace, f.label_eq, f.label_exists, f.field_eq)
            if f.match(c)]


def _metadata(md: Obj, namespaced: bool) -> Obj:
    out: Obj = {"name": md.get("name"),
                "creationTimestamp": format_time(datetime.now(UTC))}
    if namespaced:
        out["namespace"] = md.get("namespace")
    if md.get("labels"):
        out["labels"] = dict(md["labels"])
    return out


def _measured(usage: dict[str, Any]) -> Obj:
    ts = _number(usage.get("timestamp")) or time.time()
    return {"timestamp": format_time(datetime.fromtimestamp(ts, UTC)),
            "window": go_duration(_number(usage.get("window")))}


def _usage(usage: dict[str, Any]) -> dict[str, str]:
    nanocores, memory = (max(0, int(_number(usage.get(k)))) for k in ("cpu", "memory"))
    return {"cpu": canonical_quantity(Decimal(nanocores).scaleb(-9)),
            "memory": canonical_quantity(memory, "BinarySI")}


def _number(v: Any) -> int | float:
    """A JSON number of the node's answer (anything else: 0)."""
    return v if isinstance(v, int | float) and not isinstance(v, bool) else 0


def go_duration(seconds: float) -> str:
    """A Go ``time.Duration`` string to the millisecond (``1.5s``, ``1m2.25s``, ``0s``), how
    metav1.Duration is written."""
    ms = max(0, round(seconds * 1000))
    if ms == 0:
        return "0s"
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s = f"{rest // 1000}.{rest % 1000:03d}".rstrip("0").rstrip(".") + "s"
    if ms < 1000:
        s = f"{ms}ms"
    return (f"{h}h" if h else "") + (f"{m}m" if h or m else "") + s


def _json(obj: Obj) -> Response:
    return Response(200, orjson.dumps(obj))


def _list(kind: str, items: list[Obj]) -> Response:
    return Response(200, orjson.dumps({"kind": kind, "apiVersion": API_VERSION,
                                       "metadata": {}, "items": items}))

