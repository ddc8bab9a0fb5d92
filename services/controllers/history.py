"""ControllerRevisions: a controller's history, as Kubernetes' ``pkg/controller/history``.

A ControllerRevision holds ``data`` (for a StatefulSet, the patch that puts a pod template
back: ``{"spec": {"template": {..., "$patch": "replace"}}}``) and a ``revision`` number.
Its name is ``<parent>-<hash>``: the FNV-1 32-bit hash of the data's JSON (sorted keys,
as Go's encoder writes a map) and of the parent's ``collisionCount``, written with
Kubernetes' ``SafeEncodeString`` alphabet.  Two revisions are equal when their data is.

:class:`ControllerHistory` writes them through the API: ``create`` retries under a new
name (``collisionCount`` + 1) when the name is taken by different data, and returns the
existing revision when it holds the same data; ``update_revision`` renumbers a revision
(a rollback to an equal, older revision makes it the newest).
"""

from __future__ import annotations

import copy

import orjson

from jetkube.schemas.objects import Obj, OwnerReferenceDict

from ..machinery.apimachinery import apierrors, safe_encode
from ..machinery.client import ApiClient

HASH_LABEL = "controller.kubernetes.io/hash"
"""The label a ControllerRevision carries its hash in (Kubernetes' ControllerRevisionHashLabel)."""
_MAX_PREFIX = 223  # ControllerRevisionName keeps the name within 253 characters
_FNV_OFFSET, _FNV_PRIME = 0x811C9DC5, 0x01000193


def _fnv1_32(data: bytes, h: int = _FNV_OFFSET) -> int:
    for byte in data:
        h = (h * _FNV_PRIME) & 0xFFFFFFFF
        h ^= byte
    return h


def raw(data: object) -> bytes:
    """The JSON bytes of a revision's data, keys sorted as Go writes a map."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def hash_revision(data: object, collision_count: int | None) -> str:
    """Kubernetes' ``HashControllerRevision``."""
    h = _fnv1_32(raw(data))
    if collision_count is not None:
        h = _fnv1_32(str(collision_count).encode(), h)
    return safe_encode(str(h))


def revision_name(parent: str, hash_: str) -> str:
    """Kubernetes' ``ControllerRevisionName``."""
    return f"{parent[:_MAX_PREFIX]}-{hash_}"


def new_revision(parent: Obj, ref: OwnerReferenceDict, template_labels: dict[str, str],
                 data: Obj, number: int, collision_count: int) -> Obj:
    """Kubernetes' ``NewControllerRevision`` (name and hash label from the data)."""
    md = parent["metadata"]
    hash_ = hash_revision(data, collision_count)
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": revision_name(md["name"], hash_), "namespace": md["namespace"],
                         "labels": {**template_labels, HASH_LABEL: hash_},
                         "annotations": dict(md.get("annotations") or {}),
                         "ownerReferences": [dict(ref)]},
            "data": data, "revision": number}


def equal_revision(a: Obj | None, b: Obj | None) -> bool:
    """Kubernetes' ``EqualRevision``: the same data."""
    if a is None or b is None:
        return a is b
    return bool(a.get("data") == b.get("data"))


def find_equal_revisions(revisions: list[Obj], needle: Obj) -> list[Obj]:
    return [r for r in revisions if equal_revision(r, needle)]


def sort_revisions(revisions: list[Obj]) -> list[Obj]:
    """By revision number, then creation time, then name (``SortControllerRevisions``)."""
    return sorted(revisions, key=lambda r: (int(r.get("revision") or 0),
                                            str(r["metadata"].get("creationTimestamp") or ""),
                                            str(r["metadata"].get("name"))))


def next_revision(revisions: list[Obj]) -> int:
    """One more than the highest revision number (1 for no history); ``revisions`` sorted."""
    return int(revisions[-1].get("revision") or 0) + 1 if revisions else 1


class ControllerHistory:
    """Writes ControllerRevisions through the API server."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api

    async def create(self, parent: Obj, revision: Obj, collision_count: int) -> tuple[Obj, int]:
        """Create ``revision`` under its hashed name: (the stored revision, the collision
        count, raised for every name already taken by different data)."""
        ns = parent["metadata"]["namespace"]
        while True:
            body = copy.deepcopy(revision)
            hash_ = hash_revision(revision["data"], collision_count)
            body["metadata"]["name"] = revision_name(parent["metadata"]["name"], hash_)
            body["metadata"]["labels"][HASH_LABEL] = hash_
            try:
                return await self.api.create("controllerrevisions", ns, body), collision_count
            except apierrors.ApiError as err:
                if err.code != 409:
                    raise
            existing = await self.api.get("controllerrevisions", ns, body["metadata"]["name"])
            if equal_revision(existing, body):
                return existing, collision_count
            collision_count += 1

    async def update_revision(self, revision: Obj, number: int) -> Obj:
        """Give ``revision`` a new number (its data never changes)."""
        if int(revision.get("revision") or 0) == number:
            return revision
        md = revision["metadata"]
        return await self.api.patch("controllerrevisions", md["namespace"], md["name"],
                                    {"revision": number})

    async def delete(self, revision: Obj) -> None:
        md = revision["metadata"]
        try:
            await self.api.delete("controllerrevisions", md["namespace"], md["name"])
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
