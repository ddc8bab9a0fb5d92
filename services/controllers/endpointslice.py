"""The EndpointSlice controller: EndpointSlices (discovery.k8s.io/v1) for every Service
with a selector, beside the Endpoints the endpoints controller writes.

As Kubernetes' endpointslice controller: for a Service with a selector (not of type
ExternalName), each pod of its namespace the selector matches that has an IP and is not
finished becomes an endpoint (terminating pods stay, marked so) of each of the service's
address types (its ``ipFamilies``, IPv4 by default):

- ``conditions``: ``serving`` = the pod is Ready, ``terminating`` = it is being deleted,
  ``ready`` = serving and not terminating (always true with
  ``publishNotReadyAddresses``);
- ``nodeName``, ``zone`` (the node's ``topology.kubernetes.io/zone`` label), ``targetRef``
  (the pod), ``hostname`` when the service is the pod's subdomain;
- ports: each service port resolved on the pod (a named ``targetPort`` looked up in its
  containers); endpoints with the same port set share slices.

Slices are named ``<service>-<random>``, labelled ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io`` (plus the
service's labels, and ``service.kubernetes.io/headless`` for a headless one), controlled
by the Service (the garbage collector deletes them with it), and hold at most 100
endpoints; endpointslice_reconciler.py decides the writes.  Which pods count and how
ports resolve is endpoints.py's, shared with the endpoints controller.

Handlers map a service, a pod (the services selecting it, before and after) or one of
our slices to a service key; ``reconcile`` reads only caches, and waits while the slice
cache has not caught up with its own writes.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from typing import Any

from opentelemetry.context import Context

from jetkube.schemas.objects import Obj, condition_is_true

from ..machinery.apimachinery import apierrors, object_key, parse_key
from ..machinery.client import Controller, Informer, Requeue, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from . import endpointslice_reconciler as slices
from .context import ControllerContext
from .endpoints import (
    HEADLESS,
    find_port,
    follow_pods,
    namespace_terminating,
    selects,
    should_be_in_endpoints,
    should_set_hostname,
)

log = logging.getLogger(__name__)

NAME = "endpointslice"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
ZONE_LABEL = "topology.kubernetes.io/zone"
SERVICE_INDEX = "endpointslice/service"


def _md(obj: Obj) -> dict[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, dict) else {}


def managed_slices_index(managed_by: str) -> Any:
    """An index of slices by ``<namespace>/<service>``, for slices ``managed_by`` writes."""

    def index(s: Obj) -> Iterable[str]:
        labels = _md(s).get("labels") or {}
        service = labels.get(slices.SERVICE_NAME_LABEL)
        if labels.get(slices.MANAGED_BY_LABEL) != managed_by or not service:
            return ()
        return (f"{_md(s).get('namespace')}/{service}",)

    return index


def address_types(svc: Obj) -> list[str]:
    """Kubernetes' ``getAddressTypesForService``: the service's IP families."""
    spec = svc.get("spec") or {}
    families = spec.get("ipFamilies") or []
    if not families and spec.get("clusterIP") not in (None, "", "None"):
        families = [f"IPv{ipaddress.ip_address(spec['clusterIP']).version}"]
    return list(families) or ["IPv4"]


def pod_addresses(pod: Obj, address_type: str) -> list[str]:
    """The pod's IPs of one family (``status.podIPs``, else ``status.podIP``)."""
    status = pod.get("status") or {}
    ips = [str(p.get("ip")) for p in status.get("podIPs") or () if p.get("ip")]
    if not ips and status.get("podIP"):
        ips = [str(status["podIP"])]
    version = 6 if address_type == "IPv6" else 4
    out: list[str] = []
    for ip in ips:
        try:
            if ipaddress.ip_address(ip).version == version:
                out.append(ip)
        except ValueError:
            continue
    return out


def endpoint_ports(svc: Obj, pod: Obj) -> list[Obj]:
    """Kubernetes' ``getEndpointPorts``: the service's ports the pod has, resolved."""
    out: list[Obj] = []
    for sp in (svc.get("spec") or {}).get("ports") or ():
        number = find_port(pod, sp)
        if number is None:
            continue
        port: Obj = {"name": str(sp.get("name") or ""), "protocol": sp.get("protocol") or "TCP",
                     "port": number}
        if sp.get("appProtocol"):
            port["appProtocol"] = sp["appProtocol"]
        out.append(port)
    return out


def pod_to_endpoint(pod: Obj, svc: Obj, addresses: list[str], node: Obj | None) -> Obj:
    """Kubernetes' ``podToEndpoint``."""
    md, spec = _md(pod), pod.get("spec") or {}
    serving = condition_is_true(pod, "Ready")
    terminating = bool(md.get("deletionTimestamp"))
    publish = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    ep: Obj = {"addresses": addresses,
               "conditions": {"ready": publish or (serving and not terminating),
                              "serving": serving, "terminating": terminating},
               "targetRef": {"kind": "Pod", "namespace": md.get("namespace"),
                             "name": md.get("name"), "uid": md.get("uid")}}
    if spec.get("nodeName"):
        ep["nodeName"] = spec["nodeName"]
    zone = (_md(node).get("labels") or {}).get(ZONE_LABEL) if node is not None else None
    if zone:
        ep["zone"] = zone
    if should_set_hostname(pod, svc):
        ep["hostname"] = spec["hostname"]
    return ep


def slice_labels(svc: Obj) -> dict[str, str]:
    """The service's labels, its name and ours (Kubernetes' ``setEndpointSliceLabels``)."""
    md = _md(svc)
    labels = {k: v for k, v in (md.get("labels") or {}).items()
              if k not in (slices.SERVICE_NAME_LABEL, slices.MANAGED_BY_LABEL, HEADLESS)}
    if (svc.get("spec") or {}).get("clusterIP") == "None":
        labels[HEADLESS] = ""
    labels[slices.SERVICE_NAME_LABEL] = str(md.get("name"))
    labels[slices.MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels


class EndpointSliceController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.rt.api
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        inf = ctx.rt.informers
        self.services: Informer[Obj] = inf.informer("services")
        self.pods: Informer[Obj] = inf.informer("pods")
        self.nodes: Informer[Obj] = inf.informer("nodes")
        self.slices: Informer[Obj] = inf.informer(slices.RESOURCE)
        self.slices.ensure_indexer(SERVICE_INDEX, managed_slices_index(CONTROLLER_NAME))
        self.tracker = slices.SliceTracker()
        self.services.add_event_handler(self._service_changed,
                                        lambda old, new: self._service_changed(new),
                                        self._service_changed)
        follow_pods(self.pods, self.services, self.queue)
        self.slices.add_event_handler(self._slice_changed,
                                      lambda old, new: self._slice_changed(new),
                                      self._slice_deleted)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 5),
                                     trace_context=self._trace_context)

    # --- handlers ---------------------------------------------------------------

    def _service_changed(self, svc: Obj) -> None:
        self.queue.add(self.services.key_of(svc))

    def _slice_changed(self, s: Obj) -> None:
        for ref in managed_slices_index(CONTROLLER_NAME)(s):
            ns, _, name = ref.partition("/")
            self.queue.add(object_key("services", ns, name))

    def _slice_deleted(self, s: Obj) -> None:
        for ref in managed_slices_index(CONTROLLER_NAME)(s):
            ns, _, name = ref.partition("/")
            key = object_key("services", ns, name)
            self.tracker.handle_deletion(key, str(_md(s).get("name")))
            self.queue.add(key)

    def _trace_context(self, key: str) -> Context | None:
        return context_from_object(self.services.get(key))

    # --- reconcile ----------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        k = parse_key(key)
        svc = self.services.get(key)
        if svc is None:
            self.tracker.forget(key)  # its slices go with it (garbage collector)
            return None
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName" or not spec.get("selector"):
            return None  # slices of a selector-less service are made by others
        existing = self.slices.by_index(SERVICE_INDEX, f"{k.namespace}/{k.name}")
        if self.tracker.stale(key, existing):
            return Requeue(reason="EndpointSlice informer cache is out of date")
        owner = slices.SliceOwner(
            k.namespace, k.name, slice_labels(svc),
            {"apiVersion": "v1", "kind": "Service", "name": k.name,
             "uid": _md(svc).get("uid"), "controller": True, "blockOwnerDeletion": True})
        pods = [p for p in self.pods.list(k.namespace)
                if selects(spec.get("selector"), _md(p).get("labels"))
                and should_be_in_endpoints(p, True)]
        types = address_types(svc)
        plan = slices.Plan(deletes=[s for s in existing if s.get("addressType") not in types])
        for at in types:
            desired = slices.Desired(at)
            for pod in pods:
                addresses = pod_addresses(pod, at)
                if addresses:
                    node = self.nodes.get_by_name(None, str(
                        (pod.get("spec") or {}).get("nodeName") or ""))
                    desired.add(endpoint_ports(svc, pod), pod_to_endpoint(pod, svc, addresses,
                                                                          node))
            plan.add(slices.plan(owner, desired,
                                 [s for s in existing if s.get("addressType") == at]))
        try:
            await slices.apply(self.api, self.tracker, key, plan)
        except apierrors.ApiError as err:
            if err.code in (404, 409):
                return Requeue(reason=f"endpointslices of {k.namespace}/{k.name}: {err}")
            if namespace_terminating(err):
                return None
            raise
        return None


def build(ctx: ControllerContext) -> Controller:
    return EndpointSliceController(ctx).controller
