"""What the ReplicaSet controller's sync reads of each pod, worked out once per pod version.

Kubernetes' ReplicaSet sync walks every pod of the ReplicaSet: claim (active, still
matching the selector), count ready and available ones, fully labeled ones.  A
ReplicaSet of 1,000 pods is synced again for nearly every event of any of its pods,
while all but a few of them have not changed since the previous sync, so reading each
pod's conditions, timestamps and labels on every sync makes the work O(pods²) per
ReplicaSet.  :class:`PodFactsCache` keeps, per pod key, the :class:`PodFacts` of the
version last seen; a cached object is never modified (a new version is a new object
with a new ``resourceVersion``), so an entry is right until the resourceVersion moves.
Selector tests against a pod become one frozenset subset test (``matchLabels``
selectors, the common case) and need no call per pod.

The sync still recomputes everything from the cache (client-go's model); only the
per-pod reading is remembered, and entries hold no pod, only facts and label maps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jetkube.schemas.meta import selector_dict_matcher
from jetkube.schemas.objects import Obj

from .replicaset_pods import is_active, is_ready, meta, ready_since

__all__ = ["PodFacts", "PodFactsCache", "label_items", "pod_facts"]

LabelItems = frozenset[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class PodFacts:
    """One version of a pod, as a ReplicaSet's sync reads it."""

    resource_version: str
    active: bool  # is_active
    ready: bool  # is_ready
    ready_since: float | None  # ready_since as epoch seconds (None: not ready, or unset)
    labels: Mapping[str, str]
    label_set: LabelItems  # the (key, value) pairs of labels with a string value

    def available_in(self, min_ready_seconds: int, now: float) -> float | None:
        """``replicaset_pods.available_in`` with ``now`` in epoch seconds."""
        if not self.ready:
            return None
        if min_ready_seconds <= 0:
            return 0.0
        if self.ready_since is None:
            return None
        # to the microsecond (the timestamps' own resolution): epoch floats must not turn
        # "exactly minReadySeconds ago" into a few hundred nanoseconds still to wait
        return max(0.0, round(self.ready_since - now + min_ready_seconds, 6))


def label_items(labels: Mapping[str, Any] | None) -> LabelItems | None:
    """A plain label map as a frozenset of pairs (``want <= pod.label_set`` is then
    ``set_matches(want, pod labels)``), or None when a value is not a string."""
    items = (labels or {}).items()
    if not all(isinstance(v, str) for _, v in items):
        return None
    return frozenset(items)


def _match_labels_only(selector: Mapping[str, Any] | None) -> LabelItems | None:
    """A ``matchLabels``-only selector's pairs; None for any other selector."""
    if selector is None or selector.get("matchExpressions"):
        return None
    return label_items(selector.get("matchLabels"))


def pod_facts(pod: Obj, label_sets: dict[LabelItems, LabelItems] | None = None) -> PodFacts:
    """The facts of one pod; ``label_sets`` interns their label pairs (the pods of one
    ReplicaSet mostly carry the same labels: one frozenset for all of them)."""
    md = meta(pod)
    labels = md.get("labels") or {}
    since = ready_since(pod)
    label_set = frozenset((k, v) for k, v in labels.items() if isinstance(v, str))
    if label_sets is not None:
        label_set = label_sets.setdefault(label_set, label_set)
    return PodFacts(str(md.get("resourceVersion") or ""), is_active(pod), is_ready(pod),
                    None if since is None else since.timestamp(), labels, label_set)


class PodFactsCache:
    """:class:`PodFacts` by pod key, recomputed when the pod's resourceVersion moves."""

    def __init__(self) -> None:
        self._by_key: dict[str, PodFacts] = {}
        self._label_sets: dict[LabelItems, LabelItems] = {}

    def _facts(self, pod: Obj) -> PodFacts:
        if len(self._label_sets) > 2 * len(self._by_key) + 1_000:
            self._label_sets.clear()  # label sets no pod has any more: start over
        return pod_facts(pod, self._label_sets)

    def __len__(self) -> int:
        return len(self._by_key)

    def of(self, key: str, pod: Obj) -> PodFacts:
        f = self._by_key.get(key)
        rv = meta(pod).get("resourceVersion")
        if f is None or f.resource_version != rv or not rv:
            f = self._by_key[key] = self._facts(pod)
        return f

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)

    def select(self, items: Iterable[tuple[str, Obj]], selector: Mapping[str, Any] | None
               ) -> tuple[list[tuple[Obj, PodFacts]], list[Obj]]:
        """The active pods of ``items`` (``(key, pod)`` pairs from the informer), split into
        those ``selector`` matches (with their facts) and those it does not.  A None
        selector matches nothing."""
        want = _match_labels_only(selector)
        matches = selector_dict_matcher(selector)
        by_key = self._by_key
        hit: list[tuple[Obj, PodFacts]] = []
        miss: list[Obj] = []
        for key, pod in items:  # the hot loop of a sync: no call per pod but the lookups
            f = by_key.get(key)
            rv = pod["metadata"].get("resourceVersion")
            if f is None or f.resource_version != rv or not rv:
                f = by_key[key] = self._facts(pod)
            if not f.active:
                continue
            if (want <= f.label_set) if want is not None else matches(f.labels):
                hit.append((pod, f))
            else:
                miss.append(pod)
        return hit, miss
