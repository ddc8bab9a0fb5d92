"""Subresources: status, scale, binding, namespace finalize, pods/log, exec and attach,
and a ServiceAccount's token (serviceaccounts.py).

status and finalize change one part of an object; scale reads and writes
``spec.replicas`` as an autoscaling/v1 Scale; binding assigns a pod to a node
exactly once (a second bind is a 409 Conflict); log and exec are forwarded to
the pod's node agent (podproxy.py), exec and attach streams too (podstreams.py).

:func:`subresource_table` is the table of them (rest.py) that the server hands
to the handlers; each is a function over the resource's verbs
(:class:`~.rest.ResourceHandlers`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from jetkube import schemas
from jetkube.schemas import format_time
from jetkube.schemas.fielderrors import dns1123_subdomain
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import SCALE
from jetkube.services.machinery.apimachinery import selector_from_label_selector

from ..machinery.apimachinery import apierrors
from .eviction import serve_eviction
from .objects import deep_copy
from .patch import apply_patch
from .podproxy import pod_log
from .podstreams import pod_attach, pod_exec_any, pod_portforward
from .request import ApiRequest
from .response import Response, StreamResponse, UpgradeResponse, written
from .rest import ResourceHandlers, SubresourceHandler, on_current, read_body, read_patch
from .serviceaccounts import token_subresource
from .tokens import TokenIssuer


def _selector_string(selector: object, plain_map: bool = False) -> str:
    """``Scale.status.selector``: the LabelSelector as ``metav1.LabelSelectorAsSelector`` prints it
    (a ReplicationController's map selector as ``labels.SelectorFromSet`` does)."""
    if not isinstance(selector, dict):
        return ""
    if plain_map:
        selector = {"matchLabels": selector}
    return str(selector_from_label_selector(selector))


def _json(code: int, obj: Any) -> Response:
    return Response(code, orjson.dumps(obj))


def _not_supported(req: ApiRequest) -> apierrors.ApiError:
    return apierrors.method_not_allowed(
        f"{req.verb} is not supported on {req.rt.plural}/{req.subresource}")


def subresource_table(tokens: TokenIssuer | None = None) -> dict[str, SubresourceHandler]:
    """Subresource name -> its handler: the table the server hands to the handlers
    (``token`` when there is a ``tokens`` issuer to sign with)."""
    return {
        **({"token": token_subresource(tokens)} if tokens is not None else {}),
        "status": serve_status,
        "finalize": serve_status,
        "scale": serve_scale,
        "binding": serve_binding,
        "eviction": serve_eviction,  # eviction.py
        "log": _pods_only(pod_log),
        "exec": _pods_only(pod_exec_any),
        "attach": _pods_only(pod_attach),
        "portforward": _pods_only(pod_portforward),
    }


async def serve_status(h: ResourceHandlers, req: ApiRequest) -> Response:
    """``status`` and ``finalize``: read or write that one part of the object."""
    sub, rt, ns, name = req.subresource, req.rt, req.namespace, req.name or ""
    if req.verb == "get":
        return _json(200, await h.get_object(rt, ns, name))
    if req.verb == "update":
        return written(200, await h.update(rt, ns, name, await read_body(req), subresource=sub),
                       req.minimal)
    if req.verb == "patch":
        return written(200, await h.patch(req, subresource=sub), req.minimal)
    raise _not_supported(req)


async def serve_scale(h: ResourceHandlers, req: ApiRequest) -> Response:
    if req.verb == "get":
        return _json(200, to_scale(await h.get_object(req.rt, req.namespace, req.name or "")))
    if req.verb in ("update", "patch"):
        return _json(200, await _write_scale(h, req))
    raise _not_supported(req)


async def serve_binding(h: ResourceHandlers, req: ApiRequest) -> Response:
    if req.verb == "create":
        return _json(201, await bind(h, req, await read_body(req)))
    raise _not_supported(req)


def _pods_only(serve: SubresourceHandler) -> SubresourceHandler:
    async def serve_pods(h: ResourceHandlers, req: ApiRequest
                         ) -> Response | StreamResponse | UpgradeResponse:
        if req.rt.plural != "pods":
            raise _not_supported(req)
        return await serve(h, req)

    return serve_pods


def to_scale(obj: Obj) -> Obj:
    md = obj["metadata"]
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion",
                                        "creationTimestamp") if k in md},
        "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),
            "selector": _selector_string((obj.get("spec") or {}).get("selector"),
                                         obj.get("kind") == "ReplicationController"),
        },
    }


async def _write_scale(h: ResourceHandlers, req: ApiRequest) -> Obj:
    rt, ns, name = req.rt, req.namespace, req.name or ""
    for _ in range(5):
        old = await h.get_object(rt, ns, name)
        current = to_scale(old)
        if req.verb == "patch":
            ptype, patch_doc = await read_patch(req)
            scale = apply_patch(ptype, current, patch_doc)
            # only a resourceVersion the client wrote is a precondition; the merged
            # document always carries the current one
            sent = patch_doc.get("metadata") if isinstance(patch_doc, dict) else None
            want_rv = sent.get("resourceVersion") if isinstance(sent, dict) else None
        else:
            scale = await read_body(req)
            want_rv = (scale.get("metadata") or {}).get("resourceVersion")
        if want_rv and str(want_rv) != old["metadata"]["resourceVersion"]:
            raise apierrors.conflict(rt.plural, name, rt.group)
        replicas = _load_scale(scale, name, ns)["spec"].get("replicas")
        if replicas is None:
            raise _scale_invalid(schemas.SchemaError(
                "Invalid", f'Scale.autoscaling "{name}" is invalid: spec.replicas: Required value',
                [{"field": "spec.replicas", "reason": "FieldValueRequired",
                  "message": "Required value"}]), name)
        new = deep_copy(old)
        new.setdefault("spec", {})["replicas"] = replicas
        try:
            return to_scale(await h.write_update(rt, old, new))
        except apierrors.ApiError as err:
            if err.code == 409 and err.reason == "Conflict" and not want_rv:
                continue
            raise
    raise apierrors.conflict(rt.plural, name, rt.group)


def _load_scale(scale: Obj, name: str, namespace: str | None) -> Obj:
    """The Scale body decoded and validated as kube-apiserver does (autoscaling/v1 Scale:
    ``spec.replicas`` an int32, not negative), named after the URL when it names nothing."""
    if isinstance(scale, dict) and isinstance(scale.get("metadata", {}), dict):
        md = {**(scale.get("metadata") or {})}
        md.setdefault("name", name)
        if namespace:
            md.setdefault("namespace", namespace)
        scale = {**scale, "metadata": md}
    try:
        return schemas.load_object(SCALE, scale)
    except schemas.SchemaError as err:
        if err.kind == "BadRequest":
            raise apierrors.bad_request(str(err), err.causes) from None
        raise _scale_invalid(err, name) from None


def _scale_invalid(err: schemas.SchemaError, name: str) -> apierrors.ApiError:
    """422 ``Scale.autoscaling "name" is invalid: ...`` with the causes, as Kubernetes."""
    return apierrors.ApiError(422, "Invalid", err.message, {
        "kind": "Scale", "group": "autoscaling", "name": name, "causes": err.causes})


async def bind(h: ResourceHandlers, req: ApiRequest, binding: Obj) -> Obj:
    rt, ns, name = req.rt, req.namespace, req.name or ""
    target = binding.get("target") if isinstance(binding, dict) else None
    node = target.get("name") if isinstance(target, dict) else None
    if not node or not isinstance(node, str):
        raise apierrors.invalid("Binding", name, [{
            "field": "target.name", "reason": "FieldValueRequired", "message": "Required value"}])
    if problems := dns1123_subdomain(node):  # a Node's name, or no node can ever run it
        raise apierrors.invalid("Binding", name, [{
            "field": "target.name", "reason": "FieldValueInvalid",
            "message": f"Invalid value: {node!r}: {'; '.join(problems)}"}])
    if target and target.get("kind") not in (None, "", "Node"):
        raise apierrors.invalid("Binding", name, [{
            "field": "target.kind", "reason": "FieldValueNotSupported",
            "message": f'Unsupported value: "{target.get("kind")}": supported values: "Node"'}])
    want_uid = (binding.get("metadata") or {}).get("uid")

    async def assign(old: Obj) -> None:
        if want_uid and want_uid != old["metadata"].get("uid"):
            raise apierrors.conflict(rt.plural, name)
        cur = (old.get("spec") or {}).get("nodeName")
        if cur:
            raise apierrors.ApiError(409, "Conflict",
                                     f'pod {name} is already assigned to node "{cur}"')
        if old["metadata"].get("deletionTimestamp"):
            raise apierrors.ApiError(409, "Conflict",
                                     f"pod {name} is being deleted, cannot be assigned")
        # ``old`` is this request's own decode: the new object shares what the bind leaves
        # as it is, and copies what it changes (spec, status, their conditions)
        status = dict(old.get("status") or {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                      "lastTransitionTime": format_time(datetime.now(UTC))})
        status["conditions"] = conds
        new = {**old, "metadata": dict(old["metadata"]),
               "spec": {**(old.get("spec") or {}), "nodeName": node}, "status": status}
        await h.write_update(rt, old, new, subresource="binding")

    await on_current(h, rt, ns, name, assign)  # the scheduler's bind reads no store
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
