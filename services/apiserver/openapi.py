"""OpenAPI v3 at ``/openapi/v3``, as kube-apiserver serves it: what kubectl downloads to
validate, patch (``apply``, ``edit``) and ``explain``.

Contract:

- ``GET /openapi/v3``: ``{"paths": {KEY: {"serverRelativeURL": "/openapi/v3/KEY?hash=HASH"}}}``
  with a KEY per group-version discovery serves (``api/v1``, ``apis/<group>/<version>``),
  plus, as Kubernetes lists them, ``api``, ``apis``, ``apis/<group>`` and ``version``:
  the discovery endpoints themselves.
- ``GET /openapi/v3/KEY``: an OpenAPI 3.0.0 document. A group-version's has the REST paths
  of its resources and subresources, built from discovery's resource list (so the two
  never disagree), each operation with ``x-kubernetes-action`` and
  ``x-kubernetes-group-version-kind``, the query parameters the server reads (params.py;
  so ``fieldValidation`` on every write, which tells kubectl to leave field validation to
  the server) and the patch types it takes; and ``components.schemas`` keyed by
  Kubernetes' definition names, generated from the pydantic models (openapi_schemas.py).
- HASH is the upper-case hex SHA-512 of the document's bytes (keys sorted), so it changes
  only with the schemas. Every document is built once, at the first request, and kept:
  nothing in it changes while the server runs. ``?hash=`` is accepted and ignored (the
  one document there is is the current one). JSON only (no protobuf). ``Served.hash`` is
  the ``ETag`` (quoted) to send once the HTTP face carries extra response headers; it
  does not yet (response.py, http.py), so responses have none.
- No ``/openapi/v2``: kubectl falls back to it only without v3, and otherwise reads it
  (as protobuf) only to validate a ``kind: List`` manifest on the client.
- Authorization is the front door's, as for the discovery documents: any authenticated
  user may read them (Kubernetes' ``system:discovery``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson

from jetkube.schemas.registry import ResourceType, by_plural, subresource_body

from . import discovery
from .openapi_schemas import META, Names, Schema, SchemaBuilder, gvk

PREFIX = "/openapi/v3"
_PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
                "application/strategic-merge-patch+json", "application/apply-patch+yaml")


@dataclass(frozen=True, slots=True)
class Served:
    body: bytes
    hash: str


def _query(name: str, description: str, type_: str = "string", **schema: Any) -> Schema:
    return {"name": name, "in": "query", "description": description,
            "schema": {"type": type_, **schema}}


def _path_param(name: str, description: str) -> Schema:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


_BOOL, _INT = "boolean", "integer"
_LIST_PARAMS = [
    _query("allowWatchBookmarks", "With watch: send BOOKMARK events.", _BOOL),
    _query("continue", "The continue token of the previous page of a paged list."),
    _query("fieldSelector", "Only objects whose fields match, e.g. spec.nodeName=node-1."),
    _query("labelSelector", "Only objects whose labels match, e.g. app=web,tier!=db."),
    _query("limit", "At most this many objects; the rest via the continue token.", _INT,
           format="int64"),
    _query("resourceVersion", "List or watch from this version (0: any cached one)."),
    _query("resourceVersionMatch", "How resourceVersion applies to a list.",
           enum=["Exact", "NotOlderThan"]),
    _query("sendInitialEvents", "With watch: start with the current objects as ADDED.", _BOOL),
    _query("timeoutSeconds", "End a watch after this many seconds.", _INT, format="int64"),
    _query("watch", "Stream changes as watch events instead of listing.", _BOOL),
]
_DRY_RUN = _query("dryRun", "All: run every step but write nothing.")
_WRITE_PARAMS = [
    _DRY_RUN,
    _query("fieldManager", "The name of the actor making the change."),
    _query("fieldValidation", "Unknown and duplicate fields: Ignore, Warn (the default) or "
           "Strict (refused). The server checks fields itself.",
           enum=["Ignore", "Strict", "Warn"]),
]
_DELETE_PARAMS = [
    _DRY_RUN,
    _query("gracePeriodSeconds", "Seconds before the object is deleted (0: now).", _INT,
           format="int64"),
    _query("orphanDependents", "Deprecated: use propagationPolicy.", _BOOL),
    _query("propagationPolicy", "What happens to dependents: Orphan, Background or "
           "Foreground.", enum=["Background", "Foreground", "Orphan"]),
]
_LOG_PARAMS = [
    _query("container", "The container (optional when the pod has one)."),
    _query("follow", "Stream the log as it grows.", _BOOL),
    _query("limitBytes", "At most this many bytes.", _INT, format="int64"),
    _query("previous", "The log of the previous, terminated container.", _BOOL),
    _query("tailLines", "Only the last lines.", _INT, format="int64"),
    _query("timestamps", "Prefix each line with its time.", _BOOL),
]
_EXEC_PARAMS = [
    _query("command", "The command and its arguments, one parameter each.",
           "array", items={"type": "string"}),
    _query("container", "The container (optional when the pod has one)."),
    _query("stdin", "Attach stdin.", _BOOL),
    _query("stdout", "Attach stdout.", _BOOL),
    _query("stderr", "Attach stderr.", _BOOL),
    _query("tty", "Allocate a terminal.", _BOOL),
]
_CONNECT = {
    "exec": ("run a command in a container of the pod", _EXEC_PARAMS),
    "attach": ("attach to the main process of a container of the pod",
               [p for p in _EXEC_PARAMS if p["name"] != "command"]),
    "portforward": ("forward connections to ports of the pod",
                    [_query("ports", "The pod ports to forward (the stream headers name them).",
                            "array", items={"type": "integer"})]),
}
_UNAUTHORIZED = {"description": "Unauthorized"}


def _json(schema: Schema, *types: str) -> Schema:
    return {t: {"schema": schema} for t in (types or ("application/json",))}


def _responses(schema: Schema, *codes: str, types: tuple[str, ...] = ()) -> Schema:
    names = {"200": "OK", "201": "Created", "202": "Accepted"}
    out: Schema = {c: {"description": names[c], "content": _json(schema, *types)}
                   for c in codes or ("200",)}
    out["401"] = _UNAUTHORIZED
    return out


def _op(action: str | None, op_id: str, tag: str, description: str, responses: Schema,
        kind: dict[str, str] | None = None, params: list[Schema] | None = None,
        body: Schema | None = None) -> Schema:
    op: Schema = {"tags": [tag], "description": description, "operationId": op_id}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    op["responses"] = responses
    if action:
        op["x-kubernetes-action"] = action
    if kind:
        op["x-kubernetes-group-version-kind"] = kind
    return op


def _camel(group: str) -> str:
    """``rbac.authorization.k8s.io`` → ``RbacAuthorization`` (Kubernetes' operation ids)."""
    name = group.removesuffix(".k8s.io") or "core"
    return "".join(part[:1].upper() + part[1:] for part in name.split("."))


class _GroupVersion:
    """The paths of one group-version's document, and the components they refer to."""

    def __init__(self, names: Names, group: str, version: str) -> None:
        self.group, self.version = group, version
        self.base = f"/apis/{group}/{version}" if group else f"/api/{version}"
        self.prefix = _camel(group) + version[:1].upper() + version[1:]
        camel = _camel(group)
        self.tag = f"{camel[:1].lower()}{camel[1:]}_{version}"
        self.schemas = SchemaBuilder(names)
        self.paths: dict[str, Schema] = {}

    def build(self) -> Schema:
        listing = discovery.resource_list(self.group, self.version) or {"resources": []}
        self.paths[f"{self.base}/"] = {"get": _op(
            None, f"get{self.prefix}APIResources", self.tag, "the resources of this group-version",
            _responses(self.schemas.use(f"{META}.APIResourceList")))}
        for entry in listing["resources"]:
            plural, _, sub = entry["name"].partition("/")
            rt = by_plural(self.group, plural)
            assert rt is not None, plural
            if sub:
                self._subresource(rt, sub, entry["verbs"])
            else:
                self._resource(rt, entry["verbs"])
        return _document(self.paths, self.schemas)

    def _item_path(self, rt: ResourceType) -> str:
        ns = "/namespaces/{namespace}" if rt.namespaced else ""
        return f"{self.base}{ns}/{rt.plural}/{{name}}"

    def _params(self, rt: ResourceType, named: bool, path: str = "") -> list[Schema]:
        """The path parameters of ``path`` (of the item path when none is given)."""
        out = [_path_param("name", f"The name of the {rt.kind}.")] if named else []
        if "{namespace}" in (path or self._item_path(rt)):
            out.append(_path_param("namespace", "The namespace of the objects."))
        return out

    def _resource(self, rt: ResourceType, verbs: list[str]) -> None:
        obj, kind = self.schemas.model(rt.model), gvk(rt.group, rt.version, rt.kind)
        name = f"{'Namespaced' if rt.namespaced else ''}{rt.kind}"
        item = self._item_path(rt)
        coll = item.removesuffix("/{name}")
        write_body = {"required": True, "content": _json(obj, "application/json", "application/yaml")}
        watchable = ("application/json", "application/json;stream=watch")
        for verb in verbs:
            if verb == "list":
                lst = self.schemas.list_kind(rt)
                for path, op_id, whose in (
                        (coll, f"list{self.prefix}{name}", ""),
                        (f"{self.base}/{rt.plural}", f"list{self.prefix}{rt.kind}ForAllNamespaces",
                         " of every namespace")):
                    self._add(path, "get", _op("list", op_id, self.tag,
                                               f"list or watch {rt.kind} objects{whose}",
                                               _responses(lst, types=watchable), kind,
                                               _LIST_PARAMS), self._params(rt, False, path))
                    if not rt.namespaced:
                        break
            elif verb == "create":
                self._add(coll, "post", _op(
                    "post", f"create{self.prefix}{name}", self.tag, f"create a {rt.kind}",
                    _responses(obj, "200", "201", "202"), kind, _WRITE_PARAMS, write_body),
                    self._params(rt, False, coll))
            elif verb == "deletecollection":
                self._add(coll, "delete", _op(
                    "deletecollection", f"delete{self.prefix}Collection{name}", self.tag,
                    f"delete the {rt.kind} objects selected", _responses(self.schemas.list_kind(rt)),
                    kind, [*_DELETE_PARAMS, *_LIST_PARAMS], self._delete_body()),
                    self._params(rt, False, coll))
            elif verb == "get":
                self._add(item, "get", _op("get", f"read{self.prefix}{name}", self.tag,
                                           f"read a {rt.kind}", _responses(obj), kind),
                          self._params(rt, True, item))
            elif verb == "update":
                self._add(item, "put", _op(
                    "put", f"replace{self.prefix}{name}", self.tag, f"replace a {rt.kind}",
                    _responses(obj, "200", "201"), kind, _WRITE_PARAMS, write_body),
                    self._params(rt, True, item))
            elif verb == "patch":
                self._add(item, "patch", self._patch(rt, f"patch{self.prefix}{name}", obj),
                          self._params(rt, True, item))
            elif verb == "delete":
                self._add(item, "delete", _op(
                    "delete", f"delete{self.prefix}{name}", self.tag,
                    f"delete a {rt.kind} (answered with the object, marked when it waits for "
                    "finalizers or a grace period)",
                    _responses(obj, "200", "202"), kind, _DELETE_PARAMS, self._delete_body()),
                    self._params(rt, True, item))

    def _delete_body(self) -> Schema:
        return {"content": _json(self.schemas.use(f"{META}.DeleteOptions"))}

    def _patch(self, rt: ResourceType, op_id: str, obj: Schema,
               kind: dict[str, str] | None = None) -> Schema:
        body = {"required": True, "content": _json(self.schemas.use(f"{META}.Patch"), *_PATCH_TYPES)}
        return _op("patch", op_id, self.tag, f"partially update a {rt.kind}",
                   _responses(obj, "200", "201"), kind or gvk(rt.group, rt.version, rt.kind),
                   _WRITE_PARAMS, body)

    def _subresource(self, rt: ResourceType, sub: str, verbs: list[str]) -> None:
        path = f"{self._item_path(rt)}/{sub}"
        params = self._params(rt, True)
        ns = "Namespaced" if rt.namespaced else ""
        name = f"{ns}{rt.kind}{sub[:1].upper()}{sub[1:]}"
        if sub == "log":
            self._add(path, "get", _op("get", f"read{self.prefix}{name}", self.tag,
                                       "read the log of a container of the pod",
                                       _responses({"type": "string"}, types=("text/plain",)),
                                       gvk(rt.group, rt.version, rt.kind), _LOG_PARAMS), params)
            return
        if sub in _CONNECT:
            what, query = _CONNECT[sub]
            for verb, method in (("get", "get"), ("create", "post")):
                if verb in verbs:
                    self._add(path, method, _op(
                        "connect", f"connect{self.prefix}{method.title()}{name}", self.tag,
                        f"{what} (a streaming upgrade)",
                        _responses({"type": "string"}, types=("*/*",)), None, query),
                        params)
            return
        body_rt = subresource_body(sub) or rt
        obj = self.schemas.model(body_rt.model)
        kind = gvk(body_rt.group, body_rt.version, body_rt.kind)
        write_body = {"required": True, "content": _json(obj, "application/json", "application/yaml")}
        what = f"the {sub} of a {rt.kind}"
        if "get" in verbs:
            self._add(path, "get", _op("get", f"read{self.prefix}{name}", self.tag,
                                       f"read {what}", _responses(obj), kind), params)
        if "update" in verbs:
            self._add(path, "put", _op("put", f"replace{self.prefix}{name}", self.tag,
                                       f"replace {what}", _responses(obj, "200", "201"), kind,
                                       _WRITE_PARAMS, write_body), params)
        if "patch" in verbs:
            self._add(path, "patch", self._patch(rt, f"patch{self.prefix}{name}", obj, kind), params)
        if "create" in verbs:
            self._add(path, "post", _op("post", f"create{self.prefix}{name}", self.tag,
                                        f"create {what}", _responses(obj, "200", "201", "202"),
                                        kind, _WRITE_PARAMS, write_body), params)

    def _add(self, path: str, method: str, op: Schema, params: list[Schema]) -> None:
        item = self.paths.setdefault(path, {})
        if params:
            item["parameters"] = params
        item[method] = op


def _document(paths: dict[str, Schema], schemas: SchemaBuilder) -> Schema:
    return {
        "openapi": "3.0.0",
        "info": {"title": "jetkube (Kubernetes API)",
                 "version": discovery.version_info()["gitVersion"]},
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {"BearerToken": {
                "type": "apiKey", "in": "header", "name": "authorization",
                "description": "A bearer token: 'Authorization: Bearer <token>'."}},
        },
        "security": [{"BearerToken": []}],
    }


def _discovery_document(path: str, op_id: str, description: str, schema: str) -> Schema:
    b = SchemaBuilder(names())
    op = _op(None, op_id, "discovery", description, _responses(b.use(schema)))
    return _document({path: {"get": op}}, b)


def _documents() -> dict[str, Schema]:
    """Every document by its key (``api/v1``, ``apis/apps/v1``, ``api``, ...)."""
    docs = {
        "api": _discovery_document("/api/", "getCoreAPIVersions", "the versions of the core "
                                   "group", f"{META}.APIVersions"),
        "apis": _discovery_document("/apis/", "getAPIVersions", "the groups served",
                                    f"{META}.APIGroupList"),
        "version": _discovery_document("/version/", "getCodeVersion", "the server's version",
                                       "io.k8s.apimachinery.pkg.version.Info"),
    }
    for group, versions in sorted(discovery.group_versions().items()):
        if group:
            docs[f"apis/{group}"] = _discovery_document(
                f"/apis/{group}/", f"get{_camel(group)}APIGroup", f"the versions of {group}",
                f"{META}.APIGroup")
        for version in versions:
            key = f"apis/{group}/{version}" if group else f"api/{version}"
            docs[key] = _GroupVersion(names(), group, version).build()
    return docs


def served_kinds() -> list[ResourceType]:
    """Every kind discovery serves, and the bodies of its subresources (Scale, Binding)."""
    out: dict[ResourceType, None] = {}
    for group, versions in discovery.group_versions().items():
        for version in versions:
            for entry in (discovery.resource_list(group, version) or {"resources": []})["resources"]:
                plural, _, sub = entry["name"].partition("/")
                rt = subresource_body(sub) if sub else by_plural(group, plural)
                if rt is not None:
                    out[rt] = None
    return list(out)


@cache
def names() -> Names:
    """The definition names and group-version-kinds of every served model."""
    return Names(served_kinds())


@cache
def served() -> dict[str, Served]:
    """Each served body by its path below /openapi/v3 (``""`` for the index): built on the
    first call, then the same for the life of the process."""
    out: dict[str, Served] = {}
    for key, doc in _documents().items():
        body = orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)
        out[key] = Served(body, hashlib.sha512(body).hexdigest().upper())
    index = {"paths": {key: {"serverRelativeURL": f"{PREFIX}/{key}?hash={s.hash}"}
                       for key, s in sorted(out.items())}}
    body = orjson.dumps(index, option=orjson.OPT_SORT_KEYS)
    out[""] = Served(body, hashlib.sha512(body).hexdigest().upper())
    return out


def v3(path: str) -> orjson.Fragment | None:
    """The JSON body (pre-serialized) of ``GET path``, a path at or below /openapi/v3;
    None if there is no such document."""
    if path != PREFIX and not path.startswith(PREFIX + "/"):
        return None
    found = served().get(path.removeprefix(PREFIX).strip("/"))
    return orjson.Fragment(found.body) if found else None
