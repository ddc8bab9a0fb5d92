"""ConfigMaps and Secrets the node's pods use, read through the API server.

Kubernetes' kubelet reads exactly the objects its pods reference, and the Node authorizer
lets it read no others; here too: a node agent's bus identity may not watch ConfigMaps or
Secrets in the store, so :meth:`ObjectSource.get` asks the API server (``get``, which the
Node authorizer allows only for objects referenced by a pod bound to this node) and keeps
the answer until the object changes.  The API server says when it does: after each
committed write of a ConfigMap or Secret that pods of a node reference, it publishes a
metadata-only event (no values) on that node's pod stream, which the pod source hands to
:meth:`ObjectSource.changed`.  ``subscribe`` tells a pod worker when an object it used
changes, so configMap/secret volumes are rewritten and a container that waited on a
missing key (CreateContainerConfigError) is retried.

Services are another matter: the kubelet watches all of them (the Node authorizer lets it,
and so does a node's bus identity, cli/buspolicy.py), and a pod's service environment
variables are read from that informer (``services``), with no request per pod.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Protocol

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient

Ref = tuple[str, str, str]  # (resource, namespace, name)
Callback = Callable[[], None]

KINDS = {"ConfigMap": "configmaps", "Secret": "secrets"}
"""The kinds whose change events arrive on a node's stream, and their resources."""


class ServiceLister(Protocol):
    """The node's Services, as its informer holds them (an ``Informer[Obj]``)."""

    def has_synced(self) -> bool: ...

    async def wait_synced(self) -> None: ...

    def list(self, namespace: str | None = None) -> list[Obj]: ...

    def get_by_name(self, namespace: str | None, name: str) -> Obj | None: ...


class ObjectSource:
    def __init__(self, api: ApiClient, services: ServiceLister) -> None:
        self.api = api
        self.services = services
        self._cache: dict[Ref, Obj | None] = {}  # None: the API server said 404
        self._generation: dict[Ref, int] = {}  # bumped by every change heard
        self._subs: dict[Ref, dict[int, Callback]] = {}

    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        """The object (None if it does not exist), from the cache or the API server."""
        ref = (resource, namespace, name)
        if ref in self._cache:
            return self._cache[ref]
        generation = self._generation.get(ref, 0)
        try:
            obj: Obj | None = await self.api.get(resource, namespace, name)
        except apierrors.ApiError as err:
            if err.code != 404:
                raise  # 403 while the API server has not yet seen the pod: retried later
            obj = None
        if self._generation.get(ref, 0) == generation:  # no change heard meanwhile
            self._cache[ref] = obj
        return obj

    async def data(self, resource: str, namespace: str, name: str) -> dict[str, bytes] | None:
        """The object's keys and values (secrets and binaryData decoded), or None if missing."""
        obj = await self.get(resource, namespace, name)
        if obj is None:
            return None
        return object_data(obj, secret=resource == "secrets")

    def changed(self, resource: str, namespace: str, name: str) -> None:
        """The object was written or deleted: forget it and tell the pods that use it."""
        ref = (resource, namespace, name)
        self._cache.pop(ref, None)
        self._generation[ref] = self._generation.get(ref, 0) + 1
        for cb in list(self._subs.get(ref, {}).values()):
            cb()

    def subscribe(self, ref: Ref, owner: int, callback: Callback) -> None:
        """Call ``callback`` when the object at ``ref`` is added, changed or deleted."""
        self._subs.setdefault(ref, {})[owner] = callback

    def unsubscribe_all(self, owner: int) -> None:
        for ref in [r for r, subs in self._subs.items() if owner in subs]:
            subs = self._subs[ref]
            subs.pop(owner, None)
            if not subs:
                del self._subs[ref]
                self._cache.pop(ref, None)  # nobody uses it: no stale copy kept
                self._generation.pop(ref, None)


def object_data(obj: Obj, *, secret: bool) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if secret:
        for k, v in (obj.get("data") or {}).items():
            out[k] = base64.b64decode(v or "")
        for k, v in (obj.get("stringData") or {}).items():
            out[k] = str(v).encode()
        return out
    for k, v in (obj.get("data") or {}).items():
        out[k] = str(v).encode()
    for k, v in (obj.get("binaryData") or {}).items():
        out[k] = base64.b64decode(v or "")
    return out
