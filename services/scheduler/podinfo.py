"""What the scheduler needs to know about a pod, parsed once from its JSON.

A :class:`PodInfo` carries the pod's resource requests computed as
Kubernetes' ``resourcehelper.PodRequests`` does (containers summed, init
containers as a running maximum with restartable "sidecar" init containers
added to both, pod-level ``spec.resources`` when set, plus ``overhead``), the
"non-zero" requests the scoring plugins use (a container that requests no cpu
or memory counts as 100m / 200Mi, ``schedutil.DefaultMilliCPURequest`` and
``DefaultMemoryRequest``), host ports, tolerations, node selection terms, the
controller owner (for spreading), the inter-pod affinity terms (Kubernetes'
``AffinityTerm``s of ``framework.PodInfo``) and the scheduling attributes (priority,
schedulerName, gates).  Plugins read these fields; they never walk the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jetkube.schemas import cpu_millis, selector_dict_matches, to_bytes
from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import namespaced_name, namespaced_name_of

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL = "ephemeral-storage"
PODS = "pods"
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
# resources that never count as "extended" (scalar) resources
_NATIVE = frozenset({CPU, MEMORY, EPHEMERAL, PODS, "storage"})


@dataclass(slots=True)
class TolerationInfo:
    key: str
    operator: str  # "Equal" | "Exists"
    value: str
    effect: str  # "" matches every effect

    def tolerates(self, key: str, value: str, effect: str) -> bool:
        """``v1.Toleration.ToleratesTaint``."""
        if self.effect and self.effect != effect:
            return False
        if self.key and self.key != key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == value


@dataclass(slots=True)
class Requests:
    """Resource amounts in integer units: millicores, bytes, and raw scalars."""

    cpu: int = 0
    memory: int = 0
    ephemeral: int = 0
    scalars: dict[str, int] = field(default_factory=dict)

    def add(self, other: Requests) -> None:
        self.cpu += other.cpu
        self.memory += other.memory
        self.ephemeral += other.ephemeral
        for k, v in other.scalars.items():
            self.scalars[k] = self.scalars.get(k, 0) + v

    def max_with(self, other: Requests) -> None:
        self.cpu = max(self.cpu, other.cpu)
        self.memory = max(self.memory, other.memory)
        self.ephemeral = max(self.ephemeral, other.ephemeral)
        for k, v in other.scalars.items():
            self.scalars[k] = max(self.scalars.get(k, 0), v)

    def copy(self) -> Requests:
        return Requests(self.cpu, self.memory, self.ephemeral, dict(self.scalars))


def parse_resource_list(rl: Obj | None) -> Requests:
    """A ``ResourceList`` (``{"cpu": "500m", "memory": "1Gi", ...}``) in integer units."""
    if not rl:
        return Requests()
    try:
        return _parse_items(tuple(rl.items())).copy()
    except TypeError:  # an unhashable value: let the parser name it
        return _parse_items_uncached(tuple(rl.items()))


@lru_cache(maxsize=1024)
def _parse_items(items: tuple[tuple[str, Any], ...]) -> Requests:
    return _parse_items_uncached(items)


def _parse_items_uncached(items: tuple[tuple[str, Any], ...]) -> Requests:
    r = Requests()
    for name, q in items:
        if name == CPU:
            r.cpu = cpu_millis(q)
        elif name == MEMORY:
            r.memory = to_bytes(q)
        elif name == EPHEMERAL:
            r.ephemeral = to_bytes(q)
        elif name not in _NATIVE:
            r.scalars[name] = to_bytes(q)
    return r


def _container_requests(c: Obj, non_zero: bool) -> Requests:
    req = ((c.get("resources") or {}).get("requests")) or {}
    r = parse_resource_list(req)
    if non_zero:
        if CPU not in req:
            r.cpu = DEFAULT_MILLI_CPU_REQUEST
        if MEMORY not in req:
            r.memory = DEFAULT_MEMORY_REQUEST
    return r


def pod_requests(spec: Obj, non_zero: bool = False) -> Requests:
    """``resourcehelper.PodRequests``: what the pod asks a node for."""
    total = Requests()
    for c in spec.get("containers") or ():
        total.add(_container_requests(c, non_zero))
    restartable = Requests()
    init_max = Requests()
    for c in spec.get("initContainers") or ():
        cr = _container_requests(c, non_zero)
        if c.get("restartPolicy") == "Always":  # a sidecar runs beside the app containers
            total.add(cr)
            restartable.add(cr)
            cr = restartable.copy()
        else:
            cr.add(restartable)
        init_max.max_with(cr)
    total.max_with(init_max)
    pod_level = ((spec.get("resources") or {}).get("requests")) or {}
    if pod_level:
        pl = parse_resource_list(pod_level)
        if CPU in pod_level:
            total.cpu = pl.cpu
        if MEMORY in pod_level:
            total.memory = pl.memory
    overhead = spec.get("overhead")
    if overhead:
        total.add(parse_resource_list(overhead))
    return total


def _requests_and_non_zero(spec: Obj) -> tuple[Requests, int, int]:
    """``pod_requests(spec)`` and the non-zero cpu and memory of
    ``pod_requests(spec, non_zero=True)``; one walk over the containers when the pod has
    only app containers (most pods), else both in full."""
    if spec.get("initContainers") or spec.get("resources") or spec.get("overhead"):
        nz = pod_requests(spec, non_zero=True)
        return pod_requests(spec), nz.cpu, nz.memory
    total = Requests()
    nz_cpu = nz_memory = 0
    for c in spec.get("containers") or ():
        req = ((c.get("resources") or {}).get("requests")) or {}
        r = parse_resource_list(req)
        total.add(r)
        nz_cpu += r.cpu if CPU in req else DEFAULT_MILLI_CPU_REQUEST
        nz_memory += r.memory if MEMORY in req else DEFAULT_MEMORY_REQUEST
    return total, nz_cpu, nz_memory


def _tolerations(spec: Obj) -> list[TolerationInfo]:
    out: list[TolerationInfo] = []
    for t in spec.get("tolerations") or ():
        out.append(TolerationInfo(str(t.get("key") or ""), str(t.get("operator") or "Equal"),
                              str(t.get("value") or ""), str(t.get("effect") or "")))
    return out


def _host_ports(spec: Obj) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    for group in ("initContainers", "containers"):
        for c in spec.get(group) or ():
            for p in c.get("ports") or ():
                hp = p.get("hostPort")
                if hp:
                    out.append((str(p.get("hostIP") or "0.0.0.0"), str(p.get("protocol") or "TCP"),
                                int(hp)))
    return out


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """A ``PodAffinityTerm`` ready to match: the namespaces it names (the pod's own when it
    names none and has no namespaceSelector), its label selector (``matchLabelKeys`` /
    ``mismatchLabelKeys`` folded in from the pod's labels), its namespace selector (None:
    no namespace by selector; ``{}``: every namespace) and topology key."""

    namespaces: frozenset[str]
    selector: Obj | None
    namespace_selector: Obj | None
    topology_key: str
    weight: int = 0  # preferred terms only

    def matches(self, pod: PodInfo, namespace_labels: dict[str, str] | None) -> bool:
        """Kubernetes' ``AffinityTerm.Matches``: the pod's namespace is one of the term's (or
        its labels match the namespace selector) and its labels match the selector."""
        if pod.namespace not in self.namespaces and not (
                self.namespace_selector is not None and namespace_labels is not None
                and selector_dict_matches(self.namespace_selector, namespace_labels)):
            return False
        return selector_dict_matches(self.selector, pod.labels)


@dataclass(frozen=True, slots=True)
class InterPodTerms:
    """A pod's ``podAffinity`` and ``podAntiAffinity``, required and preferred."""

    required_affinity: tuple[AffinityTerm, ...]
    required_anti_affinity: tuple[AffinityTerm, ...]
    preferred_affinity: tuple[AffinityTerm, ...]
    preferred_anti_affinity: tuple[AffinityTerm, ...]


def _affinity_term(t: Obj, namespace: str, labels: dict[str, str], weight: int = 0
                   ) -> AffinityTerm:
    names = frozenset(str(n) for n in t.get("namespaces") or ())
    ns_selector = t.get("namespaceSelector")
    if not names and ns_selector is None:
        names = frozenset((namespace,))
    selector = t.get("labelSelector")
    extra = [{"key": k, "operator": "In", "values": [labels[k]]}
             for k in t.get("matchLabelKeys") or () if k in labels]
    extra += [{"key": k, "operator": "NotIn", "values": [labels[k]]}
              for k in t.get("mismatchLabelKeys") or () if k in labels]
    if selector is not None and extra:
        selector = {**selector, "matchExpressions": [*(selector.get("matchExpressions") or ()),
                                                     *extra]}
    return AffinityTerm(names, selector, ns_selector, str(t.get("topologyKey") or ""), weight)


def inter_pod_terms(spec: Obj, namespace: str, labels: dict[str, str]) -> InterPodTerms | None:
    """The pod's inter-pod affinity terms; None when it has none (most pods)."""
    affinity = spec.get("affinity") or {}
    aff, anti = affinity.get("podAffinity") or {}, affinity.get("podAntiAffinity") or {}
    if not aff and not anti:
        return None
    req = "requiredDuringSchedulingIgnoredDuringExecution"
    pref = "preferredDuringSchedulingIgnoredDuringExecution"

    def required(part: Obj) -> tuple[AffinityTerm, ...]:
        return tuple(_affinity_term(t, namespace, labels) for t in part.get(req) or ())

    def preferred(part: Obj) -> tuple[AffinityTerm, ...]:
        return tuple(_affinity_term(w.get("podAffinityTerm") or {}, namespace, labels,
                                    int(w.get("weight") or 0)) for w in part.get(pref) or ())

    parts = (required(aff), required(anti), preferred(aff), preferred(anti))
    return InterPodTerms(*parts) if any(parts) else None


def controller_owner(md: Obj) -> str:
    """The uid of the pod's controlling owner (``controller: true``), or ``""``."""
    for ref in md.get("ownerReferences") or ():
        if ref.get("controller") is True and ref.get("uid"):
            return str(ref["uid"])
    return ""


@dataclass(slots=True)
class PodInfo:
    """A pod as the scheduler sees it; ``pod`` is the (read-only) informer object."""

    pod: Obj
    key: str  # namespace/name
    namespace: str
    name: str
    uid: str
    node_name: str
    scheduler_name: str
    priority: int
    labels: dict[str, str]
    requests: Requests
    non_zero_cpu: int
    non_zero_memory: int
    host_ports: list[tuple[str, str, int]]
    tolerations: list[TolerationInfo]
    node_selector: dict[str, str]
    affinity: Obj  # spec.affinity.nodeAffinity ({} when none)
    spread_constraints: list[Obj]
    owner_uid: str
    gated: bool
    terminating: bool
    terminal: bool
    inter_pod: InterPodTerms | None = None  # podAffinity / podAntiAffinity (None: neither)

    @property
    def spec(self) -> Obj:
        spec: Obj = self.pod.get("spec") or {}
        return spec

    def with_object(self, pod: Obj) -> PodInfo:
        """This info over a newer object of the same pod (resources do not change)."""
        spec = pod.get("spec") or {}
        md = pod.get("metadata") or {}
        status = pod.get("status") or {}
        return PodInfo(
            pod, self.key, self.namespace, self.name, self.uid, str(spec.get("nodeName") or ""),
            self.scheduler_name, self.priority, md.get("labels") or {}, self.requests,
            self.non_zero_cpu, self.non_zero_memory, self.host_ports, self.tolerations,
            self.node_selector, self.affinity, self.spread_constraints, self.owner_uid,
            bool(spec.get("schedulingGates")), bool(md.get("deletionTimestamp")),
            status.get("phase") in ("Succeeded", "Failed"), self.inter_pod)


def pod_key(pod: Obj) -> str:
    return namespaced_name_of(pod)


def pod_info(pod: Obj) -> PodInfo:
    """Parse a pod (informer JSON) into a :class:`PodInfo`."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    status = pod.get("status") or {}
    ns, name = str(md.get("namespace") or ""), str(md.get("name") or "")
    req, nz_cpu, nz_memory = _requests_and_non_zero(spec)
    affinity = ((spec.get("affinity") or {}).get("nodeAffinity")) or {}
    return PodInfo(
        pod=pod, key=namespaced_name(ns, name), namespace=ns, name=name, uid=str(md.get("uid") or ""),
        node_name=str(spec.get("nodeName") or ""),
        scheduler_name=str(spec.get("schedulerName") or "default-scheduler"),
        priority=int(spec.get("priority") or 0), labels=md.get("labels") or {},
        requests=req, non_zero_cpu=nz_cpu, non_zero_memory=nz_memory,
        host_ports=_host_ports(spec), tolerations=_tolerations(spec),
        node_selector=spec.get("nodeSelector") or {}, affinity=affinity,
        spread_constraints=list(spec.get("topologySpreadConstraints") or ()),
        owner_uid=controller_owner(md), gated=bool(spec.get("schedulingGates")),
        terminating=bool(md.get("deletionTimestamp")),
        terminal=status.get("phase") in ("Succeeded", "Failed"),
        inter_pod=inter_pod_terms(spec, ns, md.get("labels") or {}))
