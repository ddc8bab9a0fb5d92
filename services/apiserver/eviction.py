"""The ``pods/eviction`` subresource: a policy/v1 ``Eviction`` deletes its pod, as
``kubectl drain`` asks.

``POST /api/v1/namespaces/{ns}/pods/{name}/eviction`` with an ``Eviction`` (policy/v1 or
policy/v1beta1; JSON, YAML or Kubernetes protobuf, which client-go's typed clients send when
set to; kubectl v1.37's drain sends JSON) ``{metadata: {name, namespace}, deleteOptions}``.
As kube-apiserver's ``EvictionREST`` (pkg/registry/core/pod/storage/eviction.go):

- the name in the body must be the URL's (400 ``name in URL does not match name in
  Eviction object``), and so must a namespace the body gives (400);
- RBAC asks for verb ``create`` on ``pods/eviction`` (the front door authorizes every
  subresource as ``resource/subresource``); the delete that follows is not authorized
  again, as Kubernetes' eviction deletes through its own storage;
- the pod is deleted with the Eviction's ``deleteOptions`` (``gracePeriodSeconds``,
  ``preconditions``, ``propagationPolicy``), through the same delete as ``DELETE pods/x``
  (admission, a graceful deletion of a bound pod, compare-and-swap retries); a missing pod
  is 404 ``pods "x" not found``; a pod already terminating is deleted again (its grace may
  shorten) and answered 201, as Kubernetes does;
- ``?dryRun=All`` and ``deleteOptions.dryRun: [All]`` are one dry run (``propagateDryRun``:
  the query's value goes into the options; both given and different is refused, 400 here
  where Kubernetes answers a bare error as a 500, since hostile requests get a 4xx);
- the answer is 201 and a ``Status`` ``{status: Success, code: 201}``.

jetkube serves no PodDisruptionBudgets (policy/v1 is not a served group), so no budget is
checked: every eviction the delete allows happens at once and none is ever 429
TooManyRequests.  Discovery lists ``pods/eviction`` in /api/v1 with group ``policy``,
version ``v1``, kind ``Eviction`` and verb ``create`` (discovery.py), which is what
kubectl's ``CheckEvictionSupport`` looks for.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

import orjson

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors
from . import decode, dryrun, params
from .protobody import Target
from .request import ApiRequest
from .response import Response, warn
from .rest import ResourceHandlers

__all__ = ["EVICTION_VERSIONS", "eviction_body", "serve_eviction"]

EVICTION_VERSIONS = ("policy/v1", "policy/v1beta1")
"""The versions an Eviction may be sent in (kube-apiserver's ``AcceptsGroupVersion``)."""

_SUCCESS: Obj = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                 "code": 201}
_POLICIES = ("Orphan", "Background", "Foreground")


@runtime_checkable
class Deletes(Protocol):
    """The resource's delete, which an eviction uses (:class:`~.handlers.Handlers`'s)."""

    async def delete(self, rt: ResourceType, namespace: str | None, name: str,
                     opts: Obj) -> Obj: ...


async def serve_eviction(h: ResourceHandlers, req: ApiRequest) -> Response:
    """``POST pods/{name}/eviction``: delete the pod as the Eviction's options say."""
    if req.verb != "create" or req.rt.plural != "pods":
        raise apierrors.method_not_allowed(
            f"{req.verb} is not supported on {req.rt.plural}/{req.subresource}")
    if not isinstance(h, Deletes):
        raise apierrors.method_not_allowed("eviction needs the pods' delete")
    name = req.name or ""
    eviction = await eviction_body(req)
    md = eviction.get("metadata") or {}
    if md.get("name") != name:
        raise apierrors.bad_request("name in URL does not match name in Eviction object")
    if md.get("namespace") not in (None, "", req.namespace):
        raise apierrors.bad_request("the namespace of the provided object does not match the "
                                    "namespace sent on the request")
    opts = _delete_options(eviction.get("deleteOptions"))
    dry = _dry_run(req, opts.pop("dryRun", None))
    token = dryrun.DRY_RUN.set(dry)
    try:
        await h.delete(req.rt, req.namespace, name, opts)
    finally:
        dryrun.DRY_RUN.reset(token)
    return Response(201, orjson.dumps(_SUCCESS))


async def eviction_body(req: ApiRequest) -> Obj:
    """The Eviction of the request as its JSON object: JSON, YAML or protobuf (policy/v1 or
    policy/v1beta1) within decode.py's bounds; 400 unless it is an object whose ``kind`` and
    ``apiVersion``, when given, are an Eviction's and whose ``metadata`` is an object."""
    fmt = decode.body_format(req.content_type)  # 415 first, as kube-apiserver
    validation = decode.field_validation(req.params.field_validation, req.verb)
    body = req.body or b""
    if fmt == "protobuf":
        got = await _protobuf(body)
        if validation != "Ignore":
            for text in got.ignored[:20]:
                warn(f"unknown protobuf field dropped: {text}")
    else:
        got = await decode.decode_off_loop(body, fmt)
        if got.duplicates and validation == "Strict":
            raise apierrors.bad_request(
                f'strict decoding error: duplicate field "{got.duplicates[0]}"')
        if validation == "Warn":
            for path in got.duplicates[:20]:
                warn(f'duplicate field "{path}"')
    data = got.data
    if not isinstance(data, dict):
        raise apierrors.bad_request(
            f"the request body must be an Eviction object, not {decode.json_type(data)}")
    kind, version = data.get("kind"), data.get("apiVersion")
    if kind not in (None, "", "Eviction") or version not in (None, "", *EVICTION_VERSIONS):
        raise apierrors.bad_request(
            f'the body of pods/eviction must be a policy/v1 Eviction, not "{version}, '
            f'Kind={kind}"')
    if not isinstance(data.get("metadata", {}), dict):
        raise apierrors.bad_request('"metadata" must be an object')
    return data


async def _protobuf(body: bytes) -> decode.Decoded:
    """A protobuf Eviction of either version: read as policy/v1, else as policy/v1beta1
    (the envelope names which); the policy/v1 error when neither fits."""
    first: apierrors.ApiError | None = None
    for version in EVICTION_VERSIONS:
        try:
            return await decode.decode_off_loop(body, "protobuf", Target(version, "Eviction"))
        except apierrors.ApiError as err:
            if err.code != 400:
                raise
            first = first or err
    assert first is not None
    raise first


def _delete_options(value: Any) -> Obj:
    """The Eviction's ``deleteOptions``, checked as a DELETE's body is (params.py)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise apierrors.bad_request("deleteOptions must be an object")
    opts = dict(value)
    params.check_delete_options(opts)
    if opts.pop("orphanDependents", None) is not None and opts.get("propagationPolicy") is None:
        opts["propagationPolicy"] = "Orphan" if value["orphanDependents"] else "Background"
    pol = opts.get("propagationPolicy")
    if pol is not None and pol not in _POLICIES:
        raise apierrors.bad_request(
            f'propagationPolicy: Unsupported value: "{pol}": supported values: '
            '"Foreground", "Background", "Orphan"')
    return opts


def _dry_run(req: ApiRequest, in_body: Any) -> bool:
    """Whether the eviction is a dry run: ``?dryRun`` (checked as a create's, 422 for a
    value but ``All``) merged with ``deleteOptions.dryRun`` (every item ``All``, else 422),
    as kube-apiserver's ``propagateDryRun``."""
    query = dryrun.requested(replace(req, subresource=None))  # CreateOptions' rule
    listed = [str(v) for v in in_body or []]
    if any(v != dryrun.DRY_RUN_ALL for v in listed):
        quoted = ", ".join(f'"{v}"' for v in listed)
        message = (f"Unsupported value: []string{{{quoted}}}: "
                   f'supported values: "{dryrun.DRY_RUN_ALL}"')
        raise apierrors.invalid("DeleteOptions", "", [{
            "field": "dryRun", "reason": "FieldValueNotSupported", "message": message}],
            "meta.k8s.io")
    if query and listed and listed != [dryrun.DRY_RUN_ALL]:
        raise apierrors.bad_request(
            f"Non-matching dry-run options in request and content: [All] and {listed}")
    return query or bool(listed)
