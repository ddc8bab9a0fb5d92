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
from collections.abc import Set as AbstractSet
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

    parts = path.split(".")
    if len(parts) == 2:  # "spec.nodeName": the common shape, without a walk per object
        first, second = parts

        def index(obj: dict[str, Any]) -> Iterable[str]:
            outer = obj.get(first)
            v = (outer.get(second) if isinstance(outer, dict) or isinstance(outer, Mapping)
                 else None)
            if v is None or v == "":
                return ()
            return (v if isinstance(v, str) else str(v),)

        return index

    def index_path(obj: dict[str, Any]) -> Iterable[str]:
        v = get_path(obj, path)
        if v is None or v == "":
            return ()
        return (v if isinstance(v, str) else str(v),)

    return index_path


def by_owner_uid(controller_only: bool = False) -> IndexFunc[dict[str, Any]]:
    """Index dict objects by ``metadata.ownerReferences[*].uid`` (or only the controller's)."""

    def index(obj: dict[str, Any]) -> Iterable[str]:
        refs = get_path(obj, "metadata.ownerReferences")
        if not refs:
            return ()  # most objects: no list to build
        return [str(r["uid"]) for r in refs
                if isinstance(r, Mapping) and r.get("uid")
                and (not controller_only or r.get("controller") is True)]

    return index


class _Index:
    """One named index: its function, value -> keys, and key -> the values it has now."""

    __slots__ = ("by_key", "fn", "keys", "values")

    def __init__(self, fn: Callable[[Any], Iterable[str]], by_key: bool) -> None:
        self.fn = fn
        self.by_key = by_key
        self.keys: dict[str, set[str]] = {}
        self.values: dict[str, tuple[str, ...]] = {}


class Indexer(Generic[T]):
    """Named secondary indexes over keyed objects: index -> value -> set of keys.

    An update touches only what changed: an index whose values for the key are the same
    as before is left alone, and a ``by_key`` index (its values come from the key, which
    never changes) is computed once per key, not once per version of the object."""

    def __init__(self) -> None:
        self._indexes: dict[str, _Index] = {}
        self._by_obj: list[tuple[str, _Index]] = []  # the indexes computed from objects

    def add(self, name: str, fn: Callable[[Any], Iterable[str]], *, by_key: bool = False) -> None:
        """Register an index; ``by_key=True`` computes values from the key, not the object."""
        if name in self._indexes:
            raise ValueError(f"index {name!r} already exists")
        index = self._indexes[name] = _Index(fn, by_key)
        if not by_key:
            self._by_obj.append((name, index))

    def names(self) -> list[str]:
        return list(self._indexes)

    def update(self, key: str, obj: T, *, only: str | None = None) -> None:
        if only is not None:
            self._update_one(only, self._indexes[only], key, obj)
            return
        for name, index in self._indexes.items():
            if index.by_key and key in index.values:
                continue  # computed when the key was first seen; a key's values never change
            self._update_one(name, index, key, obj)

    def update_known(self, key: str, obj: T) -> None:
        """``update`` for a key already held: only the indexes computed from the object."""
        for name, index in self._by_obj:
            self._update_one(name, index, key, obj)

    @staticmethod
    def _update_one(name: str, index: _Index, key: str, obj: object) -> None:
        try:
            got = index.fn(key if index.by_key else obj)
            # most index functions answer () or one value: no need to deduplicate those
            new = got if type(got) is tuple and len(got) < 2 else tuple(dict.fromkeys(got))
        except Exception:
            log.exception("index %s failed for %s; not indexed", name, key)
            new = ()
        values = index.values
        old = values.get(key, ())
        if new == old:
            return
        keys = index.keys
        for v in old:
            held = keys.get(v)
            if held is not None:
                held.discard(key)
                if not held:
                    del keys[v]
        for v in new:
            held = keys.get(v)
            if held is None:
                keys[v] = {key}
            else:
                held.add(key)
        if new:
            values[key] = new
        else:
            values.pop(key, None)

    def remove(self, key: str) -> None:
        for index in self._indexes.values():
            keys = index.keys
            for v in index.values.pop(key, ()):
                held = keys.get(v)
                if held is not None:
                    held.discard(key)
                    if not held:
                        del keys[v]

    def _index(self, name: str) -> _Index:
        try:
            return self._indexes[name]
        except KeyError:
            raise KeyError(f"no index named {name!r}") from None

    def keys(self, name: str, value: str) -> set[str]:
        return set(self._index(name).keys.get(value, ()))

    def peek(self, name: str, value: str) -> AbstractSet[str]:
        """The keys with that value, without a copy: read them before the index changes."""
        return self._index(name).keys.get(value, _EMPTY)

    def values(self, name: str) -> list[str]:
        """Every value the index currently holds."""
        return list(self._index(name).keys)


_EMPTY: frozenset[str] = frozenset()


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
