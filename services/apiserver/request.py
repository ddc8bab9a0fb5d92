"""One request, whichever face it came in by (HTTP or NATS).

``parse_path`` turns a Kubernetes REST path into a :class:`ApiRequest`; the
NATS face builds the same object from its envelope, so validation, admission
and authorization run on one code path.
"""

from __future__ import annotations

import re
from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from typing import Any, Generic, TypeVar
from urllib.parse import unquote

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType, by_plural

from ..machinery.apimachinery import apierrors
from . import params as query_params
from .objects import meta
from .params import Params
from .tables import TableForm


@dataclass(frozen=True, slots=True)
class UserInfo:
    name: str
    uid: str = ""
    groups: tuple[str, ...] = ()


REQUEST_USER: ContextVar[UserInfo | None] = ContextVar("jetkube_request_user", default=None)
"""The authenticated user of the request being served (Kubernetes' ``request.UserFrom(ctx)``):
set by the front door for the request's task; None for the API server's own writes."""

T = TypeVar("T")


class Setting(Generic[T]):
    """``with Setting(var, value) as value:`` the context variable ``var`` is ``value`` for
    the block (set, then reset): what a request's dry-run flag and field manager need, as
    a class (a ``@contextmanager`` generator cost three times as much, on every request)."""

    __slots__ = ("_token", "_value", "_var")

    def __init__(self, var: ContextVar[T], value: T) -> None:
        self._var = var
        self._value = value

    def __enter__(self) -> T:
        self._token = self._var.set(self._value)
        return self._value

    def __exit__(self, *exc: object) -> None:
        self._var.reset(self._token)


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
    params: Params = field(default_factory=Params)
    """``query`` parsed and checked (params.py): what handlers read."""
    user_agent: str = ""
    """The ``User-Agent`` (over NATS: the component), the default field manager."""
    accept: str = ""
    """The HTTP ``Accept`` header (none over NATS: JSON), negotiated by the handlers
    (tables.py) once the request is authorized, as kube-apiserver's handlers do."""
    table: TableForm | None = None
    """A Table was negotiated (get, list, watch): the answer is a meta.k8s.io Table."""
    upgrade: str = ""
    """The ``Upgrade`` the client asked for: ``websocket`` (a WebSocket handshake, which
    the HTTP face authorizes as ``create``, as kube-apiserver does for exec, attach and
    port-forward), ``spdy/3.1`` (not served), or empty."""
    subprotocols: tuple[str, ...] = ()
    """A WebSocket handshake's ``Sec-WebSocket-Protocol`` offers, in the client's order."""
    minimal: bool = False
    """``Prefer: return=minimal`` (over NATS): a write answers with the object's identity
    only (response.py)."""

    @property
    def resource_path(self) -> str:
        """resource or resource/subresource, as RBAC names it."""
        return f"{self.rt.plural}/{self.subresource}" if self.subresource else self.rt.plural

    def copy(self) -> ApiRequest:
        """A shallow copy: ``dataclasses.replace(self)`` at 1.6 against 4.4 µs (a batch
        makes one for each of its items)."""
        return ApiRequest(*[getattr(self, name) for name in _FIELDS])


_FIELDS = tuple(f.name for f in fields(ApiRequest))
"""ApiRequest's fields in their order (all of them its constructor's)."""


def no_such_resource(path: str, details: dict[str, str] | None = None) -> apierrors.ApiError:
    return apierrors.ApiError(
        404, "NotFound", f"the server could not find the requested resource ({path})", details)


_VERB_BY_METHOD = {"POST": "create", "PUT": "update", "PATCH": "patch"}

MAX_NAME_BYTES = 1024
"""The longest name a store key takes (a NATS subject must fit one protocol line)."""
_NAMESPACE = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")  # DNS-1123 label


def path_segment_errors(name: str) -> list[str]:
    """Kubernetes' ``path.IsValidPathSegmentName``: what makes ``name`` unfit for a path."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]


_ASCII_UNFIT = re.compile(r"[\x00-\x20\x7f*>]")
"""The ASCII characters :func:`key_unfit` refuses: ``*``, ``>``, blanks, control characters."""


def key_unfit(name: str) -> str | None:
    """Why ``name`` cannot be a token of a store key (a NATS subject token), or None."""
    if name.isascii():  # (one search, not a test a character: the names of nearly all)
        found = _ASCII_UNFIT.search(name)
        ch = found[0] if found else None
    else:
        ch = next((c for c in name if c in "*>" or c.isspace() or not c.isprintable()), None)
    if ch in ("*", ">"):
        return f"may not contain '{ch}'"
    if ch is not None:
        return f"may not contain blanks or control characters ({ch!r})"
    if len(name.encode()) > MAX_NAME_BYTES:
        return f"must be no more than {MAX_NAME_BYTES} bytes"
    return None


def check_target(rt: ResourceType, verb: str, namespace: str | None, name: str | None) -> None:
    """The namespace and name a request addresses, from a path or the NATS face's headers:
    400 when one is not a valid path segment (as kube-apiserver's key functions answer);
    404 when it is one no object can have, because no store key can hold it (or no
    namespace can be called so), and the store is never asked."""
    for what, value in (("Namespace", namespace), ("Name", name)):
        errs = path_segment_errors(value) if value is not None else []
        if errs:
            raise apierrors.bad_request(f'{what} parameter invalid: "{value}": '
                                        + ";".join(errs))
    if name is None and verb != "create":
        return  # list, watch, deletecollection: served from the cache, no key
    if namespace is not None and not _NAMESPACE.fullmatch(namespace):
        if name is None:
            raise apierrors.not_found("namespaces", namespace)
        raise apierrors.not_found(rt.plural, name, rt.group)
    if name is not None and key_unfit(name):
        raise apierrors.not_found(rt.plural, name, rt.group)


def check_created(rt: ResourceType, obj: dict[str, Any]) -> None:
    """A created object's name (from its body) can be a store key: else 422 naming
    ``metadata.name`` (the names Kubernetes allows RBAC objects, any path segment, may hold
    ``*``, ``>`` or blanks; no NATS subject can).  Its namespace, which the NATS face may
    take from the body, must be one a namespace can have (404, as for a missing one)."""
    md = obj.get("metadata") or {}
    name = str(md.get("name") or "")
    why = key_unfit(name)
    if why:
        raise apierrors.invalid(rt.kind, name, [{
            "field": "metadata.name", "reason": "FieldValueInvalid",
            "message": f'Invalid value: "{name}": {why}'}], rt.group)
    namespace = md.get("namespace")
    if rt.namespaced and namespace and not _NAMESPACE.fullmatch(str(namespace)):
        raise apierrors.not_found("namespaces", str(namespace))


def path_segments(path: str) -> list[str]:
    """The segments of an escaped path (as sent: ASGI's ``raw_path``), each percent-decoded
    on its own, so an escaped ``/`` stays inside its segment.  One trailing ``/`` is
    dropped; any other empty segment (``//``) is 404, never collapsed into a path that
    names something else."""
    raw = path.split("/")
    if raw[0] != "":
        raise no_such_resource(path)
    raw = raw[1:]
    if len(raw) > 1 and raw[-1] == "":
        raw.pop()
    if raw == [""]:
        return []
    if "" in raw:
        raise no_such_resource(path)
    return [unquote(s, errors="replace") if "%" in s else s for s in raw]


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


Route = tuple[ResourceType, str | None, str | None, str | None]
"""What a resource path names: its resource type, namespace, name and subresource."""
ROUTES_KEPT = 4096
"""Paths and verbs whose routing is remembered (the oldest goes first): a controller's or
a load's requests go to a few paths, each routed once, not on every request."""
PATH_KEPT_MAX = 512
"""The longest path remembered (a pod's, at the longest namespace and name, is ~350
characters): routing comes before authentication, so a longer one, which an anonymous
client could send thousands of, is routed each time and never kept."""
_routes: dict[str, Route | None] = {}
_verbs: dict[tuple[str, str, bool], str] = {}


def _keep(table: dict[Any, Any], key: Any, value: Any) -> None:
    if len(table) >= ROUTES_KEPT:
        del table[next(iter(table))]
    table[key] = value


def parse_path(method: str, path: str, query: dict[str, str]) -> ApiRequest | None:
    """Map a resource path (escaped, as sent) to a request; None if the path is not a
    resource path.  A path's route, and its verb for a method, are worked out once and
    remembered (a refused path is not: it is refused each time, as the first)."""
    kept = len(path) <= PATH_KEPT_MAX
    try:
        found = _routes[path]
    except KeyError:
        found = route_path(path)
        if kept:
            _keep(_routes, path, found)
    if found is None:
        return None
    rt, namespace, name, sub = found
    p = query_params.parse(query)
    verb = _verbs.get((method, path, p.watch))
    if verb is None:
        verb = _verb(method, path, p.watch, found)
        if kept:
            _keep(_verbs, (method, path, p.watch), verb)
    return ApiRequest(verb=verb, rt=rt, namespace=namespace, name=name, subresource=sub,
                      query=query, params=p)


def route_path(path: str) -> Route | None:
    """What a resource path names (404 for no such resource); None: no resource path."""
    parts = path_segments(path)
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
    return rt, namespace, name, sub


def _verb(method: str, path: str, watch: bool, route: Route) -> str:
    """The verb of ``method`` on ``route`` (405 or 404 where kube-apiserver answers so; 400
    or 404 for a namespace or name no object can have)."""
    rt, namespace, name, sub = route
    verb = verb_for(method, name, watch)
    if verb == "create" and name is not None and sub is None:
        raise apierrors.method_not_allowed(
            f"POST is not allowed on a named {rt.singular}; use PUT to update it")
    if verb in ("update", "patch") and name is None:
        raise apierrors.method_not_allowed(f"{method} needs a name")
    if rt.namespaced and namespace is None:  # kube-apiserver: list and watch only
        if name is not None:
            raise no_such_resource(path)
        if verb not in ("list", "watch"):
            raise apierrors.method_not_allowed(
                "the server does not allow this method on the requested resource: "
                f"{rt.plural} are namespaced, {method} them under "
                f"/namespaces/{{namespace}}/{rt.plural}")
    check_target(rt, verb, namespace, name)
    return verb


def check_identity(rt: ResourceType, namespace: str | None, obj: Obj) -> Obj:
    """A written body as the object of ``rt`` at ``namespace``: its kind and apiVersion
    filled in when missing (400 when another), its namespace the request's (400 when the
    body names another; none for a cluster-scoped kind)."""
    if not isinstance(obj, dict):
        raise apierrors.bad_request(f"the body must be a {rt.kind} object")
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind is None or api_version is None:
        obj = {**obj, "kind": kind or rt.kind, "apiVersion": api_version or rt.api_version}
    elif kind != rt.kind or api_version != rt.api_version:
        raise apierrors.bad_request(
            f"the body is {api_version}/{kind}, but the URL is for {rt.api_version}/{rt.kind}")
    md = meta(obj)
    if rt.namespaced:
        body_ns = md.get("namespace")
        if body_ns and namespace and body_ns != namespace:
            raise apierrors.bad_request(
                "the namespace of the provided object does not match the namespace "
                "sent on the request")
        md["namespace"] = namespace or body_ns
    else:
        md.pop("namespace", None)
    return obj
