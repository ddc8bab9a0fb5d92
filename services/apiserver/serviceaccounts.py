"""ServiceAccounts in the API server: the ``token`` subresource and the ServiceAccount
admission plugin.

``POST /api/v1/namespaces/<ns>/serviceaccounts/<name>/token`` takes an
authentication.k8s.io/v1 TokenRequest and answers it (201) with a signed token in
``status`` (tokens.py), as kube-apiserver's TokenREST: ``expirationSeconds`` at least 10
minutes and at most 2^32 s (422), audiences defaulting to the API servers' own, an optional
``boundObjectRef`` to a Pod of that ServiceAccount (its uid checked: 409 when the object was
recreated). A node agent may ask only for tokens bound to a pod on its node, as the
NodeRestriction plugin allows.

:class:`ServiceAccountAdmission` is the ServiceAccount admission plugin on pod creation: a
pod without ``serviceAccountName`` runs as ``default``; the account must exist (403
otherwise; ``default`` is looked up 10 times 100-200 ms apart first, as Kubernetes does,
since the service-account controller creates it just after its namespace); its ``imagePullSecrets`` are
copied to a pod without any; and unless ``automountServiceAccountToken`` is false (on the
pod, else on the account) every container gets the projected volume
``kube-api-access-<5 random>`` (a token, the ``kube-root-ca.crt`` ConfigMap's ``ca.crt`` and
the namespace) mounted read-only at ``/var/run/secrets/kubernetes.io/serviceaccount``.
Mirror pods are left alone.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import orjson

from jetkube import schemas
from jetkube.schemas import format_time
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import PODS, TOKENREQUEST

from ..machinery.apimachinery import apierrors, random_string
from .nodeauthorizer import node_name
from .request import REQUEST_USER, ApiRequest
from .response import Response
from .rest import ResourceHandlers, SubresourceHandler, on_current, read_body
from .tokens import TokenIssuer

MIN_EXPIRATION = 600
MAX_EXPIRATION = 1 << 32
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
VOLUME_PREFIX = "kube-api-access-"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
WARN_ONLY_EXPIRATION = 3607
"""The token lifetime the admission plugin asks for (Kubernetes' warn-only bound token
expiration: an hour plus seven seconds, so it can be recognised)."""
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DEFAULT_LOOKUPS = 10
"""Tries to find the ``default`` account (another account: one), as Kubernetes' plugin."""


def _token_invalid(name: str, field: str, message: str, value: object) -> apierrors.ApiError:
    return apierrors.invalid("TokenRequest", name, [{
        "field": field, "reason": "FieldValueInvalid",
        "message": f"Invalid value: {orjson.dumps(value).decode()}: {message}"}],
        group="authentication.k8s.io")


def _load_request(body: Obj, name: str, namespace: str) -> Obj:
    """The TokenRequest decoded and validated, named after the URL (as the Scale is); its
    ``status`` is the answer's, so what a client sends there (kubectl's protobuf carries an
    empty one) is dropped."""
    md = body.get("metadata")
    body = {k: v for k, v in body.items() if k != "status"}
    if md is None or isinstance(md, dict):
        body["metadata"] = {**(md or {}), "name": name, "namespace": namespace}
    try:
        req = schemas.load_object(TOKENREQUEST, body)
    except schemas.SchemaError as err:
        if err.kind == "BadRequest":
            raise apierrors.bad_request(str(err), err.causes) from None
        raise apierrors.ApiError(422, "Invalid", err.message, {
            "kind": "TokenRequest", "group": "authentication.k8s.io", "name": name,
            "causes": err.causes}) from None
    exp = req["spec"].get("expirationSeconds")
    if exp is None:
        req["spec"]["expirationSeconds"] = exp = 3600
    if exp < MIN_EXPIRATION:
        raise _token_invalid(name, "spec.expirationSeconds",
                             "may not specify a duration less than 10 minutes", exp)
    if exp > MAX_EXPIRATION:
        raise _token_invalid(name, "spec.expirationSeconds",
                             "may not specify a duration larger than 2^32 seconds", exp)
    return req


async def _bound_pod(h: ResourceHandlers, req: Obj, ns: str, sa: str) -> tuple[str, str] | None:
    """The (name, uid) of the pod ``boundObjectRef`` names, checked; None when unbound."""
    ref = req["spec"].get("boundObjectRef")
    user = REQUEST_USER.get()
    node = node_name(user)
    if not ref:
        if node is not None:
            raise apierrors.forbidden_message(
                f"node requested token not bound to a pod (user {user.name if user else ''})")
        return None
    kind, version = ref.get("kind"), ref.get("apiVersion") or "v1"
    if kind != "Pod" or version != "v1":
        raise _token_invalid(sa, "spec.boundObjectRef.kind", 'supported values: "Pod"', kind)

    async def check(pod: Obj) -> tuple[str, str]:
        md = pod["metadata"]
        if ref.get("uid") and ref["uid"] != md.get("uid"):
            raise apierrors.ApiError(409, "Conflict",
                                     f"the UID in the bound object reference ({ref['uid']}) "
                                     "does not match the UID in record. The object might have "
                                     "been deleted and then recreated")
        runs_as = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        if runs_as != sa:
            raise apierrors.bad_request(f'cannot bind token for serviceaccount "{sa}" to pod '
                                        f'running with different serviceaccount name.')
        if node is not None and (pod.get("spec") or {}).get("nodeName") != node:
            raise apierrors.forbidden_message(
                "node requested token bound to a pod scheduled on a different node")
        return str(md["name"]), str(md.get("uid") or "")

    # the watch cache's copy when it passes every check (a pod's uid, account and node
    # never change once set); a copy that fails one is checked again on the store's
    return await on_current(h, PODS, ns, str(ref.get("name") or ""), check)


def token_subresource(issuer: TokenIssuer) -> SubresourceHandler:
    """The ``serviceaccounts/token`` handler signing with ``issuer``."""

    async def serve_token(h: ResourceHandlers, req: ApiRequest) -> Response:
        if req.verb != "create" or req.rt.plural != "serviceaccounts":
            raise apierrors.method_not_allowed(
                f"{req.verb} is not supported on {req.rt.plural}/{req.subresource}")
        ns, name = req.namespace or "", req.name or ""
        body = await read_body(req)
        tr = _load_request(body, name, ns)
        # the watch cache's copy (a node agent asks once per pod): a stale one can only
        # sign a uid the authenticator then refuses (tokens.py checks it on each use)
        sa = h.cached_object(req.rt, ns, name) or await h.get_object(req.rt, ns, name)
        pod = await _bound_pod(h, tr, ns, name)
        spec = tr["spec"]
        spec["audiences"] = list(spec.get("audiences") or issuer.audiences)
        token, exp = issuer.issue(namespace=ns, name=name, uid=str(sa["metadata"]["uid"]),
                                  expiration_seconds=int(spec["expirationSeconds"]),
                                  audiences=spec["audiences"], pod=pod)
        md = {**(tr.get("metadata") or {}), "name": name, "namespace": ns,
              "creationTimestamp": format_time(datetime.now(UTC))}
        out = {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
               "metadata": md, "spec": spec,
               "status": {"token": token,
                          "expirationTimestamp": format_time(datetime.fromtimestamp(exp, UTC))}}
        return Response(201, orjson.dumps(out))

    return serve_token


def token_volume(name: str) -> Obj:
    """The projected volume the admission plugin adds (Kubernetes' ``kube-api-access-*``)."""
    return {"name": name, "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"expirationSeconds": WARN_ONLY_EXPIRATION, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt",
                                                             "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}


def should_automount(sa: Obj, pod: Obj) -> bool:
    """The pod's ``automountServiceAccountToken`` if set, else the account's, else true."""
    on_pod = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if on_pod is not None:
        return bool(on_pod)
    on_sa = sa.get("automountServiceAccountToken")
    return True if on_sa is None else bool(on_sa)


def mount_token(pod: Obj) -> None:
    """Kubernetes' ``mountServiceAccountToken``: every (init) container without a mount at
    the token path gets one of the ``kube-api-access-*`` volume, added when any needs it.
    (Plain loops: on every pod create, two generator expressions cost as much as the rest.)"""
    spec = pod["spec"]
    volumes: list[Obj] = spec.get("volumes") or []
    have = None
    for v in volumes:
        if str(v.get("name", "")).startswith(VOLUME_PREFIX):
            have = v["name"]
            break
    vol_name = have or VOLUME_PREFIX + random_string(5)
    needed = False
    for kind in ("initContainers", "containers"):
        for c in spec.get(kind) or ():
            mounts = c.get("volumeMounts") or []
            for m in mounts:
                if m.get("mountPath") == TOKEN_MOUNT_PATH:
                    break
            else:
                c["volumeMounts"] = [*mounts, {"name": vol_name, "readOnly": True,
                                               "mountPath": TOKEN_MOUNT_PATH}]
                needed = True
    if needed and have is None:
        spec["volumes"] = [*volumes, token_volume(vol_name)]


Lookup = Callable[[str, str], Awaitable[Obj | None]]


class ServiceAccountAdmission:
    """The ServiceAccount admission plugin, given how to look an account up."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup

    async def _find(self, namespace: str, name: str) -> Obj | None:
        """Kubernetes' ``getServiceAccount``: ``default`` is tried again a few times (the
        controller creates it right after its namespace), any other once."""
        for attempt in range(DEFAULT_LOOKUPS if name == "default" else 1):
            if attempt:
                await asyncio.sleep(random.uniform(0.1, 0.2))
            sa = await self.lookup(namespace, name)
            if sa is not None:
                return sa
        return None

    async def admit_pod(self, pod: Obj) -> None:
        md, spec = pod["metadata"], pod.setdefault("spec", {})
        if MIRROR_ANNOTATION in (md.get("annotations") or {}):
            return
        ns = str(md.get("namespace") or "default")
        name = spec.get("serviceAccountName") or "default"
        spec["serviceAccountName"] = spec["serviceAccount"] = name
        sa = await self._find(ns, name)
        if sa is None:
            raise apierrors.forbidden_message(
                f'pods "{md.get("name") or md.get("generateName") or ""}" is forbidden: error '
                f'looking up service account {ns}/{name}: serviceaccount "{name}" not found')
        if not spec.get("imagePullSecrets") and sa.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": r.get("name")} for r in sa["imagePullSecrets"]]
        if should_automount(sa, pod):
            mount_token(pod)
