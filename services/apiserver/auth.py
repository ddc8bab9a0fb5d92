"""Authentication (static bearer tokens, ServiceAccount tokens) and RBAC authorization.

Tokens come from a Kubernetes static token file (``token,user,uid,"g1,g2"``), or are
ServiceAccount JWTs this cluster signed (tokens.py): those are checked first, and even
when static authentication is off, so a pod's token is never taken for someone else.
RBAC is evaluated on every request, both faces, from the Roles, ClusterRoles
and bindings in the watch cache: ``system:masters`` may do anything, as in
Kubernetes.  Decisions are memoized per (user, groups) until an RBAC object
changes.
"""

from __future__ import annotations

import csv
import hmac
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

from ..machinery.apimachinery import apierrors, object_key
from .request import UserInfo
from .tokens import ServiceAccountTokens, looks_like_jwt
from .watchcache import CacheEvent, WatchCache

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")


def load_tokens(path: Path) -> dict[str, UserInfo]:
    users: dict[str, UserInfo] = {}
    with path.open(newline="") as f:
        for row in csv.reader(f):
            if not row or row[0].startswith("#"):
                continue
            if len(row) < 2:
                raise ValueError(f"{path}: a token line needs at least token,user")
            token, user = row[0].strip(), row[1].strip()
            uid = row[2].strip() if len(row) > 2 else user
            groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
            users[token] = UserInfo(user, uid, groups)
    return users


class Authenticator:
    def __init__(self, tokens: dict[str, UserInfo] | None,
                 service_accounts: ServiceAccountTokens | None = None) -> None:
        self.tokens = tokens  # None: authentication is off (tests, trusted loopback)
        self.service_accounts = service_accounts
        self._known = [(token.encode(), UserInfo(u.name, u.uid, (*u.groups, AUTHENTICATED)))
                       for token, u in (tokens or {}).items()]
        """Each static token as bytes, with the user it authenticates as (its groups and
        ``system:authenticated``): made once, not a frozen dataclass a request."""

    def authenticate(self, authorization: str | None) -> UserInfo:
        if (self.service_accounts is not None and authorization
                and authorization.lower().startswith("bearer ")
                and looks_like_jwt(authorization[7:].strip())):
            user = self.service_accounts.authenticate(authorization[7:].strip())
            return UserInfo(user.name, user.uid, (*user.groups, AUTHENTICATED))
        if self.tokens is None:
            return UserInfo("system:anonymous-admin", groups=(MASTERS, AUTHENTICATED))
        if not authorization or not authorization.lower().startswith("bearer "):
            raise apierrors.unauthorized()
        # compared as bytes: a str holding anything but ASCII makes compare_digest raise
        token = authorization[7:].strip().encode("utf-8", "replace")
        for known, user in self._known:
            if hmac.compare_digest(known, token):
                return user
        raise apierrors.unauthorized()


class Attributes(NamedTuple):
    """What a request asks (Kubernetes' ``authorizer.Attributes``): one made a request, so
    a tuple (a frozen dataclass's construction cost 1 % of a create's instructions)."""

    verb: str
    group: str
    resource: str  # may be resource/subresource
    namespace: str | None
    name: str | None


def _matches(values: Iterable[str] | None, want: str) -> bool:
    vs = list(values or [])
    return "*" in vs or want in vs


def rule_allows(rule: dict[str, Any], a: Attributes) -> bool:
    if not _matches(rule.get("verbs"), a.verb):
        return False
    if not _matches(rule.get("apiGroups"), a.group):
        return False
    res = rule.get("resources") or []
    base = a.resource.split("/")[0]
    if not ("*" in res or a.resource in res or (base + "/*") in res
            or ("*/" + a.resource.split("/")[1] in res if "/" in a.resource else False)):
        return False
    names = rule.get("resourceNames")
    return not names or (a.name is not None and a.name in names)


class Authorizer:
    def __init__(self, cache: WatchCache) -> None:
        self.cache = cache
        self._memo: dict[tuple[UserInfo, Attributes], bool] = {}
        cache.listeners.append(self._on_change)

    def _on_change(self, ev: CacheEvent) -> None:
        if ev.resource in RBAC_RESOURCES:
            self._memo.clear()

    def _subject_matches(self, subjects: list[dict[str, Any]] | None, user: UserInfo) -> bool:
        for s in subjects or []:
            kind, name = s.get("kind"), s.get("name")
            if kind == "User" and name == user.name:
                return True
            if kind == "Group" and name in user.groups:
                return True
            if kind == "ServiceAccount" and user.name == (
                    f"system:serviceaccount:{s.get('namespace')}:{name}"):
                return True
        return False

    def role(self, ref: dict[str, Any], namespace: str | None) -> dict[str, Any] | None:
        """The Role or ClusterRole a roleRef names (a Role in ``namespace``), if it exists."""
        kind, name = ref.get("kind"), ref.get("name")
        if kind == "ClusterRole":
            c = self.cache.resource("clusterroles").items.get(
                object_key("clusterroles", None, str(name)))
        else:
            c = self.cache.resource("roles").items.get(object_key("roles", namespace, str(name)))
        return c.obj if c else None

    def _role_rules(self, ref: dict[str, Any], namespace: str | None) -> list[dict[str, Any]]:
        role = self.role(ref, namespace)
        return list((role.get("rules") if role else None) or [])

    def _rules(self, user: UserInfo, namespace: str | None) -> Iterator[dict[str, Any]]:
        """The rules that apply to ``user`` in ``namespace`` (cluster-wide ones only when None):
        every ClusterRoleBinding's, then the namespace's RoleBindings'."""
        for c in self.cache.resource("clusterrolebindings").items.values():
            if self._subject_matches(c.obj.get("subjects"), user):
                yield from self._role_rules(c.obj.get("roleRef") or {}, None)
        if namespace:
            for c in self.cache.resource("rolebindings").by_ns.get(namespace, {}).values():
                if self._subject_matches(c.obj.get("subjects"), user):
                    yield from self._role_rules(c.obj.get("roleRef") or {}, namespace)

    def rules_for(self, user: UserInfo, namespace: str | None) -> list[dict[str, Any]]:
        """What ``user`` may do in ``namespace`` (``RulesFor``), for the escalation check."""
        return list(self._rules(user, namespace))

    def allowed(self, user: UserInfo, a: Attributes) -> bool:
        if MASTERS in user.groups:
            return True
        memo_key = (user, a)
        hit = self._memo.get(memo_key)
        if hit is not None:
            return hit
        ok = self._evaluate(user, a)
        if len(self._memo) > 10_000:
            self._memo.clear()
        self._memo[memo_key] = ok
        return ok

    def _evaluate(self, user: UserInfo, a: Attributes) -> bool:
        return any(rule_allows(r, a) for r in self._rules(user, a.namespace))

    def authorize(self, user: UserInfo, a: Attributes) -> None:
        if not self.allowed(user, a):
            raise apierrors.forbidden(user.name, a.verb, a.resource, a.namespace, a.group)
