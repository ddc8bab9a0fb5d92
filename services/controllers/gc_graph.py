"""The garbage collector's dependency graph: who owns whom, by uid.

Kubernetes' GraphBuilder keeps a node per object (uid, identity, owner
references) and the reverse edges owner uid → dependent uids, fed by one
informer per resource.  :class:`OwnerGraph` is that structure, updated from
the garbage collector's informer handlers (pure dictionary work, no I/O).
An owner that is referenced but not (yet) observed has no node, only
dependents: the collector then asks the API server whether it exists.

Also here: reading owner references out of JSON objects, and resolving an
owner reference's ``apiVersion``/``kind`` to a served resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType, all_resources, by_kind

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"


@dataclass(frozen=True, slots=True)
class OwnerRef:
    uid: str
    api_version: str
    kind: str
    name: str
    block: bool  # blockOwnerDeletion

    def as_dict(self) -> Obj:
        return {"apiVersion": self.api_version, "kind": self.kind, "name": self.name,
                "uid": self.uid}


@dataclass(frozen=True, slots=True)
class GraphNode:
    """What the graph knows of one observed object."""

    uid: str
    key: str  # store key (resource.namespace.name)
    resource: str  # plural
    namespace: str  # "" when cluster-scoped
    owners: tuple[OwnerRef, ...]
    deleting_dependents: bool  # being deleted with the foregroundDeletion finalizer


def metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, Mapping) else {}


def finalizers(obj: Mapping[str, Any]) -> list[str]:
    return [str(f) for f in metadata(obj).get("finalizers") or ()]


def deleting(obj: Mapping[str, Any]) -> bool:
    return bool(metadata(obj).get("deletionTimestamp"))


def deleting_dependents(obj: Mapping[str, Any]) -> bool:
    """True while the object waits for its dependents (foreground deletion)."""
    return deleting(obj) and FOREGROUND in finalizers(obj)


def owner_refs(obj: Mapping[str, Any]) -> tuple[OwnerRef, ...]:
    refs: list[OwnerRef] = []
    for r in metadata(obj).get("ownerReferences") or ():
        if not isinstance(r, Mapping) or not r.get("uid"):
            continue
        refs.append(OwnerRef(str(r["uid"]), str(r.get("apiVersion") or ""),
                             str(r.get("kind") or ""), str(r.get("name") or ""),
                             r.get("blockOwnerDeletion") is True))
    return tuple(refs)


def ref_to(obj: Mapping[str, Any], owner_uid: str) -> OwnerRef | None:
    """The object's owner reference to ``owner_uid``, if it has one."""
    return next((r for r in owner_refs(obj) if r.uid == owner_uid), None)


def resolve(ref: OwnerRef) -> ResourceType | None:
    """The resource an owner reference names (any version of its group), or None."""
    rt = by_kind(ref.api_version, ref.kind)
    if rt is not None:
        return rt
    group = ref.api_version.rsplit("/", 1)[0] if "/" in ref.api_version else ""
    return next((r for r in all_resources() if r.group == group and r.kind == ref.kind), None)


class OwnerGraph:
    """Observed objects by uid, and the dependents of every referenced owner uid."""

    def __init__(self) -> None:
        self._nodes: dict[str, GraphNode] = {}
        self._uid_at: dict[str, str] = {}  # store key -> uid
        self._dependents: dict[str, set[str]] = {}  # owner uid -> dependent uids
        # uid -> the metadata.ownerReferences its node was built from, as the object had them
        self._refs_seen: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, uid: str) -> GraphNode | None:
        return self._nodes.get(uid)

    def uid_at(self, key: str) -> str | None:
        return self._uid_at.get(key)

    def dependents(self, uid: str) -> list[GraphNode]:
        """The observed objects that name ``uid`` as an owner."""
        return [self._nodes[d] for d in sorted(self._dependents.get(uid, ())) if d in self._nodes]

    def has_dependents(self, uid: str) -> bool:
        return bool(self._dependents.get(uid))

    def observe(self, resource: str, key: str, obj: Mapping[str, Any]) -> tuple[GraphNode | None, GraphNode]:
        """Record ``obj`` (added or updated); returns the node it replaces, if any."""
        md = metadata(obj)
        uid = str(md.get("uid") or key)
        old_uid = self._uid_at.get(key)
        raw_refs = md.get("ownerReferences")
        dd = deleting_dependents(obj)
        if old_uid == uid:
            # most updates (a pod's status) leave the node as it was: the same object
            # (uid at key: same resource and namespace), references and deletion state
            same = self._nodes.get(uid)
            if (same is not None and same.deleting_dependents == dd
                    and self._refs_seen.get(uid) == raw_refs):
                self._refs_seen[uid] = raw_refs  # the new version's (equal) list
                return same, same
        ns = str(md.get("namespace") or "")
        node = GraphNode(uid, key, resource, ns, owner_refs(obj), dd)
        old = None
        if old_uid is not None and old_uid != uid:
            old = self.forget(key)
        else:
            old = self._nodes.get(uid)
        if old is not None and old.uid == uid:
            for ref in old.owners:
                self._unlink(ref.uid, uid)
        self._nodes[uid] = node
        self._uid_at[key] = uid
        self._refs_seen[uid] = raw_refs
        for ref in node.owners:
            self._dependents.setdefault(ref.uid, set()).add(uid)
        return old, node

    def forget(self, key: str) -> GraphNode | None:
        """Drop the object at ``key``; returns its node.  Its dependents' edges stay:
        they still name it, and the collector will find it gone."""
        uid = self._uid_at.pop(key, None)
        if uid is None:
            return None
        node = self._nodes.pop(uid, None)
        self._refs_seen.pop(uid, None)
        if node is not None:
            for ref in node.owners:
                self._unlink(ref.uid, uid)
        return node

    def _unlink(self, owner: str, dependent: str) -> None:
        deps = self._dependents.get(owner)
        if deps is not None:
            deps.discard(dependent)
            if not deps:
                del self._dependents[owner]
