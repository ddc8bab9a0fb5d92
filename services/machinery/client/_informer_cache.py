"""An informer's cache and handler fan-out: :class:`InformerCache`, the base of
:class:`~._informer.Informer`, which keeps it current from a store watch (_informer.py).

The cache holds one resource's objects by store key, with their revisions, a namespace
index and any indexes added (:class:`~._indexer.Indexer`), and the registered event
handlers, each called in turn with its failures logged.

Cached objects are the stored JSON decoded (orjson) with
``metadata.resourceVersion`` set to the revision as a string and without
``metadata.managedFields`` (as kube-scheduler's and kube-controller-manager's
informers drop them, client-go's ``TransformStripManagedFields``: no component reads
them, the API server keeps the stored ones on a write that has none, and they are most of
a pod's bytes), optionally passed through a ``decode`` function to a typed object.  Treat them as
read-only: they are shared with every handler and every reader.

Event handlers (``on_add(obj)``, ``on_update(old, new)``, ``on_delete(obj)``)
run synchronously inside the watch callback.  They must **only map the
object to keys and enqueue them** on a work queue; all real work (API calls,
waits) belongs in the controller's ``reconcile(key)``.  ``on_delete`` always
receives the last object the cache held.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar, cast

import orjson

from jetkube.schemas.objects import Obj

from ..apimachinery import object_key, parse_key
from ._indexer import EventHandler, Indexer, IndexFunc, meta_of

log = logging.getLogger(__name__)

T = TypeVar("T")
NAMESPACE_INDEX = "namespace"


class InformerCache(Generic[T]):
    """One resource's cached objects, their indexes and the event handlers they fan out to."""

    def __init__(self, resource: str, name: str, decode: Callable[[Obj], T] | None) -> None:
        self.resource = resource
        self.name = name
        self.decode = decode
        self._items: dict[str, T] = {}
        self._revs: dict[str, int] = {}
        self._indexer: Indexer[T] = Indexer()
        self._indexer.add(NAMESPACE_INDEX, self._namespace_of_key, by_key=True)
        self._handlers: builtins.list[EventHandler[T]] = []
        self._on_add: builtins.list[Callable[[T], None]] = []
        self._on_update: builtins.list[Callable[[T, T], None]] = []
        self._on_delete: builtins.list[Callable[[T], None]] = []
        self._synced = asyncio.Event()
        self._last_rev = 0

    # --- reading the cache ----------------------------------------------------

    def get(self, key: str) -> T | None:
        """The cached object at store key ``key``."""
        return self._items.get(key)

    def get_by_name(self, namespace: str | None, name: str) -> T | None:
        return self._items.get(object_key(self.resource, namespace, name))

    def list(self, namespace: str | None = None) -> builtins.list[T]:
        """Every cached object, or those of one namespace (``""``: cluster-scoped)."""
        if namespace is None:
            return list(self._items.values())
        return self.by_index(NAMESPACE_INDEX, namespace)

    def keys(self) -> builtins.list[str]:
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def key_of(self, obj: T) -> str:
        """The store key of an object of this resource (from its metadata)."""
        namespace, name = meta_of(obj)
        return object_key(self.resource, namespace, name)

    def revision_of(self, key: str) -> int | None:
        return self._revs.get(key)

    @property
    def last_revision(self) -> int:
        """The newest revision this informer has seen (its resume point)."""
        return self._last_rev

    # --- indexes ----------------------------------------------------------------

    def add_indexer(self, name: str, fn: IndexFunc[T]) -> None:
        """Index objects by ``fn(obj)`` values (e.g. node name, owner uid); may be added late."""
        self._indexer.add(name, fn)
        for key, obj in self._items.items():
            self._indexer.update(key, obj, only=name)

    def ensure_indexer(self, name: str, fn: IndexFunc[T]) -> None:
        """``add_indexer`` unless an index of that name exists: controllers sharing one
        informer may each ask for the same index (same name, same meaning)."""
        if name not in self._indexer.names():
            self.add_indexer(name, fn)

    def by_index(self, name: str, value: str) -> builtins.list[T]:
        items = self._items
        return [items[k] for k in sorted(self._indexer.peek(name, value))]

    def index_keys(self, name: str, value: str) -> builtins.list[str]:
        return sorted(self._indexer.peek(name, value))  # sorted() copies: no set copy first

    def index_items(self, name: str, value: str) -> builtins.list[tuple[str, T]]:
        """``(key, object)`` of each cached object with that index value, in no particular
        order: ``by_index`` without its sort, for a caller that walks many of them per pass."""
        items = self._items
        return [(k, items[k]) for k in self._indexer.peek(name, value)]

    @staticmethod
    def _namespace_of_key(key: str) -> Iterable[str]:
        return (parse_key(key).namespace,)

    # --- handlers ---------------------------------------------------------------

    def add_event_handler(
        self,
        on_add: Callable[[T], None] | None = None,
        on_update: Callable[[T, T], None] | None = None,
        on_delete: Callable[[T], None] | None = None,
    ) -> None:
        """Register handlers; a late handler first gets ``on_add`` for each cached object."""
        h = EventHandler(on_add, on_update, on_delete)
        self._handlers.append(h)
        if on_add is not None:
            self._on_add.append(on_add)
        if on_update is not None:
            self._on_update.append(on_update)
        if on_delete is not None:
            self._on_delete.append(on_delete)
        if self._synced.is_set() and on_add is not None:
            for obj in list(self._items.values()):
                h.add(obj)

    # the handlers' callbacks are called straight from these lists (one call per handler
    # and event, not two), each guarded as EventHandler guards it: a failure is logged

    def _dispatch_add(self, obj: T) -> None:
        for fn in self._on_add:
            try:
                fn(obj)
            except Exception:
                log.exception("on_add handler failed")

    def _dispatch_update(self, old: T, new: T) -> None:
        for fn in self._on_update:
            try:
                fn(old, new)
            except Exception:
                log.exception("on_update handler failed")

    def _dispatch_delete(self, obj: T) -> None:
        for fn in self._on_delete:
            try:
                fn(obj)
            except Exception:
                log.exception("on_delete handler failed")

    # --- sync state ---------------------------------------------------------------

    def has_synced(self) -> bool:
        """True once the first snapshot is in the cache (stays true across relists)."""
        return self._synced.is_set()

    async def wait_synced(self) -> None:
        await self._synced.wait()

    # --- storing objects (the informer's events apply through these) ------------

    def _decode(self, key: str, value: bytes, revision: int) -> T | None:
        try:
            raw = orjson.loads(value)
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            md = raw.get("metadata")
            if not isinstance(md, dict):
                md = raw["metadata"] = {}
            md["resourceVersion"] = str(revision)
            md.pop("managedFields", None)
            return self.decode(raw) if self.decode is not None else cast(T, raw)
        except Exception:
            log.exception("informer %s: cannot decode %s@%d; skipped", self.name, key, revision)
            return None

    def _put(self, key: str, revision: int, obj: T) -> None:
        known = key in self._items
        self._items[key] = obj
        self._revs[key] = revision
        if known:
            self._indexer.update_known(key, obj)
        else:
            self._indexer.update(key, obj)

    def _remove(self, key: str) -> T | None:
        self._revs.pop(key, None)
        self._indexer.remove(key)
        return self._items.pop(key, None)
