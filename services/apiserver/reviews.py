"""The self-reviews: what a user may do, asked of the API server (``kubectl auth can-i``,
``kubectl auth can-i --list``, ``kubectl auth whoami``).

- **SelfSubjectAccessReview**: may the requesting user do ``spec.resourceAttributes`` (or
  ``nonResourceAttributes``)?  Answered by the same authorizers every request goes through
  (Node, then RBAC), so the answer is what the user would get.
- **SelfSubjectRulesReview**: the rules that apply to the user in ``spec.namespace``:
  every ClusterRoleBinding's and that namespace's RoleBindings' (Kubernetes' ``RulesFor``),
  ``incomplete`` for a node agent (the Node authorizer's rules are not a list).
- **SelfSubjectReview**: who the API server takes the user to be.

Each is a create that answers 201 with the object and its ``status`` and stores nothing;
RBAC lets every authenticated user create them (``system:basic-user``).  Any other verb
is 405, as kube-apiserver.
"""

from __future__ import annotations

from typing import Any

import orjson

from jetkube import schemas
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import (
    SELFSUBJECTACCESSREVIEWS,
    SELFSUBJECTREVIEWS,
    SELFSUBJECTRULESREVIEWS,
)

from ..machinery.apimachinery import apierrors
from .auth import MASTERS, Attributes, Authorizer
from .nodeauthorizer import Decision, NodeAuthorizer
from .request import ApiRequest, UserInfo
from .response import Response
from .rest import read_body

__all__ = ["serve_review"]


async def serve_review(req: ApiRequest, authz: Authorizer,
                       node_authz: NodeAuthorizer) -> Response:
    """Answer one review request of ``req.user`` (already allowed to create it)."""
    if req.verb != "create":
        raise apierrors.method_not_allowed(
            f"{req.verb} is not supported on {req.rt.group_resource}: create only")
    user = req.user
    assert user is not None
    body = await read_body(req)
    if isinstance(body, dict):
        body.pop("status", None)  # the server's to fill (protobuf always carries an empty one)
    try:
        review = schemas.load_object(req.rt, body)
    except schemas.SchemaError as err:
        raise apierrors.invalid(req.rt.kind, "", err.causes, req.rt.group) from None
    review["apiVersion"], review["kind"] = req.rt.api_version, req.rt.kind
    if req.rt is SELFSUBJECTACCESSREVIEWS:
        review["status"] = access_status(user, review.get("spec") or {}, authz, node_authz)
    elif req.rt is SELFSUBJECTRULESREVIEWS:
        ns = str((review.get("spec") or {}).get("namespace") or "")
        review["status"] = rules_status(user, ns, authz)
    elif req.rt is SELFSUBJECTREVIEWS:
        review["status"] = {"userInfo": {"username": user.name, "uid": user.uid,
                                         "groups": list(user.groups)}}
    return Response(201, orjson.dumps(review))


def access_status(user: UserInfo, spec: Obj, authz: Authorizer,
                  node_authz: NodeAuthorizer) -> Obj:
    res, nonres = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if bool(res) == bool(nonres):
        raise apierrors.invalid("SelfSubjectAccessReview", "", [{
            "field": "spec.resourceAttributes", "reason": "FieldValueRequired",
            "message": "Required value: exactly one of nonResourceAttributes or "
                       "resourceAttributes must be specified"}], SELFSUBJECTACCESSREVIEWS.group)
    if nonres:
        ok = non_resource_allowed(user, str(nonres.get("path") or ""),
                                  str(nonres.get("verb") or ""), authz)
        return _decision(ok, "")
    assert isinstance(res, dict)
    resource = str(res.get("resource") or "")
    if res.get("subresource"):
        resource = f"{resource}/{res['subresource']}"
    a = Attributes(str(res.get("verb") or ""), str(res.get("group") or ""), resource,
                   res.get("namespace") or None, res.get("name") or None)
    if node_authz.decide(user, a) is Decision.ALLOW:
        return _decision(True, "allowed by the Node authorizer")
    return _decision(authz.allowed(user, a), "")


def _decision(ok: bool, reason: str) -> Obj:
    status: Obj = {"allowed": ok}
    if ok and not reason:
        reason = "allowed by RBAC"
    if reason:
        status["reason"] = reason
    return status


def non_resource_allowed(user: UserInfo, path: str, verb: str, authz: Authorizer) -> bool:
    """RBAC's non-resource rule: a ``nonResourceURLs`` entry equal to the path, ``*``, or a
    prefix ending in ``*``, with the verb (or ``*``)."""
    if MASTERS in user.groups:
        return True
    for rule in authz.rules_for(user, None):
        verbs = rule.get("verbs") or []
        if verb not in verbs and "*" not in verbs:
            continue
        for url in rule.get("nonResourceURLs") or []:
            if url == path or url == "*" or (url.endswith("*") and path.startswith(url[:-1])):
                return True
    return False


def rules_status(user: UserInfo, namespace: str, authz: Authorizer) -> Obj:
    resource_rules: list[Obj] = []
    non_resource_rules: list[Obj] = []
    if MASTERS in user.groups:  # kube-apiserver's answer for system:masters
        resource_rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
        non_resource_rules.append({"verbs": ["*"], "nonResourceURLs": ["*"]})
    for rule in authz.rules_for(user, namespace or None):
        if rule.get("nonResourceURLs"):
            non_resource_rules.append({"verbs": list(rule.get("verbs") or []),
                                       "nonResourceURLs": list(rule["nonResourceURLs"])})
        if rule.get("resources"):
            resource_rules.append(_resource_rule(rule))
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource_rules,
            "incomplete": user.name.startswith("system:node:")}


def _resource_rule(rule: dict[str, Any]) -> Obj:
    out: Obj = {"verbs": list(rule.get("verbs") or []),
                "apiGroups": list(rule.get("apiGroups") or []),
                "resources": list(rule.get("resources") or [])}
    if rule.get("resourceNames"):
        out["resourceNames"] = list(rule["resourceNames"])
    return out
