"""What every write path shares: loading an object (defaults, validation), running heavy
work off the event loop, and the signal that a write on the watch cache's copy changed
nothing (handlers.py, patching.py)."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import copy_context
from typing import Any, TypeVar

import orjson

from jetkube import schemas
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors
from .decode import OFFLOAD_AT, off_loop

__all__ = ["StaleNoop", "is_big", "load", "load_created", "maybe_off"]

T = TypeVar("T")


async def load(rt: ResourceType, obj: Obj, big: bool, status_only: bool = False) -> Obj:
    """``obj`` validated and defaulted (schemas.load_object; ``status_only``: a status
    write, whose other fields are the stored object's: schemas.load_status); a big one
    (over ``OFFLOAD_AT`` as JSON: ~23 ms for a 600 KB ConfigMap) in the decoder's worker
    thread, so it does not hold up the event loop.  ``big``: whether the whole object is
    (``is_big``, which the caller needs too); a status write's status alone is measured
    only when it is."""
    try:
        if status_only:
            if big and is_big(obj.get("status")):
                return await off_loop(schemas.load_status, rt, obj)
            return schemas.load_status(rt, obj)
        if big:
            return await off_loop(schemas.load_object, rt, obj)
        return schemas.load_object(rt, obj)
    except schemas.SchemaError as err:
        raise _as_api_error(rt, obj, err) from None


async def load_created(rt: ResourceType, obj: Obj, big: bool
                       ) -> tuple[Obj, dict[str, Any] | None]:
    """A created object loaded as :func:`load` loads it, with its template's table
    (schemas.load_remembered; None when its result is not remembered, as a big one's
    never is)."""
    if big:
        return await load(rt, obj, big), None
    try:
        return schemas.load_remembered(rt, obj)
    except schemas.SchemaError as err:
        raise _as_api_error(rt, obj, err) from None


def _as_api_error(rt: ResourceType, obj: Obj, err: schemas.SchemaError) -> apierrors.ApiError:
    name = str((obj.get("metadata") or {}).get("name") or "")
    if err.kind == "BadRequest":
        return apierrors.bad_request(str(err), err.causes)
    return apierrors.invalid(rt.kind, name, err.causes, rt.group)


async def maybe_off(heavy: bool, fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, in the decoding worker thread when the patch or object is ``heavy``
    (with the request's context: its field manager, its dry run)."""
    return await off_loop(copy_context().run, fn, *args) if heavy else fn(*args)


class StaleNoop(Exception):
    """A write that changes nothing on the watch cache's copy: the store's copy decides."""


def is_big(obj: Obj | None, json_size: int | None = None) -> bool:
    """Whether walking ``obj`` may take milliseconds (a few µs to know, for a Pod);
    ``json_size``: the length of the JSON ``obj`` was decoded from, if known (an object
    the server adds a few fields to is as big): then nothing is encoded to know."""
    if json_size is not None:
        return json_size > OFFLOAD_AT
    return len(orjson.dumps(obj)) > OFFLOAD_AT
