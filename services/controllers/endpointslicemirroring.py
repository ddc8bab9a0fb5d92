"""The EndpointSlice mirroring controller: EndpointSlices for Endpoints that someone other
than the endpoints controller writes, i.e. those of Services without a selector (the API
server's own ``default/kubernetes``, or Endpoints a user maintains).

As Kubernetes' endpointslicemirroring controller, for a Service without a selector (not
ExternalName) whose Endpoints object exists and is not labelled
``endpointslice.kubernetes.io/skip-mirror: "true"`` (nor a leader-election record): each
subset's addresses become endpoints (``ready`` true, its ``notReadyAddresses`` false;
at most 1000 a subset, ready ones first) carrying the address's ``nodeName``,
``hostname`` and ``targetRef``, grouped by port set and address family (IPv4/IPv6,
addresses of neither are skipped).  Slices are named ``<endpoints>-<random>``, labelled
like the Endpoints plus ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by: endpointslicemirroring-controller.k8s.io``, and
controlled by the Endpoints object (they go with it).  When the Service gains a selector,
its Endpoints go, or mirroring is switched off, the mirrored slices are deleted.

Writes go through endpointslice_reconciler.py (one slice holds up to 1000 endpoints, no
placeholder).  Handlers map an Endpoints object, a Service or one of our slices to the
service key; ``reconcile`` reads only caches.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors, object_key, parse_key
from ..machinery.client import Controller, Informer, Requeue, WorkQueue
from . import endpointslice_reconciler as slices
from .context import ControllerContext
from .endpoints import SKIP_MIRROR, namespace_terminating
from .endpointslice import managed_slices_index

log = logging.getLogger(__name__)

NAME = "endpointslicemirroring"
CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io"
SERVICE_INDEX = "endpointslicemirroring/service"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
MAX_ENDPOINTS_PER_SUBSET = 1000  # --mirroring-max-endpoints-per-subset


def _md(obj: Obj) -> dict[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, dict) else {}


def should_mirror(endpoints: Obj) -> bool:
    """Kubernetes' ``shouldMirror``: not opted out, not a leader-election record."""
    md = _md(endpoints)
    return (md.get("labels") or {}).get(SKIP_MIRROR) != "true" and \
        LEADER_ANNOTATION not in (md.get("annotations") or {})


def _address_type(ip: str) -> str | None:
    try:
        return f"IPv{ipaddress.ip_address(ip).version}"
    except ValueError:
        return None


def address_to_endpoint(address: Obj, ready: bool) -> Obj:
    """Kubernetes' ``addressToEndpoint``."""
    ep: Obj = {"addresses": [str(address.get("ip"))], "conditions": {"ready": ready}}
    for field in ("targetRef", "nodeName", "hostname"):
        if address.get(field):
            ep[field] = address[field]
    return ep


def desired_by_type(endpoints: Obj) -> dict[str, slices.Desired]:
    """The mirrored endpoints of each address type, grouped by port set."""
    out: dict[str, slices.Desired] = {}
    for subset in endpoints.get("subsets") or ():
        ports = [{"name": str(p.get("name") or ""), "protocol": p.get("protocol") or "TCP",
                  "port": p.get("port"), **({"appProtocol": p["appProtocol"]}
                                             if p.get("appProtocol") else {})}
                 for p in subset.get("ports") or ()]
        addresses = [(a, True) for a in subset.get("addresses") or ()] + \
                    [(a, False) for a in subset.get("notReadyAddresses") or ()]
        for address, ready in addresses[:MAX_ENDPOINTS_PER_SUBSET]:
            at = _address_type(str(address.get("ip") or ""))
            if at is not None:
                out.setdefault(at, slices.Desired(at)).add(ports, address_to_endpoint(address,
                                                                                      ready))
    return out


def mirrored_labels(endpoints: Obj) -> dict[str, str]:
    labels = {k: v for k, v in (_md(endpoints).get("labels") or {}).items()
              if k not in (slices.SERVICE_NAME_LABEL, slices.MANAGED_BY_LABEL)}
    labels[slices.SERVICE_NAME_LABEL] = str(_md(endpoints).get("name"))
    labels[slices.MANAGED_BY_LABEL] = CONTROLLER_NAME
    return labels


class EndpointSliceMirroringController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.rt.api
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        inf = ctx.rt.informers
        self.services: Informer[Obj] = inf.informer("services")
        self.endpoints: Informer[Obj] = inf.informer("endpoints")
        self.slices: Informer[Obj] = inf.informer(slices.RESOURCE)
        self.index = managed_slices_index(CONTROLLER_NAME)
        self.slices.ensure_indexer(SERVICE_INDEX, self.index)
        self.tracker = slices.SliceTracker()
        for informer in (self.services, self.endpoints):
            informer.add_event_handler(self._changed, lambda old, new: self._changed(new),
                                       self._changed)
        self.slices.add_event_handler(self._slice_changed,
                                      lambda old, new: self._slice_changed(new),
                                      self._slice_deleted)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 5))

    # --- handlers ---------------------------------------------------------------

    def _changed(self, obj: Obj) -> None:
        md = _md(obj)
        self.queue.add(object_key("services", md.get("namespace"), str(md.get("name"))))

    def _slice_changed(self, s: Obj) -> None:
        for ref in self.index(s):
            ns, _, name = ref.partition("/")
            self.queue.add(object_key("services", ns, name))

    def _slice_deleted(self, s: Obj) -> None:
        for ref in self.index(s):
            ns, _, name = ref.partition("/")
            key = object_key("services", ns, name)
            self.tracker.handle_deletion(key, str(_md(s).get("name")))
            self.queue.add(key)

    # --- reconcile ----------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        k = parse_key(key)
        svc = self.services.get(key)
        if svc is None:
            self.tracker.forget(key)  # mirrored slices belong to the Endpoints object
            return None
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return None
        existing = self.slices.by_index(SERVICE_INDEX, f"{k.namespace}/{k.name}")
        if self.tracker.stale(key, existing):
            return Requeue(reason="EndpointSlice informer cache is out of date")
        ep = self.endpoints.get_by_name(k.namespace, k.name)
        plan = slices.Plan()
        if spec.get("selector") or ep is None or not should_mirror(ep):
            plan.deletes = list(existing)
        else:
            owner = slices.SliceOwner(
                k.namespace, k.name, mirrored_labels(ep),
                {"apiVersion": "v1", "kind": "Endpoints", "name": k.name,
                 "uid": _md(ep).get("uid"), "controller": True, "blockOwnerDeletion": True})
            desired = desired_by_type(ep)
            for at in sorted({*desired, *(str(s.get("addressType")) for s in existing)}):
                plan.add(slices.plan(owner, desired.get(at) or slices.Desired(at),
                                     [s for s in existing if s.get("addressType") == at],
                                     max_per_slice=MAX_ENDPOINTS_PER_SUBSET, placeholder=False))
        try:
            await slices.apply(self.api, self.tracker, key, plan)
        except apierrors.ApiError as err:
            if err.code in (404, 409):
                return Requeue(reason=f"mirrored endpointslices of {k.namespace}/{k.name}: "
                                      f"{err}")
            if namespace_terminating(err):
                return None
            raise
        return None


def build(ctx: ControllerContext) -> Controller:
    return EndpointSliceMirroringController(ctx).controller
