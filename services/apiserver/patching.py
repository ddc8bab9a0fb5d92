"""PATCH on any resource and its subresources (handlers.py's ``patch``): JSON patch, JSON
merge patch, strategic merge patch (patch.py) and server-side apply (apply.py), each a
read-modify-write guarded by the store's compare-and-swap, retried on a newer object."""

from __future__ import annotations

from typing import Any, Protocol

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors
from . import apply, dryrun, lifecycle, managedfields
from .objects import meta
from .patch import APPLY, apply_patch, heavy_patch
from .request import ApiRequest, check_identity
from .rest import read_patch
from .writeload import StaleNoop, is_big, maybe_off

__all__ = ["PATCH_RETRIES", "Writer", "patch"]

PATCH_RETRIES = 5


class Writer(Protocol):
    """What a patch needs of the handlers (handlers.Handlers), named here so that this
    module does not import the module that calls it."""

    def cached_object(self, rt: ResourceType, namespace: str | None,
                      name: str) -> Obj | None: ...

    async def get_object(self, rt: ResourceType, namespace: str | None, name: str) -> Obj: ...

    async def create(self, rt: ResourceType, namespace: str | None, obj: Obj, *,
                     trace: dict[str, str] | None = None,
                     managed: list[Obj] | None = None) -> Obj: ...

    async def write_update(self, rt: ResourceType, old: Obj, obj: Obj, *,
                           subresource: str | None = None,
                           managed: list[Obj] | None = None, cached: bool = False) -> Obj: ...


async def patch(h: Writer, req: ApiRequest, subresource: str | None = None) -> Obj:
    """A PATCH (JSON, merge, strategic merge, or server-side apply) of ``req``'s object or
    its ``subresource``.  The first try patches the watch cache's copy (no store read)
    where no resourceVersion is asked for; anything failing on it, or changing nothing
    on it, is tried again on the store's copy."""
    rt, name = req.rt, req.name or ""
    ctype, patch_doc = await read_patch(req)  # within decode.py's bounds
    if ctype == APPLY:  # server-side apply (apply.py): create or update, by its manager
        patch_doc = apply.check_config(rt, req.namespace, name, patch_doc)
    precondition = None
    if isinstance(patch_doc, dict):
        precondition = (patch_doc.get("metadata") or {}).get("resourceVersion")
    heavy = heavy_patch(ctype, patch_doc, len(req.body or b""))
    raced = False
    # the first try patches the watch cache's copy (no store read) where no
    # resourceVersion is asked for; anything failing on it is tried on the store's
    cached = ctype != APPLY and not precondition and not dryrun.active()
    for _ in range(PATCH_RETRIES):
        old = h.cached_object(req.rt, req.namespace, name) if cached else None
        if old is None:
            cached = False
            old = await _patched_object(h, req, ctype, subresource, precondition)
        managed: list[Obj] | None = None
        if ctype == APPLY:
            patched, managed = await maybe_off(
                heavy or (old is not None and is_big(old)), apply.apply, rt, old, patch_doc,
                managedfields.writer(req), subresource)
        else:  # (managedFields are the server's: not copied through the patch)
            assert old is not None
            doc = old if b"managedFields" in (req.body or b"") else \
                lifecycle.without_managed_fields(old)
            try:
                patched = await maybe_off(heavy, apply_patch, ctype, doc, patch_doc)
            except apierrors.ApiError:
                if not cached:
                    raise
                cached = False  # e.g. a JSON patch's test of a uid the copy predates
                continue
        if old is None:  # an apply creates what is not there
            try:
                created = await h.create(rt, req.namespace, patched, managed=managed)
            except apierrors.ApiError as err:
                if err.code == 409 and err.reason == "AlreadyExists" and not raced:
                    raced = True
                    continue  # created in between: apply to it
                raise
            managedfields.mark_created()
            return created
        patched = check_identity(rt, req.namespace, patched)
        meta(patched)["name"] = name
        try:
            return await h.write_update(rt, old, patched, subresource=subresource,
                                           managed=managed, cached=cached)
        except StaleNoop:
            cached = False
            continue
        except apierrors.ApiError as err:
            if cached or (err.code == 409 and err.reason == "Conflict" and not precondition):
                cached = False
                continue  # someone wrote in between: patch the newer object
            raise
    raise apierrors.conflict(rt.plural, name, rt.group)

async def _patched_object(h: Writer, req: ApiRequest, ctype: str, subresource: str | None,
                          precondition: Any) -> Obj | None:
    """The object a patch applies to; None when an apply is to create it."""
    try:
        old = await h.get_object(req.rt, req.namespace, req.name or "")
    except apierrors.ApiError as err:
        if err.code != 404 or ctype != APPLY or subresource is not None:
            raise
        if precondition:
            raise apierrors.bad_request(
                "resourceVersion should not be set on objects to be created") from None
        return None
    if precondition and str(precondition) != old["metadata"]["resourceVersion"]:
        raise apierrors.conflict(req.rt.plural, req.name or "", req.rt.group)
    return old
