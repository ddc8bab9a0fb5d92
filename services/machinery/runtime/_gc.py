"""The cyclic garbage collector's settings for a service process (one helper for all:
the API server, the controller-manager, the scheduler, the node agents), and giving the
C allocator's free pages back to the system (:func:`release_free_memory`).

The API server's watch cache, the informers, the scheduler's cache and the hollow nodes'
pods are large heaps of plain JSON dicts without reference cycles.  With CPython's
defaults (700, 10, 10) a young collection runs every few hundred allocations while
events pour in, and a full one, walking the whole heap, each time it grows by a quarter:
in a density run that was a quarter to a third of a hollow-node process's CPU.  A service
raises the thresholds once at start; ``JETKUBE_GC_DEFAULT=1`` keeps CPython's, to compare.
Cycles are still collected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import os

__all__ = ["GC_THRESHOLDS", "release_free_memory", "tune_gc"]

GC_THRESHOLDS = (200_000, 50, 100)
"""Allocations before a young collection; young collections before a middle one; middle
ones before a full one may be considered (CPython also waits until a quarter of the
long-lived objects are new).

A young collection walks every container allocated since the last one and still alive,
a middle one every survivor of the young ones since: a cached pod's dicts and lists were
walked twice before they settled.  (50,000, 20, 100) gave, over bench/density.py's
processes (gc callbacks, one run each, 2026-12-05): 4.6 s of collections in all, the
scheduler 1.1 s (0.6 of it middle ones) and the hollow nodes 1.6 s; (200,000, 50, 100)
2.5 s, the scheduler 0.5 s and the hollow nodes 0.9 s: a pod version replaced within a few
seconds now dies before a collection sees it, and a middle collection comes after 10
million allocations, not 1 million.  A young collection then takes up to ~25 ms in the
API server (bench/api.py's paced p99 stayed 2-3 ms: one in thousands of requests meets
one)."""


def tune_gc(thresholds: tuple[int, int, int] = GC_THRESHOLDS, *, freeze: bool = False) -> bool:
    """Set ``thresholds`` (unless JETKUBE_GC_DEFAULT=1); with ``freeze``, first collect and
    move every object alive now to the permanent generation, which no collection walks
    again (what a start-up built and keeps).  Whether anything changed."""
    if os.environ.get("JETKUBE_GC_DEFAULT") == "1":
        return False
    if freeze:
        gc.collect()
        gc.freeze()
    gc.set_threshold(*thresholds)
    return True


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """The C library, looked up once: ``find_library`` runs ``ldconfig -p`` in a child
    process, which a release every thousand events used to fork from a 300 MiB server."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None


def release_free_memory() -> bool:
    """glibc's ``malloc_trim(0)``: free heap pages go back to the kernel.  False where there
    is no glibc (the call is skipped; nothing else depends on it)."""
    try:
        libc = _libc()
        return libc is not None and bool(libc.malloc_trim(0))
    except AttributeError:
        return False
