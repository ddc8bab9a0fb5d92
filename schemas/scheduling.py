"""core/v1 scheduling constraints carried by pods and nodes: node/pod
(anti-)affinity, node selector terms, taints and tolerations, and topology
spread constraints.  Also ``toleration_tolerates_taint`` for the scheduler and
the taint-eviction controller.
"""

from __future__ import annotations

from typing import Literal

from .base import Int32, Int64, K8sModel, Time
from .meta import LabelSelector

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodeSelectorRequirement(K8sModel):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]
    values: list[str] | None = None


class NodeSelectorTerm(K8sModel):
    matchExpressions: list[NodeSelectorRequirement] | None = None
    matchFields: list[NodeSelectorRequirement] | None = None


class NodeSelector(K8sModel):
    nodeSelectorTerms: list[NodeSelectorTerm]


class PreferredSchedulingTerm(K8sModel):
    weight: Int32
    preference: NodeSelectorTerm


class NodeAffinity(K8sModel):
    requiredDuringSchedulingIgnoredDuringExecution: NodeSelector | None = None
    preferredDuringSchedulingIgnoredDuringExecution: list[PreferredSchedulingTerm] | None = None


class PodAffinityTerm(K8sModel):
    labelSelector: LabelSelector | None = None
    namespaces: list[str] | None = None
    topologyKey: str
    namespaceSelector: LabelSelector | None = None
    matchLabelKeys: list[str] | None = None
    mismatchLabelKeys: list[str] | None = None


class WeightedPodAffinityTerm(K8sModel):
    weight: Int32
    podAffinityTerm: PodAffinityTerm


class PodAffinity(K8sModel):
    requiredDuringSchedulingIgnoredDuringExecution: list[PodAffinityTerm] | None = None
    preferredDuringSchedulingIgnoredDuringExecution: list[WeightedPodAffinityTerm] | None = None


class PodAntiAffinity(K8sModel):
    requiredDuringSchedulingIgnoredDuringExecution: list[PodAffinityTerm] | None = None
    preferredDuringSchedulingIgnoredDuringExecution: list[WeightedPodAffinityTerm] | None = None


class Affinity(K8sModel):
    nodeAffinity: NodeAffinity | None = None
    podAffinity: PodAffinity | None = None
    podAntiAffinity: PodAntiAffinity | None = None


class Toleration(K8sModel):
    key: str | None = None
    operator: Literal["Exists", "Equal"] | None = None
    value: str | None = None
    effect: TaintEffect | None = None
    tolerationSeconds: Int64 | None = None


class Taint(K8sModel):
    key: str
    value: str | None = None
    effect: TaintEffect
    timeAdded: Time | None = None


def toleration_tolerates_taint(tol: Toleration, taint: Taint) -> bool:
    """``v1.Toleration.ToleratesTaint``: empty effect matches all effects, empty
    key with ``Exists`` matches all keys."""
    if tol.effect and tol.effect != taint.effect:
        return False
    if tol.key and tol.key != taint.key:
        return False
    op = tol.operator or "Equal"
    if op == "Exists":
        return True
    return (tol.value or "") == (taint.value or "")


class TopologySpreadConstraint(K8sModel):
    maxSkew: Int32
    topologyKey: str
    whenUnsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"]
    labelSelector: LabelSelector | None = None
    minDomains: Int32 | None = None
    nodeAffinityPolicy: Literal["Honor", "Ignore"] | None = None
    nodeTaintsPolicy: Literal["Honor", "Ignore"] | None = None
    matchLabelKeys: list[str] | None = None
