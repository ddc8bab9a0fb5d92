"""Turning a service's desired endpoints into EndpointSlice writes; shared by the
EndpointSlice controller (endpointslice.py) and the mirroring controller
(endpointslicemirroring.py).

Kubernetes' ``endpointslice`` reconciler (``reconcileByAddressType``), per address type:

1. the desired endpoints are grouped by their port set (endpoints of one slice share its
   ports);
2. every existing slice of the owner is walked: a slice whose port set is no longer
   wanted is deleted; otherwise its endpoints that are still wanted stay (updated when
   their conditions, node or zone changed), the others are dropped, and the slice is
   updated if anything changed, its labels included (they are the owner's, exactly), or
   deleted when nothing of it is left;
3. the endpoints left over fill the slices already being updated (the fullest first),
   then, when fewer than a slice's worth remain, an unchanged slice with room for all of
   them (the fullest that fits), and the rest go into new slices of at most
   ``max_per_slice`` endpoints (``generateName``: ``<service>-``);
4. a service with no endpoints at all keeps one empty *placeholder* slice (no ports),
   as Kubernetes does, when ``placeholder`` is set;
5. a slice to delete is reused (updated under its name) for one to create.

Writes change only what differs; a write error stops the pass and is raised (the caller
requeues).  :class:`SliceTracker` is Kubernetes' ``EndpointSliceTracker``: it remembers
the resourceVersion of every slice this controller wrote and the slices it deleted, so a
pass never runs on an informer cache that has not seen them yet (which could create a
second copy of a slice).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from jetkube.schemas.discovery import MANAGED_BY_LABEL, SERVICE_NAME_LABEL
from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors
from ..machinery.client import ApiClient

__all__ = ["API_VERSION", "MANAGED_BY_LABEL", "MAX_ENDPOINTS_PER_SLICE", "RESOURCE",
           "SERVICE_NAME_LABEL", "Desired", "Plan", "SliceOwner", "SliceTracker", "apply",
           "endpoint_key", "new_slice", "plan", "ports_key"]

API_VERSION = "discovery.k8s.io/v1"
RESOURCE = "endpointslices"
MAX_ENDPOINTS_PER_SLICE = 100  # kube-controller-manager's --max-endpoints-per-slice

PortsKey = tuple[tuple[str, str, int, str], ...]


def _md(obj: Obj) -> dict[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, dict) else {}


def ports_key(ports: Iterable[Obj]) -> PortsKey:
    """A port set, independent of order (Kubernetes' ``portMapKey``)."""
    return tuple(sorted((str(p.get("name") or ""), str(p.get("protocol") or "TCP"),
                         int(p.get("port") or 0), str(p.get("appProtocol") or ""))
                        for p in ports))


def endpoint_key(ep: Obj) -> tuple[tuple[str, ...], str]:
    """Which endpoint this is, whatever its conditions: its addresses and target."""
    return tuple(ep.get("addresses") or ()), str((ep.get("targetRef") or {}).get("uid") or "")


@dataclass
class Desired:
    """What one owner wants, for one address type: endpoints grouped by port set."""

    address_type: str
    groups: dict[PortsKey, tuple[list[Obj], list[Obj]]] = field(default_factory=dict)

    def add(self, ports: list[Obj], endpoint: Obj) -> None:
        self.groups.setdefault(ports_key(ports), (ports, []))[1].append(endpoint)


@dataclass
class SliceOwner:
    """Whose slices these are: the metadata every slice of the owner carries."""

    namespace: str
    service: str
    labels: dict[str, str]  # service-name and managed-by included
    owner_ref: dict[str, Any]


def new_slice(owner: SliceOwner, address_type: str, ports: list[Obj], endpoints: list[Obj]
              ) -> Obj:
    md: Obj = {"generateName": f"{owner.service}-", "namespace": owner.namespace,
               "labels": dict(owner.labels), "ownerReferences": [dict(owner.owner_ref)]}
    return {"apiVersion": API_VERSION, "kind": "EndpointSlice", "metadata": md,
            "addressType": address_type, "endpoints": endpoints, "ports": ports}


class SliceTracker:
    """The slices a controller wrote (name → resourceVersion) and deleted, per owner key,
    until its informer cache has seen them."""

    def __init__(self) -> None:
        self._written: dict[str, dict[str, int]] = {}
        self._deleted: dict[str, set[str]] = {}

    def wrote(self, key: str, obj: Obj) -> None:
        self._written.setdefault(key, {})[str(_md(obj).get("name"))] = _rv(obj)
        self._deleted.get(key, set()).discard(str(_md(obj).get("name")))

    def deleted(self, key: str, name: str) -> None:
        self._written.get(key, {}).pop(name, None)
        self._deleted.setdefault(key, set()).add(name)

    def handle_deletion(self, key: str, name: str) -> None:
        """The informer saw a slice go (ours, or deleted by someone else): stop waiting
        for it (Kubernetes' ``HandleDeletion``)."""
        self._written.get(key, {}).pop(name, None)
        self._deleted.get(key, set()).discard(name)

    def stale(self, key: str, cached: list[Obj]) -> bool:
        """Has the cache not yet seen a write or a delete of ours?  What it has seen is
        forgotten."""
        seen = {str(_md(s).get("name")): _rv(s) for s in cached}
        written = self._written.get(key, {})
        for name in [n for n, rv in written.items() if seen.get(n, -1) >= rv]:
            del written[name]
        deleted = self._deleted.get(key, set())
        deleted &= set(seen)
        return bool(written) or bool(deleted)

    def forget(self, key: str) -> None:
        self._written.pop(key, None)
        self._deleted.pop(key, None)


def _rv(obj: Obj) -> int:
    try:
        return int(_md(obj).get("resourceVersion") or 0)
    except ValueError:
        return 0


@dataclass
class Plan:
    """The writes of one pass: slices to create, update (whole objects) and delete."""

    creates: list[Obj] = field(default_factory=list)
    updates: list[Obj] = field(default_factory=list)
    deletes: list[Obj] = field(default_factory=list)

    def add(self, other: Plan) -> None:
        self.creates += other.creates
        self.updates += other.updates
        self.deletes += other.deletes


def plan(owner: SliceOwner, desired: Desired, existing: list[Obj], *,
         max_per_slice: int = MAX_ENDPOINTS_PER_SLICE, placeholder: bool = True) -> Plan:
    """The writes that turn ``existing`` (the owner's slices of this address type) into
    ``desired``."""
    out = Plan()
    todo: dict[PortsKey, dict[tuple[tuple[str, ...], str], Obj]] = {
        pk: {endpoint_key(ep): ep for ep in eps} for pk, (_, eps) in desired.groups.items()}
    unchanged: list[Obj] = []
    for s in existing:
        wanted = todo.get(ports_key(s.get("ports") or ()))
        if wanted is None:
            out.deletes.append(s)
            continue
        kept = [w for ep in s.get("endpoints") or ()
                if (w := wanted.pop(endpoint_key(ep), None)) is not None]
        if kept == list(s.get("endpoints") or ()) and \
                (_md(s).get("labels") or {}) == owner.labels:
            unchanged.append(s)
        elif kept:
            out.updates.append(_with(s, owner, kept))
        else:
            out.deletes.append(s)
    for pk, wanted in todo.items():
        left = [wanted[k] for k in sorted(wanted)]
        left = _fill(out, owner, pk, left, unchanged, max_per_slice)
        ports = desired.groups[pk][0]
        for i in range(0, len(left), max_per_slice):
            out.creates.append(new_slice(owner, desired.address_type, list(ports),
                                         left[i:i + max_per_slice]))
    if placeholder and len(out.deletes) == len(existing) and not out.creates:
        if len(out.deletes) == 1 and _is_placeholder(out.deletes[0]):
            out.deletes = []  # it is there already
        else:
            out.creates.append(new_slice(owner, desired.address_type, [], []))
    _reuse_deleted(out, owner)
    return out


def _fill(out: Plan, owner: SliceOwner, pk: PortsKey, left: list[Obj], unchanged: list[Obj],
          max_per_slice: int) -> list[Obj]:
    """Put leftover endpoints into slices being updated (fullest first), then, when less
    than a slice's worth is left, into the fullest unchanged slice they all fit in."""
    for s in sorted((s for s in out.updates if ports_key(s.get("ports") or ()) == pk),
                    key=lambda s: -len(s["endpoints"])):
        room = max(max_per_slice - len(s["endpoints"]), 0)
        s["endpoints"] += left[:room]
        left = left[room:]
    if 0 < len(left) < max_per_slice:
        fits = [s for s in unchanged if ports_key(s.get("ports") or ()) == pk
                and len(s.get("endpoints") or ()) + len(left) <= max_per_slice]
        if fits:
            best = max(fits, key=lambda s: len(s.get("endpoints") or ()))
            unchanged.remove(best)
            out.updates.append(_with(best, owner, [*(best.get("endpoints") or ()), *left]))
            return []
    return left


def _is_placeholder(s: Obj) -> bool:
    return not s.get("endpoints") and not s.get("ports")


def _reuse_deleted(out: Plan, owner: SliceOwner) -> None:
    """A slice to delete becomes a slice to create, under its old name (one update instead
    of a create and a delete), as Kubernetes' ``finalize`` does."""
    while out.creates and out.deletes:
        old, new = out.deletes.pop(), out.creates.pop()
        md = {**_md(old), "labels": dict(owner.labels),
              "ownerReferences": [dict(owner.owner_ref)]}
        out.updates.append({**old, "metadata": md, "endpoints": new["endpoints"],
                            "ports": new["ports"]})


def _with(s: Obj, owner: SliceOwner, endpoints: list[Obj]) -> Obj:
    md = dict(_md(s))
    md["labels"] = dict(owner.labels)
    return {**s, "metadata": md, "endpoints": list(endpoints)}


async def apply(api: ApiClient, tracker: SliceTracker, key: str, p: Plan) -> None:
    """Make the planned writes: creates, then updates, then deletes (so a service never
    has fewer endpoints than before in between)."""
    for body in p.creates:
        ns = _md(body).get("namespace")
        tracker.wrote(key, await api.create(RESOURCE, ns, body))
    for body in p.updates:
        md = _md(body)
        tracker.wrote(key, await api.update(RESOURCE, md.get("namespace"), str(md.get("name")),
                                            body))
    for body in p.deletes:
        md = _md(body)
        try:
            await api.delete(RESOURCE, md.get("namespace"), str(md.get("name")))
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
        tracker.deleted(key, str(md.get("name")))
