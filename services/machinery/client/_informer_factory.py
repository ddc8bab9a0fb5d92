"""One informer per resource per process, shared by every controller in it.

:class:`SharedInformerFactory` hands out the same :class:`~._informer.Informer`
to every caller asking for a resource (client-go's shared informer factory),
so N controllers watching pods cost one watch and one cache.  Controllers
register handlers and indexers, then the process calls ``start()`` and
``wait_for_cache_sync()`` before starting its controllers' workers.

:func:`enqueue_on_change` is the common handler set: enqueue the object's own
store key on every add, update (resyncs included) and delete.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, Protocol, TypeVar, overload

from jetkube.schemas.objects import Obj

from ..apimachinery import key_prefix
from ..runtime import Clock, RealClock, Settings, wait_for
from ..store import Store
from ._informer import Informer

T = TypeVar("T")
K_contra = TypeVar("K_contra", bound=Hashable, contravariant=True)


class _Adder(Protocol[K_contra]):
    def add(self, item: K_contra) -> None: ...


class SharedInformerFactory:
    def __init__(self, store: Store, *, clock: Clock | None = None,
                 settings: Settings | None = None) -> None:
        self.store = store
        self.clock: Clock = clock or RealClock()
        self.settings = settings or Settings()
        self._informers: dict[str, Informer[Any]] = {}
        self._decoders: dict[str, Callable[[Obj], Any] | None] = {}
        self._started = False

    @overload
    def informer(self, resource: str, namespace: str | None = None, *,
                 decode: None = None) -> Informer[Obj]: ...

    @overload
    def informer(self, resource: str, namespace: str | None = None, *,
                 decode: Callable[[Obj], T]) -> Informer[T]: ...

    def informer(self, resource: str, namespace: str | None = None, *,
                 decode: Callable[[Obj], Any] | None = None) -> Informer[Any]:
        """The shared informer of ``resource`` (in one namespace, or all); created on first use.

        Everyone sharing an informer must use the same ``decode`` (or none).
        An informer asked for after ``start()`` is started at once.
        """
        pfx = key_prefix(resource, namespace)
        inf = self._informers.get(pfx)
        if inf is not None:
            if self._decoders[pfx] is not decode:
                raise ValueError(f"informer {pfx!r} already exists with another decode function")
            return inf
        s = self.settings
        inf = Informer(self.store, pfx, decode=decode, clock=self.clock,
                       resync_seconds=s.informer_resync_seconds,
                       relist_backoff=s.informer_relist_backoff)
        self._informers[pfx] = inf
        self._decoders[pfx] = decode
        if self._started:
            inf.start()
        return inf

    def informers(self) -> list[Informer[Any]]:
        return list(self._informers.values())

    def start(self) -> None:
        """Start every informer (those created later start when created)."""
        self._started = True
        for inf in self._informers.values():
            inf.start()

    async def wait_for_cache_sync(self, seconds: float | None = None) -> bool:
        """Wait until every informer has synced; False if ``seconds`` ran out first."""
        waits = [inf.wait_synced() for inf in self._informers.values()]
        try:
            await wait_for(self.clock, asyncio.gather(*waits), seconds)
        except TimeoutError:
            return False
        return True

    def has_synced(self) -> bool:
        return all(inf.has_synced() for inf in self._informers.values())

    async def resume_all(self) -> None:
        """Resume every informer's watch from its last revision (store watches heal by
        themselves after a reconnect; this is for tests and tools)."""
        await asyncio.gather(*(inf.resume() for inf in self._informers.values()))

    async def relist_all(self) -> None:
        await asyncio.gather(*(inf.relist() for inf in self._informers.values()))

    async def stop(self) -> None:
        self._started = False
        await asyncio.gather(*(inf.stop() for inf in self._informers.values()))


def enqueue_on_change(informer: Informer[T], queue: _Adder[str]) -> None:
    """Register handlers that enqueue the changed object's store key (adds, updates, deletes)."""

    def on_add(obj: T) -> None:
        queue.add(informer.key_of(obj))

    def on_update(old: T, new: T) -> None:
        queue.add(informer.key_of(new))

    def on_delete(obj: T) -> None:
        queue.add(informer.key_of(obj))

    informer.add_event_handler(on_add, on_update, on_delete)
