"""ServiceLB: a load balancer without a cloud, as k3s's ServiceLB (klipper-lb).

Every Service of type LoadBalancer without ``spec.loadBalancerClass`` (a class
names some other implementation) gets ``status.loadBalancer.ingress`` = one
``{"ip": address}`` per distinct address of the Ready nodes: a node's
ExternalIP addresses if it has any, else its InternalIP ones; sorted by
address.  Nodes that are being deleted, or labelled
``node.kubernetes.io/exclude-from-external-load-balancers`` (as Kubernetes'
service controller honours), are left out.  The service proxy on each node
opens the service's ports on that node's address, so these are the addresses
a client reaches it on.  A Service that stops being LoadBalancer has its
ingress cleared.

The status is written through the ``status`` subresource, only when it
changes, with a ``UpdatedIngressIP`` event as k3s records.  Handlers only
enqueue keys: a Service change its own key (when it is, or was, a
LoadBalancer or shows an ingress), a Node change that alters its readiness or
addresses every LoadBalancer service; ``reconcile`` reads only caches.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context

from jetkube.schemas.objects import Obj, condition_is_true

from ..machinery.apimachinery import apierrors, parse_key
from ..machinery.client import NORMAL, Controller, Informer, Requeue, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext

log = logging.getLogger(__name__)

NAME = "servicelb"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, Mapping) else {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def wants_ingress(svc: Mapping[str, Any]) -> bool:
    """A LoadBalancer service this controller serves (no loadBalancerClass)."""
    spec = _spec(svc)
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")


def current_ingress(svc: Mapping[str, Any]) -> list[Obj]:
    status = svc.get("status") or {}
    return list((status.get("loadBalancer") or {}).get("ingress") or [])


def node_addresses(node: Mapping[str, Any]) -> list[str]:
    """The node's ExternalIP addresses, else its InternalIP ones."""
    addrs = (node.get("status") or {}).get("addresses") or ()
    external = [str(a["address"]) for a in addrs if a.get("type") == "ExternalIP" and a.get("address")]
    if external:
        return external
    return [str(a["address"]) for a in addrs if a.get("type") == "InternalIP" and a.get("address")]


def eligible(node: Mapping[str, Any]) -> bool:
    md = _md(node)
    return (condition_is_true(node, "Ready") and not md.get("deletionTimestamp")
            and EXCLUDE_LABEL not in (md.get("labels") or {}))


def _sort_key(addr: str) -> tuple[int, int, str]:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return (9, 0, addr)
    return (ip.version, int(ip), addr)


def desired_ingress(nodes: list[Obj]) -> list[Obj]:
    """One ``{"ip": address}`` per distinct address of the eligible nodes, sorted."""
    found = {a for n in nodes if eligible(n) for a in node_addresses(n)}
    return [{"ip": a} for a in sorted(found, key=_sort_key)]


def _node_view(node: Mapping[str, Any]) -> tuple[bool, tuple[str, ...]]:
    """What of a node can change the ingress of a service."""
    return eligible(node), tuple(node_addresses(node))


class ServiceLBController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.rt.api
        self.events = ctx.rt.events
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        inf = ctx.rt.informers
        self.services: Informer[Obj] = inf.informer("services")
        self.nodes: Informer[Obj] = inf.informer("nodes")
        self.services.add_event_handler(self._service_added, self._service_updated, None)
        self.nodes.add_event_handler(self._node_changed, self._node_updated, self._node_changed)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 2),
                                     trace_context=self._trace_context)

    # --- handlers ---------------------------------------------------------------

    def _service_added(self, svc: Obj) -> None:
        if wants_ingress(svc) or current_ingress(svc):
            self.queue.add(self.services.key_of(svc))

    def _service_updated(self, old: Obj, new: Obj) -> None:
        if wants_ingress(old) or wants_ingress(new) or current_ingress(new):
            self.queue.add(self.services.key_of(new))

    def _node_changed(self, node: Obj) -> None:
        for svc in self.services.list():
            if wants_ingress(svc):
                self.queue.add(self.services.key_of(svc))

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if old is new or _node_view(old) != _node_view(new):
            self._node_changed(new)

    def _trace_context(self, key: str) -> Context | None:
        return context_from_object(self.services.get(key))

    # --- reconcile ----------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        svc = self.services.get(key)
        if svc is None:
            return None
        have = current_ingress(svc)
        want = desired_ingress(self.nodes.list()) if wants_ingress(svc) else []
        if not wants_ingress(svc) and _spec(svc).get("loadBalancerClass"):
            return None  # another implementation's service: its status is not ours
        if have == want:
            return None
        k = parse_key(key)
        # the cached object (its resourceVersion: a stale write is a conflict), new status
        body: Obj = {**svc, "status": {**(svc.get("status") or {}),
                                       "loadBalancer": {"ingress": want} if want else {}}}
        try:
            await self.api.update_status("services", k.namespace, k.name, body)
        except apierrors.ApiError as err:
            if err.code == 404:
                return None  # gone; its delete event ends this
            if err.code == 409:
                return Requeue(reason=f"service {k.namespace}/{k.name}: cache behind ({err})")
            raise
        if want:
            ips = ", ".join(str(i["ip"]) for i in want)
            self.events.record(svc, NORMAL, "UpdatedIngressIP",
                               f"LoadBalancer Ingress IP addresses updated: {ips}")
        log.info("service %s/%s: load-balancer ingress %s", k.namespace, k.name,
                 [i["ip"] for i in want] or "cleared")
        return None


def build(ctx: ControllerContext) -> Controller:
    return ServiceLBController(ctx).controller


__all__ = ["ServiceLBController", "build", "desired_ingress", "node_addresses", "wants_ingress"]
