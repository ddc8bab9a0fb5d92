"""The one vocabulary for API objects after the API boundary: JSON dicts.

The API server validates a request with the pydantic models of this package,
then everything behind it (the store, informers, controllers, the scheduler,
node agents, kctl) handles objects as the decoded JSON: ``dict[str, Any]``,
spelled :data:`Obj` everywhere.  The hot shapes that code reads field by field
have TypedDicts (:class:`ObjectMetaDict`, :class:`OwnerReferenceDict`,
:class:`PodStatusDict`), so a reader sees which keys exist without opening
the models; they describe the same JSON as the models :class:`~.meta.ObjectMeta`,
:class:`~.meta.OwnerReference` and :class:`~.pod.PodStatus` (the ``Dict``
suffix keeps two classes from sharing one name).

:func:`get_path` reads a dotted path (``"spec.nodeName"``) from such a dict;
it is the only implementation (selectors, indexes, validation and the API
server all call it).  :func:`get_condition` and :func:`condition_is_true` read
``status.conditions`` of a Pod or Node (Kubernetes' ``podutil.GetPodCondition`` /
``nodeutil.GetNodeCondition`` and ``podutil.IsPodReady``); every controller,
node agent and kctl column that asks "is it Ready" calls them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypedDict

__all__ = [
    "Obj", "ObjectMetaDict", "OwnerReferenceDict", "PodStatusDict", "condition_is_true",
    "get_condition", "get_path",
]

Obj = dict[str, Any]
"""An API object (or any part of one) as decoded JSON."""


class OwnerReferenceDict(TypedDict, total=False):
    """``metadata.ownerReferences[*]``: who owns an object (the garbage collector's edges)."""

    apiVersion: str
    kind: str
    name: str
    uid: str
    controller: bool
    blockOwnerDeletion: bool


class ObjectMetaDict(TypedDict, total=False):
    """``metadata`` of every object."""

    name: str
    generateName: str
    namespace: str
    uid: str
    resourceVersion: str
    generation: int
    creationTimestamp: str
    deletionTimestamp: str
    deletionGracePeriodSeconds: int
    labels: dict[str, str]
    annotations: dict[str, str]
    ownerReferences: list[OwnerReferenceDict]
    finalizers: list[str]


class PodStatusDict(TypedDict, total=False):
    """``status`` of a Pod, as the node agent writes it."""

    phase: str
    conditions: list[Obj]
    message: str
    reason: str
    hostIP: str
    hostIPs: list[Obj]
    podIP: str
    podIPs: list[Obj]
    startTime: str
    qosClass: str
    initContainerStatuses: list[Obj]
    containerStatuses: list[Obj]
    nominatedNodeName: str
    resize: str


def get_path(obj: Mapping[str, Any] | None, path: str) -> Any:
    """The value at a dotted path (``"spec.nodeName"``) of a JSON dict, or None when any
    step is missing or not an object."""
    cur: Any = obj
    for part in path.split("."):
        if type(cur) is not dict and not isinstance(cur, Mapping):  # (dict: no ABC check)
            return None
        cur = cur.get(part)
    return cur


def get_condition(obj: Mapping[str, Any] | None, cond_type: str) -> Obj | None:
    """The first condition of type ``cond_type`` in ``status.conditions`` (the dict itself,
    not a copy), or None (Kubernetes' ``GetPodCondition`` / ``GetNodeCondition``)."""
    for c in get_path(obj, "status.conditions") or ():
        if isinstance(c, dict) and c.get("type") == cond_type:
            return c
    return None


def condition_is_true(obj: Mapping[str, Any] | None, cond_type: str) -> bool:
    """Whether the condition ``cond_type`` has status ``"True"`` (``IsPodReady`` for
    ``"Ready"``); a missing condition is not true."""
    c = get_condition(obj, cond_type)
    return c is not None and c.get("status") == "True"
