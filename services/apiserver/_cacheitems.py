"""The watch cache's items (watchcache.py's public surface re-exports them): one version of
one object (:class:`Cached`), one event (:class:`CacheEvent`), and one resource's objects
with their label, namespace and field indexes (:class:`ResourceCache`), and one client's
watch of them (:class:`CacheWatcher`)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from jetkube.schemas.objects import get_path

from .lifecycle import without_managed_fields

log = logging.getLogger("jetkube.services.apiserver.watchcache")

__all__ = ["BYTES_ONLY", "INDEXED_FIELDS", "CacheEvent", "CacheWatcher", "Cached",
           "ResourceCache", "indexed_values"]

# Field indexes: resource -> dotted field paths indexed (others are filtered by scan).
INDEXED_FIELDS: dict[str, tuple[str, ...]] = {"pods": ("spec.nodeName",)}


def indexed_values(resource: str, obj: dict[str, Any]) -> tuple[Any, ...]:
    """``obj``'s values of ``resource``'s :data:`INDEXED_FIELDS`, in their order."""
    return tuple([get_path(obj, f) for f in INDEXED_FIELDS.get(resource, ())])


BYTES_ONLY = frozenset({"pods", "events"})
"""Resources whose current objects are kept as bytes only, their decoded form dropped once
their event has been handed out: the many objects, whose decoded form is read rarely (a
field selector outside the indexes, a quota's usage, a service-account token's pod
check).  A decoded pod takes about three times its bytes (12.8 KB beside 4.1 KB)."""


class Cached:
    """One version of one object: ``raw`` is its JSON as served (with
    ``metadata.resourceVersion`` and ``managedFields``); ``obj`` is it decoded, without
    ``managedFields``; ``labels`` and ``indexed`` (its values of the resource's
    ``INDEXED_FIELDS``) are kept apart, for the indexes and label selectors.  A ring event's
    copy (:meth:`light`), and a current object of a ``BYTES_ONLY`` resource once
    :meth:`forget` ran, keep only ``raw`` and decode ``obj`` from it when asked."""

    __slots__ = ("_obj", "indexed", "key", "labels", "name", "namespace", "raw", "rv")

    def __init__(self, key: str, namespace: str, name: str, rv: int,
                 obj: dict[str, Any] | None, raw: bytes, labels: dict[str, str] | None = None,
                 indexed: tuple[Any, ...] | None = None) -> None:
        self.key, self.namespace, self.name, self.rv = key, namespace, name, rv
        self._obj = obj
        self.raw = raw
        if labels is None:
            md = (obj if obj is not None else orjson.loads(raw)).get("metadata")
            labels = (md.get("labels") if isinstance(md, dict) else None) or {}
        self.labels: dict[str, str] = labels
        self.indexed = indexed
        """The object's values of its resource's ``INDEXED_FIELDS`` (None: read from obj)."""

    @property
    def obj(self) -> dict[str, Any]:
        if self._obj is not None:
            return self._obj
        return without_managed_fields(orjson.loads(self.raw))

    def forget(self) -> None:
        """Drop the decoded form: ``obj`` is rebuilt from ``raw`` when asked."""
        self._obj = None

    def served(self) -> dict[str, Any]:
        """The object as served, ``managedFields`` included: decoded afresh from ``raw``
        (a Table's rows carry the object's whole metadata, as kube-apiserver's do)."""
        return orjson.loads(self.raw)  # type: ignore[no-any-return]

    def light(self) -> Cached:
        """This version as the ring keeps it: the bytes only (shared, not copied)."""
        return Cached(self.key, self.namespace, self.name, self.rv, None, self.raw,
                      self.labels, self.indexed)


@dataclass(slots=True)
class CacheEvent:
    type: str  # ADDED MODIFIED DELETED
    resource: str
    new: Cached  # for DELETED: the last state, rv set to the delete's revision
    old: Cached | None
    rv: int



@dataclass
class ResourceCache:
    resource: str
    items: dict[str, Cached] = field(default_factory=dict)
    by_ns: dict[str, dict[str, Cached]] = field(default_factory=dict)
    labels: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    label_keys: dict[str, set[str]] = field(default_factory=dict)
    fields: dict[str, dict[str, set[str]]] = field(default_factory=dict)
    since: int = 0
    """Watches of this resource may start from this revision on, not before: an on-demand
    resource's last change while it was cold (ondemand.py), whose events the ring lacks."""

    def _indexed(self, c: Cached) -> tuple[Any, ...]:
        if c.indexed is None:
            c.indexed = indexed_values(self.resource, c.obj)
        return c.indexed

    def _index(self, c: Cached, add: bool) -> None:
        key = c.key
        ns = self.by_ns.get(c.namespace)
        if ns is None:
            ns = self.by_ns[c.namespace] = {}
        fields = INDEXED_FIELDS.get(self.resource, ())
        values = zip(fields, self._indexed(c), strict=True)
        if add:  # (``get or setdefault``: no new set made for a bucket that exists)
            ns[key] = c
            labels, label_keys = self.labels, self.label_keys
            for k, v in c.labels.items():
                (labels.get((k, v)) or labels.setdefault((k, v), set())).add(key)
                (label_keys.get(k) or label_keys.setdefault(k, set())).add(key)
            for f, val in values:
                by_value = self.fields.get(f) or self.fields.setdefault(f, {})
                v = "" if val is None else str(val)
                (by_value.get(v) or by_value.setdefault(v, set())).add(key)
            return
        ns.pop(key, None)
        for k, v in c.labels.items():
            self.labels.setdefault((k, v), set()).discard(key)
            self.label_keys.setdefault(k, set()).discard(key)
        for f, val in values:
            self.fields.setdefault(f, {}).setdefault("" if val is None else str(val),
                                                      set()).discard(key)

    def put(self, c: Cached) -> Cached | None:
        """Keep ``c``; the version it replaces, if any.  A change that keeps the namespace,
        labels and indexed values (a status write) keeps every index set as it is: they
        hold keys, and the key is the same."""
        old = self.items.get(c.key)
        self.items[c.key] = c
        if old is None:
            self._index(c, True)
        elif (old.namespace == c.namespace and old.labels == c.labels
              and self._indexed(old) == self._indexed(c)):
            self.by_ns[c.namespace][c.key] = c
        else:
            self._index(old, False)
            self._index(c, True)
        return old

    def remove(self, key: str) -> Cached | None:
        old = self.items.pop(key, None)
        if old is not None:
            self._index(old, False)
        return old

    def candidates(self, namespace: str | None, label_eq: Iterable[tuple[str, str]],
                   label_exists: Iterable[str], field_eq: Iterable[tuple[str, str]]) -> Iterator[Cached]:
        """Objects that may match: narrowed by the smallest index set, else by namespace."""
        sets: list[set[str]] = []
        for kv in label_eq:
            sets.append(self.labels.get(kv, set()))
        for k in label_exists:
            sets.append(self.label_keys.get(k, set()))
        for f, v in field_eq:
            if f in self.fields:
                sets.append(self.fields[f].get(v, set()))
        if sets:
            smallest = min(sets, key=len)
            for key in sorted(smallest):
                c = self.items.get(key)
                if c is not None and (namespace is None or c.namespace == namespace):
                    yield c
            return
        if namespace is not None:
            yield from (self.by_ns.get(namespace, {})[k] for k in sorted(self.by_ns.get(namespace, {})))
        else:
            yield from (self.items[k] for k in sorted(self.items))


class CacheWatcher:
    """One client's watch: a filter, the state it starts with and a bounded queue of events.

    ``initial`` holds the objects of the state the watch starts from (sent as ADDED before
    anything in ``queue``; outside its bound, so a large state is never cut short), and
    ``initial_rv`` that state's revision: every event after it, and none at or before it,
    reaches ``queue``."""

    def __init__(self, resource: str, namespace: str | None,
                 match: Callable[[Cached], bool], capacity: int = 10_000) -> None:
        self.resource = resource
        self.namespace = namespace
        self.match = match
        self.queue: asyncio.Queue[tuple[str, Cached] | None] = asyncio.Queue(capacity)
        self.overflowed = False
        self.initial: deque[Cached] = deque()
        self.initial_rv: int | None = None

    def offer(self, ev: CacheEvent) -> None:
        if self.overflowed:
            return
        if self.namespace is not None and ev.new.namespace != self.namespace:
            return
        new_ok = self.match(ev.new)
        old_ok = ev.old is not None and self.match(ev.old)
        if ev.type == "DELETED":
            out = "DELETED" if new_ok else None
        elif new_ok and (ev.old is None or old_ok):
            out = ev.type
        elif new_ok:
            out = "ADDED"  # began matching
        elif old_ok:
            out = "DELETED"  # stopped matching
        else:
            out = None
        if out is None:
            return
        try:
            self.queue.put_nowait((out, ev.new))
        except asyncio.QueueFull:
            self.overflowed = True  # the client is too slow: end its watch, it relists
            log.warning("watch of %s overflowed; closing it", self.resource)
