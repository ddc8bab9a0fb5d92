"""Object metadata and shared references (meta/v1 and core/v1 helpers).

ObjectMeta, ListMeta, OwnerReference, ManagedFieldsEntry, LabelSelector (with
``selector_matches`` for controllers and validation), ObjectReference,
LocalObjectReference, metav1.Condition, and the ``Status`` error body.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from .base import K8sModel, StrMap, Time


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
    generation: int | None = None
    creationTimestamp: Time | None = None
    deletionTimestamp: Time | None = None
    deletionGracePeriodSeconds: int | None = None
    labels: StrMap | None = None
    annotations: StrMap | None = None
    ownerReferences: list[OwnerReference] | None = None
    finalizers: list[str] | None = None
    managedFields: list[ManagedFieldsEntry] | None = None


class ListMeta(K8sModel):
    selfLink: str | None = None
    resourceVersion: str | None = None
    continue_: str | None = Field(default=None, alias="continue")
    remainingItemCount: int | None = None


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

    def matches(self, labels: dict[str, str] | None) -> bool:
        return selector_matches(self, labels)


def selector_matches(selector: LabelSelector | None, labels: dict[str, str] | None) -> bool:
    """Whether ``labels`` satisfy ``selector`` (``None`` selector matches nothing,
    an empty one matches everything), as ``metav1.LabelSelectorAsSelector``."""
    if selector is None:
        return False
    lbl = labels or {}
    if selector.matchLabels:
        for k, v in selector.matchLabels.items():
            if lbl.get(k) != v:
                return False
    if selector.matchExpressions:
        for req in selector.matchExpressions:
            present = req.key in lbl
            op = req.operator
            if op == "In":
                if not present or lbl[req.key] not in (req.values or ()):
                    return False
            elif op == "NotIn":
                if present and lbl[req.key] in (req.values or ()):
                    return False
            elif op == "Exists":
                if not present:
                    return False
            elif present:  # DoesNotExist
                return False
    return True


def selector_dict_matches(selector: dict[str, Any] | None, labels: dict[str, str] | None) -> bool:
    """``selector_matches`` on a canonical dict (controllers work on dicts)."""
    if selector is None:
        return False
    lbl = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if lbl.get(k) != v:
            return False
    for req in selector.get("matchExpressions") or ():
        key, op, values = req.get("key"), req.get("operator"), req.get("values") or ()
        present = key in lbl
        if op == "In":
            if not present or lbl[key] not in values:
                return False
        elif op == "NotIn":
            if present and lbl[key] in values:
                return False
        elif op == "Exists":
            if not present:
                return False
        elif op == "DoesNotExist":
            if present:
                return False
        else:
            return False
    return True


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
    observedGeneration: int | None = None
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
    retryAfterSeconds: int | None = None


class Status(K8sModel):
    """The ``Status`` body of API errors and of some deletes."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: ListMeta | None = None
    status: Literal["Success", "Failure"] | None = None
    message: str | None = None
    reason: str | None = None
    details: StatusDetails | None = None
    code: int | None = None
