"""How the watch cache holds a stored value (watchcache.py): :class:`StoredForms` decodes
it (its sealed values opened) and makes the cache's form of it at a revision, and takes
this server's own writes as they were written instead of decoding their events again."""

from __future__ import annotations

import logging

import orjson

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import Key, apierrors, parse_key
from ._cacheitems import BYTES_ONLY, Cached, indexed_values
from .encryption import Encryption
from .lifecycle import without_managed_fields
from .objects import kept_bytes, served_bytes, with_revision_put
from .ondemand import OnDemand

__all__ = ["WRITTEN_MAX", "StoredForms"]

log = logging.getLogger(__name__)

WRITTEN_MAX = 1024
"""Writes of this server whose events may still come (:meth:`StoredForms.expect`)."""


class StoredForms:
    """Stored values into the cache's forms, for one server's ``encryption`` and on-demand
    resources (``demand``: a cold one's events are not cached)."""

    def __init__(self, encryption: Encryption, demand: OnDemand) -> None:
        self.encryption = encryption
        self.demand = demand
        self._written: dict[str, tuple[bytes, Obj]] = {}
        """What this server is writing (:meth:`expect`): key -> (stored bytes, object)."""

    def open(self, resource: str, key: str, obj: Obj) -> Obj:
        """The stored object with its sealed values opened (encryption.py); a value that
        does not open is kept sealed and logged, so one bad key never stops the cache."""
        try:
            return self.encryption.open(resource, key, obj)
        except apierrors.ApiError as err:
            log.error("watch cache: %s", err.message)
            return obj

    def decode(self, resource: str, key: str, value: bytes) -> Obj:
        """A stored value as an object, its sealed values opened."""
        return self.open(resource, key, orjson.loads(value or b"{}"))

    def expect(self, resource: str, key: str, value: bytes, obj: Obj) -> None:
        """This server is writing ``obj`` under ``key`` as ``value`` (its own encoding,
        without resourceVersion): the write's event takes ``obj`` instead of decoding
        ``value`` again (7 µs of a pod's 1.4 KB), if the event's bytes are ``value``.  Only
        for the many objects (``BYTES_ONLY``: their decoded form is dropped once the event
        is handed out) and only unsealed.  The writer changes ``obj`` no more once written,
        but for the resourceVersion its answer carries.
        At most ``WRITTEN_MAX`` are kept (an event that never comes: a watch that resumed
        past it); one for a key goes with that key's next event.  A refused write's stays
        until then: ``obj`` is what ``value`` decodes to, whoever writes those bytes."""
        if (resource not in BYTES_ONLY or resource in self.demand.cold
                or self.encryption.seals(resource)):
            return  # (a cold resource's events are not cached: nothing would take it)
        w = self._written
        w.pop(key, None)
        w[key] = (value, obj)
        if len(w) > WRITTEN_MAX:
            del w[next(iter(w))]

    def cached(self, key: str, value: bytes, revision: int, k: Key | None = None) -> Cached:
        """The cache's form of a stored value at ``revision`` (``k``: ``key`` parsed)."""
        k = k or parse_key(key)
        own = self._written.pop(key, None) if self._written else None
        if own is not None and own[0] == value:  # what this server wrote: no decoding
            # The written object itself, not a copy: ``expect`` keeps the many objects'
            # (BYTES_ONLY), whose decoded form the cache drops once their event is handed
            # out, and until then it is read for what its bytes say too (labels, indexed
            # fields, the followers' spec and uid); its managedFields, and the
            # resourceVersion its writer may have put in since, are no field a selector
            # or follower reads.
            written = own[1]
            raw = with_revision_put(value, written, revision)  # (unsealed: see expect)
            if raw is not None:
                md = written["metadata"]
                return Cached(key, k.namespace, k.name, revision, written, raw,
                              md.get("labels") or {}, indexed_values(k.resource, written))
            # (a field before metadata that is no string: rare; decoded and encoded below)
        stored = orjson.loads(value or b"{}")
        obj = self.open(k.resource, key, stored)
        plain = obj is stored  # (opening a sealed value makes another object)
        raw = served_bytes(value, obj, revision) if plain else None
        md = obj.get("metadata")
        if not isinstance(md, dict):
            md = obj["metadata"] = {}
        md["resourceVersion"] = str(revision)
        if raw is None:
            raw = kept_bytes(obj)
        return Cached(key, k.namespace, k.name, revision, without_managed_fields(obj), raw)
