"""The endpoints controller: keeps an Endpoints object per Service with a selector.

As Kubernetes' endpoints controller: for each Service with a selector, the
pods of its namespace that match the selector become addresses of an
Endpoints object of the same name.  A pod counts once it has an IP and is not
finished (Succeeded/Failed) nor terminating; its address (IP, nodeName,
targetRef, hostname for a headless service's subdomain) is *ready* when its
Ready condition is True, else listed under ``notReadyAddresses``
(``publishNotReadyAddresses`` makes every such pod ready, terminating ones
included).  Ports are resolved per pod: a named ``targetPort`` is looked up in
the pod's container ports (same protocol), a number is used as is; the port's
name and protocol are kept.  Addresses with the same port set share a subset,
sorted so equal content compares equal; the object is written only when it
changes, and deleted when its service goes.

Handlers map a pod to the services whose selector matches its labels (old and
new), a service or Endpoints object to the service's key; ``reconcile`` reads
only caches.  The Endpoints it writes carry ``endpointslice.kubernetes.io/skip-mirror``
(the EndpointSlice controller makes this service's slices from its pods; the mirroring
controller must not copy them).

Which pods count, their ports, hostnames and what of a pod matters
(``should_be_in_endpoints``, ``find_port``, ``should_set_hostname``, ``endpoint_fields``,
``services_selecting``) are Kubernetes' ``endpointutil``: the EndpointSlice controller
(endpointslice.py) uses the same functions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context

from jetkube.schemas import set_matches
from jetkube.schemas.objects import Obj, condition_is_true

from ..machinery.apimachinery import apierrors, object_key, parse_key
from ..machinery.client import Controller, Informer, Requeue, WorkQueue
from ..machinery.runtime.telemetry import context_from_object
from .context import ControllerContext

log = logging.getLogger(__name__)

NAME = "endpoints"
MANAGED_BY = "endpoints.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpoint-controller"
HEADLESS = "service.kubernetes.io/headless"
SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, Mapping) else {}


def selects(selector: Mapping[str, str] | None, labels: Mapping[str, str] | None) -> bool:
    """A service's selector (a plain map; empty or missing selects nothing)."""
    if not selector:
        return False
    return set_matches(selector, labels)


def find_port(pod: Mapping[str, Any], port: Mapping[str, Any]) -> int | None:
    """The pod's port for a service port: a numeric targetPort as is, a name looked up."""
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    if target is None:
        return None
    proto = port.get("protocol") or "TCP"
    for c in (pod.get("spec") or {}).get("containers") or ():
        for p in c.get("ports") or ():
            if p.get("name") == target and (p.get("protocol") or "TCP") == proto:
                return int(p["containerPort"])
    return None


def should_be_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """Kubernetes' ``ShouldPodBeInEndpoints``: not finished, has an IP, and not terminating
    unless ``include_terminating``."""
    status = pod.get("status") or {}
    if not status.get("podIP") or status.get("phase") in ("Succeeded", "Failed"):
        return False
    return include_terminating or not _md(pod).get("deletionTimestamp")


def should_set_hostname(pod: Mapping[str, Any], svc: Mapping[str, Any]) -> bool:
    """Kubernetes' ``ShouldSetHostname``: the pod has a hostname and the service is its
    subdomain (same namespace)."""
    spec = pod.get("spec") or {}
    return bool(spec.get("hostname")) and spec.get("subdomain") == _md(svc).get("name") \
        and _md(pod).get("namespace") == _md(svc).get("namespace")


def _address(pod: Mapping[str, Any], svc: Mapping[str, Any]) -> Obj:
    md, spec = _md(pod), pod.get("spec") or {}
    addr: Obj = {"ip": (pod.get("status") or {})["podIP"]}
    if should_set_hostname(pod, svc):
        addr["hostname"] = spec["hostname"]
    if spec.get("nodeName"):
        addr["nodeName"] = spec["nodeName"]
    addr["targetRef"] = {"kind": "Pod", "namespace": md.get("namespace"), "name": md.get("name"),
                         "uid": md.get("uid")}
    return addr


def _endpoint_port(port: Mapping[str, Any], number: int) -> Obj:
    out: Obj = {"port": number, "protocol": port.get("protocol") or "TCP"}
    if port.get("name"):
        out["name"] = port["name"]
    if port.get("appProtocol"):
        out["appProtocol"] = port["appProtocol"]
    return out


def _port_key(p: Mapping[str, Any]) -> tuple[str, int, str]:
    return (str(p.get("name") or ""), int(p["port"]), str(p.get("protocol") or "TCP"))


def desired_subsets(svc: Mapping[str, Any], pods: list[Obj]) -> list[Obj]:
    """The Endpoints subsets for ``svc`` given the pods of its namespace (packed, sorted)."""
    spec = svc.get("spec") or {}
    selector = spec.get("selector")
    tolerate = bool(spec.get("publishNotReadyAddresses"))
    svc_ports = spec.get("ports") or []
    groups: dict[tuple[tuple[str, int, str], ...], tuple[list[Obj], list[Obj], list[Obj]]] = {}
    for pod in pods:
        if not selects(selector, _md(pod).get("labels")) or not should_be_in_endpoints(
                pod, tolerate):
            continue
        ports: list[Obj] = []
        for sp in svc_ports:
            number = find_port(pod, sp)
            if number is None:
                log.debug("service %s: port %s not found on pod %s", _md(svc).get("name"),
                          sp.get("targetPort"), _md(pod).get("name"))
                continue
            ports.append(_endpoint_port(sp, number))
        if svc_ports and not ports:
            continue  # none of the service's ports exists on this pod
        ports.sort(key=_port_key)
        key = tuple(_port_key(p) for p in ports)
        ready, not_ready, _ = groups.setdefault(key, ([], [], ports))
        (ready if tolerate or condition_is_true(pod, "Ready") else not_ready).append(_address(pod, svc))
    subsets: list[Obj] = []
    for key in sorted(groups):
        ready, not_ready, ports = groups[key]
        subset: Obj = {}
        if ready:
            subset["addresses"] = sorted(ready, key=_addr_key)
        if not_ready:
            subset["notReadyAddresses"] = sorted(not_ready, key=_addr_key)
        if ports:
            subset["ports"] = ports
        subsets.append(subset)
    return subsets


def _addr_key(a: Mapping[str, Any]) -> tuple[str, str]:
    return (str(a.get("ip")), str((a.get("targetRef") or {}).get("uid") or ""))


def endpoint_fields(pod: Mapping[str, Any]) -> tuple[Any, ...]:
    """What of a pod can change its endpoints."""
    md, spec, st = _md(pod), pod.get("spec") or {}, pod.get("status") or {}
    ports = [c.get("ports") for c in spec.get("containers") or ()]
    return (md.get("labels"), bool(md.get("deletionTimestamp")), st.get("podIP"), st.get("phase"),
            condition_is_true(pod, "Ready"), spec.get("nodeName"), spec.get("hostname"),
            spec.get("subdomain"), ports)


def services_selecting(services: Informer[Obj], pod: Mapping[str, Any]) -> list[str]:
    """The keys of the cached services of the pod's namespace whose selector matches it
    (Kubernetes' ``GetPodServiceMemberships``)."""
    md = _md(pod)
    labels = md.get("labels")
    return [services.key_of(svc) for svc in services.list(str(md.get("namespace") or ""))
            if selects((svc.get("spec") or {}).get("selector"), labels)]


def follow_pods(pods: Informer[Obj], services: Informer[Obj], queue: WorkQueue[str]) -> None:
    """Map pod events to the keys of the Services selecting the pod, under its new labels
    and, when they changed, its old ones; an update that changes nothing endpoints show
    (and a resync) maps to nothing.  The Endpoints and EndpointSlice controllers' pod
    handlers (Kubernetes' ``updatePod`` / ``GetServicesToUpdateOnPodChange``)."""

    def added(pod: Obj) -> None:
        for key in services_selecting(services, pod):
            queue.add(key)

    def updated(old: Obj, new: Obj) -> None:
        if old is new or endpoint_fields(old) == endpoint_fields(new):
            return  # a resync (services resync themselves) or nothing endpoints show
        added(new)
        if _md(old).get("labels") != _md(new).get("labels"):
            added(old)

    pods.add_event_handler(added, updated, added)


class EndpointsController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.rt.api
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        inf = ctx.rt.informers
        self.services: Informer[Obj] = inf.informer("services")
        self.pods: Informer[Obj] = inf.informer("pods")
        self.endpoints: Informer[Obj] = inf.informer("endpoints")
        self.services.add_event_handler(self._service_changed,
                                        lambda old, new: self._service_changed(new),
                                        self._service_changed)
        follow_pods(self.pods, self.services, self.queue)
        self.endpoints.add_event_handler(self._endpoints_changed,
                                         lambda old, new: self._endpoints_changed(new),
                                         self._endpoints_changed)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 5),
                                     trace_context=self._trace_context)

    # --- handlers ---------------------------------------------------------------

    def _service_changed(self, svc: Obj) -> None:
        self.queue.add(self.services.key_of(svc))

    def _endpoints_changed(self, ep: Obj) -> None:
        md = _md(ep)
        self.queue.add(object_key("services", md.get("namespace"), str(md.get("name"))))

    def _trace_context(self, key: str) -> Context | None:
        return context_from_object(self.services.get(key))

    # --- reconcile ----------------------------------------------------------------

    async def reconcile(self, key: str) -> Requeue | None:
        k = parse_key(key)
        ep_key = object_key("endpoints", k.namespace, k.name)
        ep = self.endpoints.get(ep_key)
        svc = self.services.get(key)
        if svc is None:
            if ep is not None and (_md(ep).get("labels") or {}).get(MANAGED_BY) == CONTROLLER_NAME:
                await self._delete(k.namespace, k.name)
            return None
        spec = svc.get("spec") or {}
        if not spec.get("selector") or spec.get("type") == "ExternalName":
            return None  # endpoints of a selector-less service are its owner's to write
        subsets = desired_subsets(svc, self.pods.list(k.namespace))
        labels = dict(_md(svc).get("labels") or {})
        labels[MANAGED_BY] = CONTROLLER_NAME
        labels[SKIP_MIRROR] = "true"
        if spec.get("clusterIP") == "None":
            labels[HEADLESS] = ""
        if ep is not None and (ep.get("subsets") or []) == subsets and (
                _md(ep).get("labels") or {}) == labels:
            return None
        body: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": k.name, "namespace": k.namespace, "labels": labels},
                     "subsets": subsets}
        try:
            if ep is None:
                await self.api.create("endpoints", k.namespace, body)
            else:
                md = _md(ep)
                body["metadata"]["resourceVersion"] = md.get("resourceVersion")
                if md.get("annotations"):
                    body["metadata"]["annotations"] = md["annotations"]
                await self.api.update("endpoints", k.namespace, k.name, body)
        except apierrors.ApiError as err:
            if err.code in (404, 409):
                return Requeue(reason=f"endpoints {k.namespace}/{k.name}: cache behind ({err})")
            if namespace_terminating(err):
                return None  # the namespace is being deleted
            raise
        return None

    async def _delete(self, namespace: str, name: str) -> None:
        try:
            await self.api.delete("endpoints", namespace, name)
        except apierrors.ApiError as err:
            if err.code != 404:
                raise


def namespace_terminating(err: apierrors.ApiError) -> bool:
    """A create refused because the namespace is being deleted (nothing to retry)."""
    return err.code == 403 and "being terminated" in str(err)


def build(ctx: ControllerContext) -> Controller:
    return EndpointsController(ctx).controller


__all__ = ["EndpointsController", "build", "desired_subsets", "endpoint_fields", "find_port",
           "follow_pods", "namespace_terminating", "selects", "services_selecting",
           "should_be_in_endpoints", "should_set_hostname"]
