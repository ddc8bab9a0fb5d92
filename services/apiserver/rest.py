"""The contract between the REST verbs (handlers.py) and the subresources.

Like kube-apiserver's ``registry/rest``: a subresource (``status``, ``scale``,
``binding``, ``pods/log``, ...) is served by a function over the verbs of its
resource, described here by :class:`ResourceHandlers` (which
:class:`~.handlers.Handlers` implements).  The subresources are a table,
:data:`SubresourceTable`, from subresource name to function, that the server
builds (subresources.py) and hands to the handlers; so handlers.py imports no
subresource and no subresource imports handlers.py.  Decoding a request body
lives here too (:func:`read_body`, :func:`read_patch`, over decode.py's bounds), as
both sides use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors
from ..machinery.store import Store
from . import decode
from .decode import MAX_BODY as MAX_BODY  # 1.5 MiB, as etcd's request limit
from .patch import JSON_PATCH, object_causes, patch_type
from .request import ApiRequest
from .response import Response, StreamResponse, warn

_SAID = 20
"""Duplicate fields a Status or the warnings name at most (the rest are counted)."""


async def read_body(req: ApiRequest) -> Obj:
    """The object of a create or update request (a subresource's too): JSON or YAML within
    the bounds of decode.py, decoded off the event loop when large, ``fieldValidation``
    applied to duplicate fields; 400 unless it is an object whose ``kind`` and
    ``apiVersion``, when given, are strings and whose ``metadata`` is an object."""
    fmt = decode.body_format(req.content_type)  # 415 first, as kube-apiserver
    validation = decode.field_validation(req.params.field_validation, req.verb)
    got = await decode.decode_off_loop(req.body or b"", fmt)
    return _body_object(req, got, validation)


async def read_patch(req: ApiRequest) -> tuple[str, Any]:
    """The patch type and document of a PATCH (JSON within the bounds, duplicate fields
    as ``fieldValidation`` says; 422 when a merge patch's ``metadata`` is no object)."""
    ptype = patch_type(req.content_type)
    validation = decode.field_validation(req.params.field_validation, req.verb)
    got = await decode.decode_off_loop(req.body or b"", "json")
    _duplicates(req, got, validation, ptype)
    doc = got.data
    if ptype != JSON_PATCH and isinstance(doc, dict) and "metadata" in doc:
        if causes := object_causes({"metadata": doc["metadata"]}):
            raise apierrors.invalid(req.rt.kind, req.name or "", causes, req.rt.group)
    return ptype, doc


def _body_object(req: ApiRequest, got: decode.Decoded, validation: str) -> Obj:
    _duplicates(req, got, validation, None)
    data = got.data
    if not isinstance(data, dict):
        raise apierrors.bad_request(
            f"the request body must be an object, not {decode.json_type(data)}")
    for name in ("kind", "apiVersion"):
        if name in data and not isinstance(data[name], str):
            raise _bad_field(name, f'"{name}" must be a string, not '
                                   f"{decode.json_type(data[name])}")
    md = data.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise _bad_field("metadata", f'"metadata" must be an object, not {decode.json_type(md)}')
    return data


def _bad_field(name: str, message: str) -> apierrors.ApiError:
    return apierrors.bad_request(message, [{"field": name, "reason": "FieldValueInvalid",
                                            "message": message}])


def _duplicates(req: ApiRequest, got: decode.Decoded, validation: str,
                ptype: str | None) -> None:
    """Fields given twice: refused with Strict (400; 422 for a patch, as kube-apiserver's
    patcher), a warning with Warn (the default), nothing with Ignore."""
    if not got.duplicates or validation == "Ignore":
        return
    prefix = "json patch " if ptype == JSON_PATCH else ""
    said = [f'{prefix}duplicate field "{path}"' for path in got.duplicates[:_SAID]]
    if len(got.duplicates) > _SAID:
        said.append(f"and {len(got.duplicates) - _SAID} more duplicate fields")
    if validation == "Warn":
        for text in said:
            warn(text)
        return
    detail = "strict decoding error: " + ", ".join(said)
    rt = req.rt
    if ptype is not None:
        raise apierrors.invalid(rt.kind, req.name or "", [{
            "field": "patch", "reason": "FieldValueInvalid", "message": detail}], rt.group)
    raise apierrors.bad_request(
        f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: {detail}')


class ResourceHandlers(Protocol):
    """The verbs on a resource that a subresource builds on."""

    @property
    def store(self) -> Store: ...

    async def get_object(self, rt: ResourceType, namespace: str | None, name: str) -> Obj: ...

    async def update(self, rt: ResourceType, namespace: str | None, name: str, obj: Obj,
                     *, subresource: str | None = None) -> Obj: ...

    async def write_update(self, rt: ResourceType, old: Obj, obj: Obj, *,
                           subresource: str | None = None) -> Obj: ...

    async def patch(self, req: ApiRequest, subresource: str | None = None) -> Obj: ...


SubresourceHandler = Callable[[ResourceHandlers, ApiRequest],
                              Awaitable[Response | StreamResponse]]
SubresourceTable = Mapping[str, SubresourceHandler]  # subresource name -> its handler
