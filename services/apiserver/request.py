"""One request, whichever face it came in by (HTTP or NATS).

``parse_path`` turns a Kubernetes REST path into a :class:`ApiRequest`; the
NATS face builds the same object from its envelope, so validation, admission
and authorization run on one code path.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field

from jetkube.schemas.registry import ResourceType, by_plural

from ..machinery.apimachinery import apierrors


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()


REQUEST_USER: ContextVar[UserInfo | None] = ContextVar("jetkube_request_user", default=None)
"""The authenticated user of the request being served (Kubernetes' ``request.UserFrom(ctx)``):
set by the front door for the request's task; None for the API server's own writes."""


@dataclass(slots=True)
class ApiRequest:
    verb: str  # get list watch create update patch delete deletecollection
    rt: ResourceType
    namespace: str | None
    name: str | None = None
    subresource: str | None = None
    query: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str = "application/json"
    user: UserInfo | None = None
    trace_headers: dict[str, str] = field(default_factory=dict)

    @property
    def resource_path(self) -> str:
        """resource or resource/subresource, as RBAC names it."""
        return f"{self.rt.plural}/{self.subresource}" if self.subresource else self.rt.plural


def no_such_resource(path: str, details: dict[str, str] | None = None) -> apierrors.ApiError:
    return apierrors.ApiError(
        404, "NotFound", f"the server could not find the requested resource ({path})", details)


_VERB_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch"}


def verb_for(method: str, name: str | None, watch: bool) -> str:
    if method == "GET":
        if watch:
            return "watch"
        return "get" if name else "list"
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    try:
        return _VERB_BY_METHOD[method]
    except KeyError:
        raise apierrors.method_not_allowed(f"method {method} is not supported") from None


def parse_path(method: str, path: str, query: dict[str, str]) -> ApiRequest | None:
    """Map a resource path to a request; None if the path is not a resource path."""
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    if parts[0] == "api" and len(parts) >= 3 and parts[1] == "v1":
        group, version, rest = "", "v1", parts[2:]
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    sub = rest[2] if len(rest) > 2 else None
    if len(rest) > 3:
        raise no_such_resource(path)
    if namespace is not None and resource == "namespaces":
        raise no_such_resource(path)  # /api/v1/namespaces/{ns}/namespaces
    rt = by_plural(group, resource)
    if rt is None and namespace is not None and group == "" and resource in ("status", "finalize"):
        # /api/v1/namespaces/{name}/status|finalize: a subresource of the namespace itself
        rt = by_plural("", "namespaces")
        name, sub, namespace = namespace, resource, None
    if rt is None or rt.version != version:
        raise no_such_resource(path, {"kind": resource, "group": group})
    if not rt.namespaced and namespace is not None:
        raise apierrors.ApiError(404, "NotFound", f"{rt.plural} is not namespaced ({path})")
    if sub is not None and sub not in rt.subresources:
        raise apierrors.ApiError(
            404, "NotFound", f"the server could not find the requested resource ({rt.plural}/{sub})")
    watch = query.get("watch", "") in ("true", "1")
    verb = verb_for(method, name, watch)
    if verb == "create" and name is not None and sub is None:
        raise apierrors.method_not_allowed(
            f"POST is not allowed on a named {rt.singular}; use PUT to update it")
    if verb in ("update", "patch") and name is None:
        raise apierrors.method_not_allowed(f"{method} needs a name")
    return ApiRequest(verb=verb, rt=rt, namespace=namespace, name=name, subresource=sub, query=query)
