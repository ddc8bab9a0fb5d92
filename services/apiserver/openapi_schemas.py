"""The component schemas of /openapi/v3 (openapi.py), read off the models of jetkube.schemas.

Each pydantic model becomes one component under Kubernetes' definition name
(``io.k8s.api.apps.v1.Deployment``, ``io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta``): the
document is generated from the annotations the API server validates with, so it cannot
drift from them. Contract, per field annotation:

- ``Int32``/``Int64`` → ``integer`` with ``format: int32``/``int64``; ``str``, ``bool`` →
  ``string``, ``boolean``; a ``Literal`` → ``string`` with its ``enum``; ``Base64Bytes`` →
  ``string``/``byte``; ``IntOrString``, ``Quantity``, ``Time``, ``MicroTime`` → Kubernetes'
  components of those names (``x-kubernetes-int-or-string``, quantity ``oneOf`` string or
  number, ``date-time``); ``list`` → ``array``; ``dict`` → ``object`` with
  ``additionalProperties`` (free-form ones ``x-kubernetes-preserve-unknown-fields``).
- ``required``: the fields a model requires; ``default``: a scalar the model fills in.
- A list named in ``STRATEGIC_MERGE_KEYS`` whose items carry the key merges by it
  (``x-kubernetes-patch-strategy: merge``, ``-patch-merge-key``, ``-list-type: map``,
  ``-list-map-keys``); every other list is ``atomic``: exactly what the API server's
  strategic merge patch does, so kubectl's three-way patches agree with it.
- ``x-kubernetes-group-version-kind`` (a list) on every kind :class:`Names` is given (what
  discovery serves, and the Scale and Binding bodies of subresources) and on its List.
- Descriptions: the models carry no field docs, so kinds and the most used fields are
  described by the short tables of openapi_docs.py; other fields have none.
"""

from __future__ import annotations

import typing
from collections import deque
from collections.abc import Iterable
from functools import cache
from types import NoneType, UnionType
from typing import Any, Literal, Union

from pydantic.fields import FieldInfo

from jetkube.schemas.apps import DaemonSetStatus, DeploymentStatus, ReplicaSetStatus
from jetkube.schemas.base import Base64Bytes, Int32, Int64, IntOrString, K8sModel, MicroTime, Time
from jetkube.schemas.meta import ListMeta
from jetkube.schemas.quantity import Quantity
from jetkube.schemas.registry import ResourceType
from jetkube.schemas.statefulset import StatefulSetStatus

from ..machinery.apimachinery import STRATEGIC_MERGE_KEYS
from .openapi_docs import FIELD_DOCS, KIND_DOCS, KIND_FIELD_DOCS

Schema = dict[str, Any]

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
CORE = "io.k8s.api.core.v1"
_AUTOSCALING, _COORDINATION = "io.k8s.api.autoscaling.v1", "io.k8s.api.coordination.v1"
_MODULE_PACKAGES = {"apps": "io.k8s.api.apps.v1", "batch": "io.k8s.api.batch.v1", "core": CORE,
                    "pod": CORE, "container": CORE, "volumes": CORE, "scheduling": CORE,
                    "service": CORE, "meta": META, "rbac": "io.k8s.api.rbac.v1"}
_CLASS_PACKAGES = {"ScaleSpec": _AUTOSCALING, "ScaleStatus": _AUTOSCALING,
                   "LeaseSpec": _COORDINATION, "ObjectReference": CORE,
                   "LocalObjectReference": CORE, "TypedLocalObjectReference": CORE}
_FIELD_TYPE_NAMES = {  # one model, several Kubernetes types: named by where it is used
    (DeploymentStatus, "conditions"): "io.k8s.api.apps.v1.DeploymentCondition",
    (ReplicaSetStatus, "conditions"): "io.k8s.api.apps.v1.ReplicaSetCondition",
    (DaemonSetStatus, "conditions"): "io.k8s.api.apps.v1.DaemonSetCondition",
    (StatefulSetStatus, "conditions"): "io.k8s.api.apps.v1.StatefulSetCondition",
}


def group_package(group: str, version: str) -> str:
    """``io.k8s.api.<first label of the group>.<version>``, as Kubernetes names the packages
    of its API types (``rbac.authorization.k8s.io`` → ``io.k8s.api.rbac.v1``)."""
    return f"io.k8s.api.{group.split('.')[0]}.{version}" if group else f"io.k8s.api.core.{version}"


class Names:
    """The definition names and group-version-kinds of the models of ``kinds``.

    A kind's package is its group's; another model's is that of its module (meta, core,
    apps...), else that of the first kind holding it (a model in a module this table does
    not know, e.g. one added for a new group, lands in its kind's package)."""

    def __init__(self, kinds: Iterable[ResourceType]) -> None:
        self.gvks: dict[type[K8sModel], list[dict[str, str]]] = {}
        self._packages: dict[type[K8sModel], str] = {}
        kinds = list(kinds)
        for rt in kinds:
            self.gvks[rt.model] = [gvk(rt.group, rt.version, rt.kind)]
            self._packages[rt.model] = group_package(rt.group, rt.version)
        todo = deque((rt.model, self._packages[rt.model]) for rt in kinds)
        seen: set[type[K8sModel]] = set()
        while todo:  # breadth first: the nearest kind claims a model of an unknown module
            cls, owner = todo.popleft()
            if cls in seen:
                continue
            seen.add(cls)
            package = self._packages.setdefault(cls, _known_package(cls) or owner)
            todo.extend((inner, package) for attr in cls.model_fields
                        for inner in _models(_hints(cls)[attr]))

    def definition_name(self, cls: type[K8sModel]) -> str:
        """Kubernetes' definition name of a model (``io.k8s.api.core.v1.PodSpec``)."""
        package = self._packages.get(cls) or _known_package(cls)
        if package is None:
            raise KeyError(f"no Kubernetes package known for {cls.__module__}.{cls.__name__}")
        return f"{package}.{cls.__name__}"


def _known_package(cls: type[K8sModel]) -> str | None:
    return _CLASS_PACKAGES.get(cls.__name__) or _MODULE_PACKAGES.get(cls.__module__.rsplit(".", 1)[-1])


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


_STRING: Schema = {"type": "string"}


def _array(items: Schema) -> Schema:
    return {"type": "array", "items": items, "x-kubernetes-list-type": "atomic"}


_STRINGS = _array(_STRING)


def _object(properties: dict[str, Schema], required: tuple[str, ...] = (),
            description: str = "") -> Schema:
    out: Schema = {"type": "object", "properties": properties}
    if required:
        out["required"] = list(required)
    if description:
        out["description"] = description
    return out


_TYPE_META = {"apiVersion": _STRING, "kind": _STRING}
STATIC: dict[str, Schema] = {
    f"{META}.Time": {"type": "string", "format": "date-time",
                     "description": "An RFC 3339 timestamp in UTC, to the second."},
    f"{META}.MicroTime": {"type": "string", "format": "date-time",
                          "description": "An RFC 3339 timestamp in UTC, to the microsecond."},
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "oneOf": [{"type": "string"}, {"type": "number"}],
        "description": "An amount of a resource: a decimal number with an optional suffix, "
                       "binary (Ki, Mi, Gi, Ti, Pi, Ei), decimal (m, k, M, G, T, P, E) or an "
                       "exponent (e3); e.g. 500m, 2, 1.5Gi."},
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "oneOf": [{"type": "integer"}, {"type": "string"}], "format": "int-or-string",
        "x-kubernetes-int-or-string": True,
        "description": "Either an integer or a string (a port number or name, a count or a "
                       "percentage such as 25%)."},
    f"{META}.Patch": {"type": "object", "description": "A patch: JSON patch, merge patch or "
                      "strategic merge patch, as the request's Content-Type says."},
    f"{META}.Preconditions": _object({"resourceVersion": _STRING, "uid": _STRING},
                                     description="The delete happens only if these match."),
    f"{META}.DeleteOptions": _object({
        **_TYPE_META, "dryRun": _STRINGS, "gracePeriodSeconds": {"type": "integer", "format": "int64"},
        "orphanDependents": {"type": "boolean"},
        "preconditions": {"allOf": [ref(f"{META}.Preconditions")]},
        "propagationPolicy": {"type": "string", "enum": ["Background", "Foreground", "Orphan"]}},
        description="Options of a delete (query parameters say the same)."),
    f"{META}.APIResource": _object({
        "name": _STRING, "singularName": _STRING, "namespaced": {"type": "boolean"}, "kind": _STRING,
        "verbs": _STRINGS, "shortNames": _STRINGS, "categories": _STRINGS},
        ("name", "singularName", "namespaced", "kind", "verbs")),
    f"{META}.APIResourceList": _object({
        **_TYPE_META, "groupVersion": _STRING,
        "resources": _array(ref(f"{META}.APIResource"))},
        ("groupVersion", "resources"), "The resources a group-version serves."),
    f"{META}.ServerAddressByClientCIDR": _object({"clientCIDR": _STRING, "serverAddress": _STRING},
                                                 ("clientCIDR", "serverAddress")),
    f"{META}.APIVersions": _object({
        **_TYPE_META, "versions": _STRINGS, "serverAddressByClientCIDRs": _array(
            ref(f"{META}.ServerAddressByClientCIDR"))},
        ("versions", "serverAddressByClientCIDRs"), "The versions of the core group (/api)."),
    f"{META}.GroupVersionForDiscovery": _object({"groupVersion": _STRING, "version": _STRING},
                                                ("groupVersion", "version")),
    f"{META}.APIGroup": _object({
        **_TYPE_META, "name": _STRING,
        "versions": _array(ref(f"{META}.GroupVersionForDiscovery")),
        "preferredVersion": {"allOf": [ref(f"{META}.GroupVersionForDiscovery")]}},
        ("name", "versions"), "A group and the versions it serves."),
    f"{META}.APIGroupList": _object({
        **_TYPE_META, "groups": _array(ref(f"{META}.APIGroup"))},
        ("groups",), "The groups the server serves (/apis)."),
    "io.k8s.apimachinery.pkg.version.Info": _object(
        {k: _STRING for k in ("major", "minor", "gitVersion", "gitCommit", "gitTreeState",
                              "buildDate", "goVersion", "compiler", "platform")},
        ("major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate", "goVersion",
         "compiler", "platform"), "The server's version."),
}
_NAMED_SCALARS = ((Time, f"{META}.Time"), (MicroTime, f"{META}.MicroTime"),
                  (Quantity, "io.k8s.apimachinery.pkg.api.resource.Quantity"),
                  (IntOrString, "io.k8s.apimachinery.pkg.util.intstr.IntOrString"))


@cache
def _hints(cls: type[K8sModel]) -> dict[str, Any]:
    return typing.get_type_hints(cls, include_extras=True)


def _models(hint: Any) -> list[type[K8sModel]]:
    """The models a field annotation holds (itself, or as list items or map values)."""
    t = _strip_optional(hint)
    if isinstance(t, type) and issubclass(t, K8sModel):
        return [t]
    if typing.get_origin(t) in (list, dict):
        return [m for arg in typing.get_args(t) for m in _models(arg)]
    return []


def _strip_optional(t: Any) -> Any:
    if typing.get_origin(t) in (Union, UnionType):
        args = [a for a in typing.get_args(t) if a is not NoneType]
        if len(args) == 1:
            return args[0]
    return t


class SchemaBuilder:
    """Collects the components one document needs: :meth:`model` a class (and all it refers
    to), :meth:`use` a static one; :attr:`components` is the result."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self.components: dict[str, Schema] = {}

    def use(self, name: str) -> Schema:
        """A reference to a static component (added, with what it refers to)."""
        if name not in self.components:
            schema = self.components[name] = STATIC[name]
            for inner in _refs(schema):
                self.use(inner)
        return ref(name)

    def model(self, cls: type[K8sModel], name: str | None = None) -> Schema:
        """A reference to the component of ``cls`` (built, with its fields' types)."""
        name = name or self.names.definition_name(cls)
        if name in self.components:
            return ref(name)
        schema: Schema = {"type": "object"}
        self.components[name] = schema  # before the fields: a model may refer to itself
        hints = _hints(cls)
        kind = cls in self.names.gvks
        props: dict[str, Schema] = {}
        required: list[str] = []
        for attr, info in cls.model_fields.items():
            wire = info.alias or attr
            props[wire] = self._field(cls, attr, wire, hints[attr], info, kind)
            if info.is_required():
                required.append(wire)
        doc = KIND_DOCS.get(cls.__name__)
        if doc:
            schema["description"] = doc
        schema["properties"] = dict(sorted(props.items()))
        if required:
            schema["required"] = sorted(required)
        if kind:
            schema["x-kubernetes-group-version-kind"] = self.names.gvks[cls]
        return ref(name)

    def list_kind(self, rt: ResourceType) -> Schema:
        """A reference to the component of ``rt``'s List kind."""
        name = f"{self.names.definition_name(rt.model)}List"
        if name not in self.components:
            self.components[name] = {
                **_object({"apiVersion": {"type": "string", "description": KIND_FIELD_DOCS["apiVersion"]},
                           "items": {**_array(self.model(rt.model)),
                                     "description": f"The {rt.kind} objects of the list."},
                           "kind": {"type": "string", "description": KIND_FIELD_DOCS["kind"]},
                           "metadata": {"allOf": [self.model(ListMeta)],
                                        "description": "resourceVersion of the list, and the "
                                                       "continue token of a paged list."}},
                          ("items",), f"A list of {rt.kind} objects."),
                "x-kubernetes-group-version-kind": [gvk(rt.group, rt.version, rt.list_kind)]}
        return ref(name)

    def _field(self, owner: type[K8sModel], attr: str, wire: str, hint: Any, info: FieldInfo,
               kind: bool) -> Schema:
        schema = self.type_schema(hint, _FIELD_TYPE_NAMES.get((owner, attr)))
        extra: Schema = {}
        doc = FIELD_DOCS.get(f"{owner.__name__}.{wire}") or (
            KIND_FIELD_DOCS.get(wire) if kind else None)
        if doc:
            extra["description"] = doc
        if isinstance(info.default, (str, int)) and not info.is_required():
            extra["default"] = info.default  # bool is an int too
        if schema.get("type") == "array":
            extra.update(list_extensions(wire, _strip_optional(hint)))
        if "$ref" in schema and extra:  # a $ref's siblings are ignored in OpenAPI 3.0
            return {"allOf": [schema], **extra}
        return {**schema, **extra}

    def type_schema(self, hint: Any, model_name: str | None = None) -> Schema:
        """The schema of a field annotation (``model_name`` names the model it holds, if
        that differs from the model's own definition name)."""
        t = _strip_optional(hint)
        for alias, name in _NAMED_SCALARS:
            if t == alias:
                return self.use(name)
        if t == Int32 or t == Int64:
            return {"type": "integer", "format": "int32" if t == Int32 else "int64"}
        if t == Base64Bytes:
            return {"type": "string", "format": "byte"}
        origin, args = typing.get_origin(t), typing.get_args(t)
        if origin is Literal and all(isinstance(a, str) for a in args):
            return {"type": "string", "enum": list(args)}
        if origin is list:
            return {"type": "array", "items": self.type_schema(args[0], model_name)}
        if origin is dict:
            if args[1] in (Any, object):
                return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
            return {"type": "object", "additionalProperties": self.type_schema(args[1])}
        simple = {str: "string", bool: "boolean", float: "number"}.get(t)
        if simple:
            return {"type": simple}
        if isinstance(t, type) and issubclass(t, K8sModel):
            return self.model(t, model_name)
        raise TypeError(f"no OpenAPI schema for the annotation {hint!r}")


def list_extensions(field: str, hint: Any) -> Schema:
    """How a list field merges: by a key, as the API server's strategic merge patch does for
    the lists STRATEGIC_MERGE_KEYS names (the first candidate key its items have), else
    replaced whole (``atomic``)."""
    item = _strip_optional(typing.get_args(hint)[0]) if typing.get_args(hint) else None
    if isinstance(item, type) and issubclass(item, K8sModel):
        names = {info.alias or attr for attr, info in item.model_fields.items()}
        key = next((k for k in STRATEGIC_MERGE_KEYS.get(field, ()) if k in names), None)
        if key:
            return {"x-kubernetes-list-map-keys": [key], "x-kubernetes-list-type": "map",
                    "x-kubernetes-patch-merge-key": key, "x-kubernetes-patch-strategy": "merge"}
    return {"x-kubernetes-list-type": "atomic"}


def _refs(value: Any) -> list[str]:
    """The component names ``value`` refers to, anywhere inside it."""
    if isinstance(value, dict):
        out = [value["$ref"].rsplit("/", 1)[-1]] if isinstance(value.get("$ref"), str) else []
        for v in value.values():
            out.extend(_refs(v))
        return out
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []
