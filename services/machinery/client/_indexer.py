"""The informer's building blocks: secondary indexes, handler sets, object metadata.

An index maps an object to zero or more string values (its namespace, its
``spec.nodeName``, the uids of its owners); ``Indexer.keys(index, value)``
answers "which cached keys have this value" in O(answer).  The helpers
:func:`by_field` and :func:`by_owner_uid` build index functions for the
JSON-dict objects informers hold by default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from jetkube.schemas.objects import get_path

log = logging.getLogger(__name__)

T = TypeVar("T")
IndexFunc = Callable[[T], Iterable[str]]


def meta_of(obj: object) -> tuple[str | None, str]:
    """``(namespace, name)`` of a JSON-dict object or of a typed object with ``.metadata``."""
    if isinstance(obj, Mapping):
        md = obj.get("metadata") or {}
        return md.get("namespace") or None, str(md.get("name") or "")
    md_obj = getattr(obj, "metadata", None)
    return getattr(md_obj, "namespace", None) or None, str(getattr(md_obj, "name", "") or "")



def by_field(path: str) -> IndexFunc[dict[str, Any]]:
    """Index dict objects by the string at ``path``; objects with no value are not indexed."""

    def index(obj: dict[str, Any]) -> Iterable[str]:
        v = get_path(obj, path)
        if v is None or v == "":
            return ()
        return (v if isinstance(v, str) else str(v),)

    return index


def by_owner_uid(controller_only: bool = False) -> IndexFunc[dict[str, Any]]:
    """Index dict objects by ``metadata.ownerReferences[*].uid`` (or only the controller's)."""

    def index(obj: dict[str, Any]) -> Iterable[str]:
        refs = get_path(obj, "metadata.ownerReferences") or []
        return [str(r["uid"]) for r in refs
                if isinstance(r, Mapping) and r.get("uid")
                and (not controller_only or r.get("controller") is True)]

    return index


class Indexer(Generic[T]):
    """Named secondary indexes over keyed objects: index -> value -> set of keys."""

    def __init__(self) -> None:
        self._funcs: dict[str, tuple[Callable[[Any], Iterable[str]], bool]] = {}
        self._index: dict[str, dict[str, set[str]]] = {}
        self._values: dict[str, dict[str, tuple[str, ...]]] = {}

    def add(self, name: str, fn: Callable[[Any], Iterable[str]], *, by_key: bool = False) -> None:
        """Register an index; ``by_key=True`` computes values from the key, not the object."""
        if name in self._funcs:
            raise ValueError(f"index {name!r} already exists")
        self._funcs[name] = (fn, by_key)
        self._index[name] = {}
        self._values[name] = {}

    def names(self) -> list[str]:
        return list(self._funcs)

    def update(self, key: str, obj: T, *, only: str | None = None) -> None:
        for name, (fn, by_key) in self._funcs.items():
            if only is not None and name != only:
                continue
            try:
                new = tuple(dict.fromkeys(fn(key if by_key else obj)))
            except Exception:
                log.exception("index %s failed for %s; not indexed", name, key)
                new = ()
            old = self._values[name].get(key, ())
            if new == old:
                continue
            idx = self._index[name]
            for v in old:
                keys = idx.get(v)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del idx[v]
            for v in new:
                idx.setdefault(v, set()).add(key)
            if new:
                self._values[name][key] = new
            else:
                self._values[name].pop(key, None)

    def remove(self, key: str) -> None:
        for name in self._funcs:
            idx = self._index[name]
            for v in self._values[name].pop(key, ()):
                keys = idx.get(v)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del idx[v]

    def keys(self, name: str, value: str) -> set[str]:
        try:
            idx = self._index[name]
        except KeyError:
            raise KeyError(f"no index named {name!r}") from None
        return set(idx.get(value, ()))

    def values(self, name: str) -> list[str]:
        """Every value the index currently holds."""
        return list(self._index[name])


@dataclass(frozen=True, slots=True)
class EventHandler(Generic[T]):
    """One registration of informer callbacks; a failing handler is logged, not fatal."""

    on_add: Callable[[T], None] | None = None
    on_update: Callable[[T, T], None] | None = None
    on_delete: Callable[[T], None] | None = None

    def add(self, obj: T) -> None:
        if self.on_add is not None:
            try:
                self.on_add(obj)
            except Exception:
                log.exception("on_add handler failed")

    def update(self, old: T, new: T) -> None:
        if self.on_update is not None:
            try:
                self.on_update(old, new)
            except Exception:
                log.exception("on_update handler failed")

    def delete(self, obj: T) -> None:
        if self.on_delete is not None:
            try:
                self.on_delete(obj)
            except Exception:
                log.exception("on_delete handler failed")
