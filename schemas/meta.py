"""Object metadata and shared references (meta/v1 and core/v1 helpers).

ObjectMeta, ListMeta, OwnerReference, ManagedFieldsEntry, LabelSelector (with
``selector_matches`` for controllers and validation, and ``requirement_matches``,
the one matcher of a selector requirement that label and node selectors share), ObjectReference,
LocalObjectReference, metav1.Condition, and the ``Status`` error body.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Literal

from pydantic import Field

from .base import Int32, Int64, K8sModel, StrMap, Time
from .labelmatch import requirement_matches


class OwnerReference(K8sModel):
    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    blockOwnerDeletion: bool | None = None


class ManagedFieldsEntry(K8sModel):
    manager: str | None = None
    operation: Literal["Apply", "Update"] | None = None
    apiVersion: str | None = None
    time: Time | None = None
    fieldsType: str | None = None
    fieldsV1: dict[str, Any] | None = None
    subresource: str | None = None


class ObjectMeta(K8sModel):
    name: str | None = None
    generateName: str | None = None
    namespace: str | None = None
    selfLink: str | None = None
    uid: str | None = None
    resourceVersion: str | None = None
    generation: Int64 | None = None
    creationTimestamp: Time | None = None
    deletionTimestamp: Time | None = None
    deletionGracePeriodSeconds: Int64 | None = None
    labels: StrMap | None = None
    annotations: StrMap | None = None
    ownerReferences: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managedFields: list[ManagedFieldsEntry] | None = None


class ListMeta(K8sModel):
    selfLink: str | None = None
    resourceVersion: str | None = None
    continue_: str | None = Field(default=None, alias="continue")
    remainingItemCount: Int64 | None = None


class LabelSelectorRequirement(K8sModel):
    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None


class LabelSelector(K8sModel):
    matchLabels: StrMap | None = None
    matchExpressions: list[LabelSelectorRequirement] | None = None

    def is_empty(self) -> bool:
        """An empty selector matches everything (and is invalid for workloads)."""
        return not self.matchLabels and not self.matchExpressions

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        return selector_matches(self, labels)


def set_matches(selector: Mapping[str, str] | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` hold every ``key: value`` of a plain label map (``labels.SelectorFromSet``:
    a Service's selector, a pod's nodeSelector, matchLabels); an empty map matches everything."""
    if not selector:
        return True
    lbl = labels or {}
    for k, v in selector.items():  # a loop, not all(genexpr): this runs per pod per sync
        if lbl.get(k) != v:
            return False
    return True


def _selector_matches(match_labels: Mapping[str, str] | None,
                      expressions: Iterable[tuple[Any, Any, Collection[str] | None]],
                      labels: Mapping[str, str] | None) -> bool:
    lbl = labels or {}
    if not set_matches(match_labels, lbl):
        return False
    return all(requirement_matches(op, lbl.get(key), values or ())
               for key, op, values in expressions)


def selector_matches(selector: LabelSelector | None, labels: Mapping[str, str] | None) -> bool:
    """Whether ``labels`` satisfy ``selector`` (``None`` selector matches nothing,
    an empty one matches everything), as ``metav1.LabelSelectorAsSelector``."""
    if selector is None:
        return False
    return _selector_matches(selector.matchLabels,
                             ((r.key, r.operator, r.values)
                              for r in selector.matchExpressions or ()), labels)


def selector_dict_matches(selector: Mapping[str, Any] | None,
                          labels: Mapping[str, str] | None) -> bool:
    """``selector_matches`` on a canonical dict (controllers work on dicts)."""
    if selector is None:
        return False
    return _selector_matches(selector.get("matchLabels"),
                             ((r.get("key"), r.get("operator"), r.get("values"))
                              for r in selector.get("matchExpressions") or ()), labels)


def selector_dict_matcher(selector: Mapping[str, Any] | None
                          ) -> Callable[[Mapping[str, str] | None], bool]:
    """``selector_dict_matches`` bound to one selector, for a caller matching many label maps
    against it: a ``matchLabels``-only selector becomes one subset test of dict views."""
    if selector is None:
        return lambda _labels: False
    match_labels = selector.get("matchLabels") or {}
    if selector.get("matchExpressions") or not all(
            isinstance(v, str) for v in match_labels.values()):
        return lambda labels: selector_dict_matches(selector, labels)
    want = dict(match_labels).items()
    return lambda labels: want <= (labels or {}).items()


class ObjectReference(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    namespace: str | None = None
    name: str | None = None
    uid: str | None = None
    resourceVersion: str | None = None
    fieldPath: str | None = None


class LocalObjectReference(K8sModel):
    name: str | None = None


class TypedLocalObjectReference(K8sModel):
    apiGroup: str | None = None
    kind: str
    name: str


class Condition(K8sModel):
    """``metav1.Condition``, the standard condition shape of newer APIs."""

    type: str
    status: Literal["True", "False", "Unknown"]
    observedGeneration: Int64 | None = None
    lastTransitionTime: Time | None = None
    reason: str | None = None
    message: str | None = None


class StatusCause(K8sModel):
    reason: str | None = None
    message: str | None = None
    field: str | None = None


class StatusDetails(K8sModel):
    name: str | None = None
    group: str | None = None
    kind: str | None = None
    uid: str | None = None
    causes: list[StatusCause] | None = None
    retryAfterSeconds: Int32 | None = None


class Status(K8sModel):
    """The ``Status`` body of API errors and of some deletes."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    status: Literal["Success", "Failure"] | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: Int32 | None = None
