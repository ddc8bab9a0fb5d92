"""What a node agent may do with PersistentVolumes: the Node authorizer's and the
NodeRestriction plugin's part for them.

- **get** a volume a claim of one of its pods is bound to (Kubernetes' graph edge
  pod → claim → volume): the node agent reads it to mount it;
- **get** and **update** a local-path volume pinned to it (``csi.driver
  jetkube.io/local-path``, node affinity naming the node): the node owns that volume's
  directory; it adds the ``jetkube.io/local-path-data`` finalizer before it creates the
  directory on first mount, and once the volume is deleted removes the directory and then
  the finalizer.  NodeRestriction lets such an update add (to a volume not being deleted)
  or remove that finalizer and change nothing else.

Everything else about volumes gets no opinion here (RBAC decides: nodes are bound to no
role that grants it).  Decisions read the watch cache: a few lookups, the node's claims
counted by the graph.
"""

from __future__ import annotations

from collections.abc import Iterable

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import LOCAL_PATH_FINALIZER, LOCAL_PATH_PROVISIONER
from jetkube.schemas.volumematch import pinned_node

from ..machinery.apimachinery import apierrors, object_key
from .watchcache import WatchCache

PVS, PVCS = "persistentvolumes", "persistentvolumeclaims"
_FREE_META = ("resourceVersion", "managedFields", "finalizers", "generation")


def pinned_local_path(cache: WatchCache, node: str, name: str) -> bool:
    """The volume ``name`` is a local-path volume on ``node``."""
    cached = cache.resource(PVS).items.get(object_key(PVS, None, name))
    if cached is None:
        return False
    volume = cached.obj
    driver = ((volume.get("spec") or {}).get("csi") or {}).get("driver")
    return driver == LOCAL_PATH_PROVISIONER and pinned_node(volume) == node


def claims_bound_to(cache: WatchCache, claims: Iterable[tuple[str, str, str]],
                    name: str) -> bool:
    """One of ``claims`` (refs a node's pods hold) is bound to the volume ``name``."""
    items = cache.resource(PVCS).items
    for resource, ns, claim in claims:
        if resource != PVCS:
            continue
        cached = items.get(object_key(PVCS, ns, claim))
        if cached is not None and (cached.obj.get("spec") or {}).get("volumeName") == name:
            return True
    return False


def node_may(cache: WatchCache, node: str, refs: Iterable[tuple[str, str, str]], verb: str,
             name: str, subresource: str) -> bool:
    """The Node authorizer's answer for ``verb`` on ``persistentvolumes/name``."""
    if subresource or not name:
        return False
    if verb == "get":
        return claims_bound_to(cache, refs, name) or pinned_local_path(cache, node, name)
    if verb == "update":
        return pinned_local_path(cache, node, name)
    return False


def _rest(obj: Obj) -> Obj:
    md = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _FREE_META}
    return {**obj, "metadata": md}


def admit_node_volume_write(node: str, op: str, old: Obj | None, new: Obj | None,
                            name: str) -> None:
    """NodeRestriction for volumes: a node's only write adds or removes the local-path
    finalizer of its own volume (adds it only while the volume is not being deleted)."""
    why = f'node "{node}" can only add or remove the {LOCAL_PATH_FINALIZER} finalizer of ' \
          "its own local-path volumes"
    if op != "update" or old is None or new is None:
        raise apierrors.forbidden_message(f'persistentvolumes "{name}" is forbidden: {why}')
    old_md = old.get("metadata") or {}
    before = [f for f in old_md.get("finalizers") or () if f != LOCAL_PATH_FINALIZER]
    after = list((new.get("metadata") or {}).get("finalizers") or ())
    added = LOCAL_PATH_FINALIZER in after and LOCAL_PATH_FINALIZER not in (
        old_md.get("finalizers") or ())
    if ([f for f in after if f != LOCAL_PATH_FINALIZER] != before or _rest(old) != _rest(new)
            or (added and old_md.get("deletionTimestamp"))):
        raise apierrors.forbidden_message(f'persistentvolumes "{name}" is forbidden: {why}')
