"""RBAC escalation prevention, as Kubernetes' RBAC storage does it.

RBAC would be pointless if anyone allowed to write Roles or bindings could
grant what they do not hold.  So, before a Role/ClusterRole or a
RoleBinding/ClusterRoleBinding is created or updated (by any path: create,
update, patch), the requesting user must:

- **Role / ClusterRole**: hold every permission the role grants (in the role's
  namespace; cluster-wide for a ClusterRole), or have the ``escalate`` verb on
  ``roles`` / ``clusterroles`` (Kubernetes' ``RoleEscalationAuthorized``);
- **RoleBinding / ClusterRoleBinding**: hold every permission of the role it
  binds (in the binding's namespace; cluster-wide for a ClusterRoleBinding), or
  have the ``bind`` verb on that role (``BindingAuthorized``); a binding to a
  role that does not exist is then 404, as in Kubernetes.

``system:masters`` skips the check (``EscalationAllowed``), as do the API
server's own writes (bootstrap: no request user).  A refusal is 403 Forbidden
naming the user, the groups and the permissions not held, in Kubernetes' words.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors
from .auth import MASTERS, Attributes, Authorizer
from .request import UserInfo

RBAC_GROUP = "rbac.authorization.k8s.io"
ROLE_RESOURCES = {"roles": "Role", "clusterroles": "ClusterRole"}
BINDING_RESOURCES = {"rolebindings": "RoleBinding", "clusterrolebindings": "ClusterRoleBinding"}

Atom = tuple[str, str, str, str | None, str | None]  # verb, group, resource, name, url


def _has(values: Iterable[str] | None, want: str) -> bool:
    vs = list(values or ())
    return "*" in vs or want in vs


def _resource_covered(owned: Iterable[str] | None, want: str) -> bool:
    """``want`` (``pods``, ``pods/log``, ``*``, ``pods/*``) within the owner's resources."""
    res = list(owned or ())
    if "*" in res or want in res:
        return True
    base, _, sub = want.partition("/")
    return bool(sub) and sub != "*" and (f"{base}/*" in res or f"*/{sub}" in res)


def _url_covered(owned: Iterable[str] | None, want: str) -> bool:
    for u in owned or ():
        if u == "*" or u == want or (u.endswith("*") and want.startswith(u[:-1])):
            return True
    return False


def atoms(rules: Iterable[Obj]) -> Iterator[Atom]:
    """Each rule split into single permissions (one verb on one resource or URL)."""
    for r in rules:
        verbs = list(r.get("verbs") or ())
        for url in r.get("nonResourceURLs") or ():
            for v in verbs:
                yield v, "", "", None, url
        names: list[str | None] = list(r.get("resourceNames") or ()) or [None]
        for v in verbs:
            for g in r.get("apiGroups") or ():
                for res in r.get("resources") or ():
                    for n in names:
                        yield v, g, res, n, None


def covered(owner: Iterable[Obj], atom: Atom) -> bool:
    """Whether one of the owner's rules grants ``atom`` (Kubernetes' ``ruleCovers``)."""
    verb, group, resource, name, url = atom
    for r in owner:
        if not _has(r.get("verbs"), verb):
            continue
        if url is not None:
            if _url_covered(r.get("nonResourceURLs"), url):
                return True
            continue
        if not _has(r.get("apiGroups"), group) or not _resource_covered(r.get("resources"), resource):
            continue
        owned_names = r.get("resourceNames")
        if not owned_names or (name is not None and name in owned_names):
            return True
    return False


def _format(atom: Atom) -> str:
    verb, group, resource, name, url = atom
    if url is not None:
        return f'{{NonResourceURLs:["{url}"], Verbs:["{verb}"]}}'
    names = f', ResourceNames:["{name}"]' if name is not None else ""
    return f'{{APIGroups:["{group}"], Resources:["{resource}"]{names}, Verbs:["{verb}"]}}'


def _go_quoted(values: Iterable[str]) -> str:
    """A string list as Go's ``%q`` prints it: ``["a" "b"]``."""
    return "[" + " ".join(f'"{v}"' for v in values) + "]"


def not_held(owner: list[Obj], rules: Iterable[Obj]) -> list[str]:
    """The permissions in ``rules`` that ``owner`` does not hold, formatted, deduplicated."""
    missing = [_format(a) for a in atoms(rules) if not covered(owner, a)]
    return list(dict.fromkeys(missing))


def confirm_no_escalation(authz: Authorizer, user: UserInfo | None, plural: str,
                          obj: Obj) -> None:
    """Raise 403 (or 404 for a binding to a missing role) unless ``user`` may write ``obj``."""
    if user is None or MASTERS in user.groups or (
            plural not in ROLE_RESOURCES and plural not in BINDING_RESOURCES):
        return
    md = obj.get("metadata") or {}
    name, namespace = str(md.get("name") or ""), md.get("namespace") or None
    if plural in ROLE_RESOURCES:
        if authz.allowed(user, Attributes("escalate", RBAC_GROUP, plural, namespace, name)):
            return
        rules: list[Obj] = list(obj.get("rules") or ())
    else:
        ref: dict[str, Any] = obj.get("roleRef") or {}
        ref_plural = "clusterroles" if ref.get("kind") == "ClusterRole" else "roles"
        # asked in the binding's namespace, also for a ClusterRole (as BindingAuthorized)
        if authz.allowed(user, Attributes("bind", RBAC_GROUP, ref_plural, namespace,
                                          str(ref.get("name") or ""))):
            return
        role = authz.role(ref, namespace)
        if role is None:
            raise apierrors.not_found(ref_plural, str(ref.get("name") or ""), RBAC_GROUP)
        rules = list(role.get("rules") or ())
    missing = not_held(authz.rules_for(user, namespace), rules)
    if missing:
        kind = f"{plural}.{RBAC_GROUP}"
        raise apierrors.forbidden_message(
            f'{kind} "{name}" is forbidden: user "{user.name}" (groups={_go_quoted(user.groups)}) is '
            f"attempting to grant RBAC permissions not currently held:\n" + "\n".join(missing))
