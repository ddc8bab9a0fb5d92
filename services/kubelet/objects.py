"""ConfigMaps and Secrets the node's pods use, cached and watched.

Kubernetes' kubelet watches exactly the objects its pods reference.  The store
watches by key prefix, so the closest cheap equivalent is one informer per
(resource, namespace) that some pod on this node uses, started on first use
and shared by every pod (and, in a hollow-node process, by every node).
Secrets are sealed in the store (the API server encrypts their values at rest), so
their watch only says *that* a Secret changed; the values come from the API server
(a GET, cached per resourceVersion), as Kubernetes' kubelet reads them.
``subscribe`` tells a pod worker when an object it used changes, so
configMap/secret volumes are rewritten and a container that waited on a
missing key (CreateContainerConfigError) is retried.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient, Informer, SharedInformerFactory

Ref = tuple[str, str, str]  # (resource, namespace, name)
Callback = Callable[[], None]


class ObjectSource:
    def __init__(self, informers: SharedInformerFactory, api: ApiClient) -> None:
        self.informers = informers
        self.api = api
        self._secrets: dict[Ref, tuple[str, Obj | None]] = {}  # ref -> (resourceVersion, object)
        self._hooked: set[tuple[str, str]] = set()
        self._subs: dict[Ref, dict[int, Callback]] = {}

    def _informer(self, resource: str, namespace: str) -> Informer[Obj]:
        inf = self.informers.informer(resource, namespace)
        if (resource, namespace) not in self._hooked:
            self._hooked.add((resource, namespace))

            def changed(obj: Obj) -> None:
                md = obj.get("metadata") or {}
                for cb in list(self._subs.get((resource, namespace, md.get("name", "")),
                                              {}).values()):
                    cb()

            inf.add_event_handler(changed, lambda _old, new: changed(new), changed)
            inf.start()  # no-op when the factory already started it
        return inf

    async def get(self, resource: str, namespace: str, name: str) -> Obj | None:
        inf = self._informer(resource, namespace)
        if not inf.has_synced():
            await inf.wait_synced()
        return inf.get_by_name(namespace, name)

    async def data(self, resource: str, namespace: str, name: str) -> dict[str, bytes] | None:
        """The object's keys and values (secrets and binaryData decoded), or None if missing."""
        obj = await self.get(resource, namespace, name)
        if obj is None:
            return None
        if resource == "secrets":
            obj = await self._secret(namespace, name, str(obj["metadata"].get("resourceVersion")))
            if obj is None:
                return None
        return object_data(obj, secret=resource == "secrets")

    async def _secret(self, namespace: str, name: str, rv: str) -> Obj | None:
        """The Secret with its values, from the API server, at least as new as ``rv``."""
        ref = ("secrets", namespace, name)
        hit = self._secrets.get(ref)
        if hit is not None and hit[0] == rv:
            return hit[1]
        try:
            obj: Obj | None = await self.api.get("secrets", namespace, name)
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
            obj = None
        self._secrets[ref] = (rv, obj)
        return obj

    def subscribe(self, ref: Ref, owner: int, callback: Callback) -> None:
        """Call ``callback`` when the object at ``ref`` is added, changed or deleted."""
        self._subs.setdefault(ref, {})[owner] = callback

    def unsubscribe_all(self, owner: int) -> None:
        for ref in [r for r, subs in self._subs.items() if owner in subs]:
            subs = self._subs[ref]
            subs.pop(owner, None)
            if not subs:
                del self._subs[ref]


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
