"""The contract between the REST verbs (handlers.py) and the subresources.

Like kube-apiserver's ``registry/rest``: a subresource (``status``, ``scale``,
``binding``, ``pods/log``, ...) is served by a function over the verbs of its
resource, described here by :class:`ResourceHandlers` (which
:class:`~.handlers.Handlers` implements).  The subresources are a table,
:data:`SubresourceTable`, from subresource name to function, that the server
builds (subresources.py) and hands to the handlers; so handlers.py imports no
subresource and no subresource imports handlers.py.  Decoding a request body
lives here too (:func:`read_body`, :func:`read_patch`, :func:`delete_options_body`, over
decode.py's bounds), as both sides use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import orjson

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType, subresource_body

from ..machinery.apimachinery import apierrors
from ..machinery.store import Store
from . import decode
from .apply import patch_format
from .decode import MAX_BODY as MAX_BODY  # 1.5 MiB, as etcd's request limit
from .patch import JSON_PATCH, object_causes, patch_type
from .protobody import DELETE_OPTIONS, Target
from .request import ApiRequest
from .response import Response, StreamResponse, UpgradeResponse, warn

T = TypeVar("T")

_SAID = 20
"""Duplicate fields a Status or the warnings name at most (the rest are counted)."""


async def read_body(req: ApiRequest) -> Obj:
    """The object of a create or update request (a subresource's too): JSON, YAML or
    Kubernetes protobuf (of the URL's type) within the bounds of decode.py, decoded off the
    event loop when large, ``fieldValidation`` applied to duplicate fields; 400 unless it is
    an object whose ``kind`` and ``apiVersion``, when given, are strings and whose
    ``metadata`` is an object."""
    fmt = decode.body_format(req.content_type)  # 415 first, as kube-apiserver
    validation = decode.field_validation(req.params.field_validation, req.verb)
    target = body_target(req) if fmt == "protobuf" else None
    got = await decode.decode_off_loop(req.body or b"", fmt, target)
    _ignored(got, validation)
    return _body_object(req, got, validation)


def body_target(req: ApiRequest) -> Target:
    """The type a protobuf body of ``req`` must hold: the subresource's own (Scale,
    Binding) or the resource's (its status too)."""
    rt = (subresource_body(req.subresource) if req.subresource else None) or req.rt
    return Target(rt.api_version, rt.kind, rt.model)


DELETE_OPTIONS_MAX = 64 * 1024
"""A protobuf DeleteOptions is read on the event loop: kubectl's are ~20 bytes."""


def delete_options_body(req: ApiRequest) -> Any:
    """The DeleteOptions a DELETE carries, as its JSON value: JSON, or Kubernetes protobuf
    (kubectl drain's typed client); 400 when it is neither, 413 past
    :data:`DELETE_OPTIONS_MAX` for protobuf."""
    body = req.body or b""
    if decode.media_type(req.content_type) == decode.PROTOBUF:
        if len(body) > DELETE_OPTIONS_MAX:
            raise apierrors.too_large(DELETE_OPTIONS_MAX)
        got = decode.decode(body, "protobuf", DELETE_OPTIONS)
        _ignored(got, "Warn")
        return got.data
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise apierrors.bad_request("DeleteOptions is not valid JSON") from None


def _ignored(got: decode.Decoded, validation: str) -> None:
    """Protobuf fields skipped as unknown: a warning each unless ``fieldValidation=Ignore``
    (Kubernetes' protobuf decoder drops them silently, even with Strict)."""
    if validation == "Ignore":
        return
    for text in got.ignored[:_SAID]:
        warn(f"unknown protobuf field dropped: {text}")


async def read_patch(req: ApiRequest) -> tuple[str, Any]:
    """The patch type and document of a PATCH (JSON within the bounds, duplicate fields
    as ``fieldValidation`` says; 422 when a merge patch's ``metadata`` is no object)."""
    ptype = patch_type(req.content_type)
    validation = decode.field_validation(req.params.field_validation, req.verb)
    got = await decode.decode_off_loop(req.body or b"", patch_format(ptype, req.body or b""))
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

    def cached_object(self, rt: ResourceType, namespace: str | None, name: str
                      ) -> Obj | None: ...

    async def update(self, rt: ResourceType, namespace: str | None, name: str, obj: Obj,
                     *, subresource: str | None = None) -> Obj: ...

    async def write_update(self, rt: ResourceType, old: Obj, obj: Obj, *,
                           subresource: str | None = None) -> Obj: ...

    async def patch(self, req: ApiRequest, subresource: str | None = None) -> Obj: ...


async def on_current(h: ResourceHandlers, rt: ResourceType, namespace: str | None, name: str,
                     attempt: Callable[[Obj], Awaitable[T]]) -> T:
    """Run a read-modify-write ``attempt`` on the object, first on the watch cache's copy
    (no store read), and once more on the store's if that fails: kube-apiserver's
    GuaranteedUpdate with a cached existing object.  A stale copy cannot slip through: the
    write's CAS on its resourceVersion fails, as does a check the copy was too old to pass
    (a pod not yet bound, a uid of its predecessor); the store's copy then decides."""
    cached = h.cached_object(rt, namespace, name)
    if cached is not None:
        try:
            return await attempt(cached)
        except apierrors.ApiError:
            pass
    return await attempt(await h.get_object(rt, namespace, name))


SubresourceHandler = Callable[[ResourceHandlers, ApiRequest],
                              Awaitable[Response | StreamResponse | UpgradeResponse]]
SubresourceTable = Mapping[str, SubresourceHandler]  # subresource name -> its handler
