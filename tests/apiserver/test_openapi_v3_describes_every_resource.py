"""/openapi/v3 describes what the server serves, as kube-apiserver does, for kubectl:
an index with every group-version discovery lists (each URL carrying the hash of its
document), and per group-version an OpenAPI 3.0 document whose components carry each kind
with its group-version-kind, integer formats where the schemas say Int32/Int64, and the
merge keys of the API server's strategic merge patch; its operations carry
``x-kubernetes-action`` and the group-version-kind, and writes take ``fieldValidation``.
Any authenticated user may read it, as discovery."""

from __future__ import annotations

import hashlib
import re
import typing
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Union

import orjson
import pytest
from apiharness import make_api
from faces import asgi_request

from jetkube.schemas.base import Int32, Int64, K8sModel
from jetkube.schemas.registry import by_plural, subresource_body
from jetkube.services.apiserver import discovery, openapi
from jetkube.services.apiserver.http import HttpApp
from jetkube.services.machinery.apimachinery import STRATEGIC_MERGE_KEYS

SCHEMAS = "#/components/schemas/"
definition_name = openapi.names().definition_name
META = "io.k8s.apimachinery.pkg.apis.meta.v1"


async def _get(app: HttpApp, path: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    raw_path, _, query = path.partition("?")
    headers = [(b"accept", b"application/json")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    code, got, body = await asgi_request(app, "GET", raw_path, headers=headers, query=query.encode())
    return code, {k.decode(): v.decode() for k, v in got}, body


@pytest.fixture(scope="module")
def documents() -> dict[str, dict[str, Any]]:
    return {key: orjson.loads(s.body) for key, s in openapi.served().items()}


def _gv_key(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def _schemas(documents: dict[str, dict[str, Any]], key: str) -> dict[str, Any]:
    return documents[key]["components"]["schemas"]  # type: ignore[no-any-return]


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while True:
        if "allOf" in schema:
            schema = schema["allOf"][0]
        elif "$ref" in schema:
            schema = doc["components"]["schemas"][schema["$ref"].removeprefix(SCHEMAS)]
        else:
            return schema


async def test_the_index_lists_every_group_version_with_the_hash_of_its_document() -> None:
    app = HttpApp((await make_api()).front)
    code, headers, body = await _get(app, "/openapi/v3")
    assert code == 200 and headers["content-type"] == "application/json", body[:200]
    paths = orjson.loads(body)["paths"]
    served = {_gv_key(g, v) for g, vs in discovery.group_versions().items() for v in vs}
    assert served >= {"api/v1", "apis/apps/v1", "apis/batch/v1", "apis/coordination.k8s.io/v1",
                      "apis/rbac.authorization.k8s.io/v1"}
    groups = {f"apis/{g}" for g in discovery.group_versions() if g}
    assert set(paths) == served | groups | {"api", "apis", "version"}
    for key, entry in paths.items():
        url = entry["serverRelativeURL"]
        assert re.fullmatch(rf"/openapi/v3/{re.escape(key)}\?hash=[0-9A-F]{{128}}", url), url
        code, headers, doc = await _get(app, url)  # ?hash= is accepted
        assert code == 200 and headers["content-type"] == "application/json", (url, doc[:200])
        assert url.endswith(hashlib.sha512(doc).hexdigest().upper()), url
        assert (await _get(app, f"/openapi/v3/{key}"))[2] == doc  # without ?hash= the same
        assert orjson.loads(doc)["openapi"] == "3.0.0"
    assert openapi.served() is openapi.served(), "built once, then kept"
    for missing in ("/openapi/v3/apis/apps/v2", "/openapi/v3/apis/nope/v1", "/openapi/v3/x",
                    "/openapi/v3/api/v1/pods", "/openapi/v3x"):
        assert (await _get(app, missing))[0] == 404, missing


async def test_any_authenticated_user_may_read_it_as_discovery(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,1,"system:masters"\nbob-token,bob,2,"dev"\n')
    app = HttpApp((await make_api(token_file=tokens)).front)
    for path in ("/openapi/v3", "/openapi/v3/apis/apps/v1"):
        assert (await _get(app, path))[0] == 401, path
        assert (await _get(app, path, "wrong"))[0] == 401, path
        assert (await _get(app, path, "bob-token"))[0] == 200, path  # no RBAC rule needed
        assert (await _get(app, path, "admin-token"))[0] == 200, path
    assert (await _get(app, "/apis", "bob-token"))[0] == 200  # as discovery


def test_every_kind_has_a_component_with_its_group_version_kind(
        documents: dict[str, dict[str, Any]]) -> None:
    kinds = 0
    for group, versions in discovery.group_versions().items():
        for version in versions:
            schemas = _schemas(documents, _gv_key(group, version))
            listing = discovery.resource_list(group, version)
            assert listing is not None
            for entry in listing["resources"]:
                plural, _, sub = entry["name"].partition("/")
                rt = subresource_body(sub) if sub else by_plural(group, plural)
                if rt is None:  # status, log, exec...: the parent's kind
                    continue
                name = definition_name(rt.model)
                assert schemas[name]["x-kubernetes-group-version-kind"] == [
                    {"group": rt.group, "version": rt.version, "kind": rt.kind}], name
                kinds += 1
                if "list" in entry["verbs"]:
                    assert schemas[f"{name}List"]["x-kubernetes-group-version-kind"] == [
                        {"group": rt.group, "version": rt.version, "kind": rt.list_kind}]
                else:
                    assert f"{name}List" not in schemas
    assert kinds >= 21
    apps = _schemas(documents, "apis/apps/v1")
    assert "io.k8s.api.apps.v1.Deployment" in apps and "io.k8s.api.autoscaling.v1.Scale" in apps
    assert "io.k8s.api.core.v1.PodSpec" in apps and f"{META}.ObjectMeta" in apps
    assert "io.k8s.api.core.v1.Binding" in _schemas(documents, "api/v1")
    assert "io.k8s.api.coordination.v1.Lease" in _schemas(documents, "apis/coordination.k8s.io/v1")


def test_every_operation_names_its_action_and_a_kind_with_a_component(
        documents: dict[str, dict[str, Any]]) -> None:
    actions = {"get": {"get", "list"}, "post": {"post", "connect"}, "put": {"put"},
               "patch": {"patch"}, "delete": {"delete", "deletecollection"}}
    for key in {_gv_key(g, v) for g, vs in discovery.group_versions().items() for v in vs}:
        doc = documents[key]
        by_gvk = {(g["group"], g["version"], g["kind"]): name
                  for name, s in doc["components"]["schemas"].items()
                  for g in s.get("x-kubernetes-group-version-kind", [])}
        for path, item in doc["paths"].items():
            for method, op in item.items():
                if method == "parameters" or path.endswith("/"):
                    continue
                if path.endswith(("/{name}/exec", "/{name}/attach", "/{name}/portforward")):
                    assert op["x-kubernetes-action"] == "connect", (path, method)
                    continue
                assert op["x-kubernetes-action"] in actions[method], (path, method)
                g = op["x-kubernetes-group-version-kind"]
                assert (g["group"], g["version"], g["kind"]) in by_gvk, (path, method, g)
                if method in ("post", "put", "patch") and not path.endswith("/log"):
                    names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
                    assert "fieldValidation" in names, (path, method)
                if method == "patch":
                    assert "application/strategic-merge-patch+json" in op["requestBody"]["content"]
    deploy = documents["apis/apps/v1"]["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
    assert set(deploy) == {"parameters", "get", "put", "patch", "delete"}
    assert deploy["patch"]["x-kubernetes-group-version-kind"] == {
        "group": "apps", "version": "v1", "kind": "Deployment"}
    scale = documents["apis/apps/v1"]["paths"][
        "/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert scale["put"]["x-kubernetes-group-version-kind"]["group"] == "autoscaling"


def _strip_optional(t: Any) -> Any:
    if typing.get_origin(t) in (Union, UnionType):
        args = [a for a in typing.get_args(t) if a is not NoneType]
        return args[0] if len(args) == 1 else t
    return t


def test_integers_carry_the_format_of_their_go_type(documents: dict[str, dict[str, Any]]) -> None:
    """Every Int32/Int64 field of every model a kind holds, in every document holding it."""
    docs = [doc["components"]["schemas"] for key, doc in documents.items() if key]
    seen: set[type[K8sModel]] = set()
    todo = [rt.model for rt in openapi.served_kinds()]
    checked = 0
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        hints = typing.get_type_hints(cls, include_extras=True)
        holding = [s[definition_name(cls)] for s in docs if definition_name(cls) in s]
        assert holding or cls.__name__ == "WorkloadCondition", cls  # named per use: apps
        for attr, info in cls.model_fields.items():
            t = _strip_optional(hints[attr])
            inner = _strip_optional(typing.get_args(t)[0]) if typing.get_origin(t) is list else t
            if isinstance(inner, type) and issubclass(inner, K8sModel):
                todo.append(inner)
            if inner not in (Int32, Int64):
                continue
            for component in holding:
                prop = component["properties"][info.alias or attr]
                if t is not inner:
                    prop = prop["items"]
                assert prop["type"] == "integer", (cls.__name__, attr, prop)
                assert prop["format"] == ("int32" if inner == Int32 else "int64"), (cls.__name__, attr)
            checked += 1
    assert checked > 50  # 99 Int32/Int64 fields when this was written
    apps = _schemas(documents, "apis/apps/v1")
    for cond in ("DeploymentCondition", "ReplicaSetCondition", "DaemonSetCondition"):
        assert apps[f"io.k8s.api.apps.v1.{cond}"]["required"] == ["status", "type"]
    core = _schemas(documents, "api/v1")
    assert core["io.k8s.api.core.v1.PodSpec"]["properties"]["terminationGracePeriodSeconds"][
        "format"] == "int64"
    assert core[f"{META}.ObjectMeta"]["properties"]["generation"]["format"] == "int64"
    assert core["io.k8s.api.core.v1.ContainerPort"]["properties"]["containerPort"] == {
        "type": "integer", "format": "int32", "description": "The port number the container listens on."}
    assert core["io.k8s.api.core.v1.PodSecurityContext"]["properties"]["supplementalGroups"][
        "items"] == {"type": "integer", "format": "int64"}


def test_deployment_spec_reads_as_kubectl_explain_needs_it(documents: dict[str, dict[str, Any]]) -> None:
    doc = documents["apis/apps/v1"]
    deployment = doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"]
    spec = _resolve(doc, deployment["properties"]["spec"])
    assert spec["properties"]["replicas"]["type"] == "integer"
    assert spec["properties"]["replicas"]["format"] == "int32"
    assert spec["required"] == ["template"]
    strategy = _resolve(doc, spec["properties"]["strategy"])
    assert strategy["properties"]["type"]["enum"] == ["Recreate", "RollingUpdate"]
    rolling = _resolve(doc, strategy["properties"]["rollingUpdate"])
    surge = _resolve(doc, rolling["properties"]["maxSurge"])
    assert surge["x-kubernetes-int-or-string"] is True and surge["format"] == "int-or-string"
    assert spec["properties"]["strategy"]["description"]
    pod_spec = _resolve(doc, _resolve(doc, spec["properties"]["template"])["properties"]["spec"])
    limits = _resolve(doc, _resolve(doc, pod_spec["properties"]["containers"]["items"])[
        "properties"]["resources"])["properties"]["limits"]
    assert limits["type"] == "object"
    quantity = "io.k8s.apimachinery.pkg.api.resource.Quantity"
    assert limits["additionalProperties"] == {"$ref": SCHEMAS + quantity}
    labels = _resolve(doc, deployment["properties"]["metadata"])["properties"]["labels"]
    assert labels["additionalProperties"] == {"type": "string"}
    created = _resolve(doc, deployment["properties"]["metadata"])["properties"]["creationTimestamp"]
    assert _resolve(doc, created) == {"type": "string", "format": "date-time",
                                      "description": "An RFC 3339 timestamp in UTC, to the second."}


def test_lists_merge_as_the_api_servers_strategic_merge_patch(
        documents: dict[str, dict[str, Any]]) -> None:
    core = _schemas(documents, "api/v1")

    def prop(name: str, field: str) -> dict[str, Any]:
        return core[f"io.k8s.api.core.v1.{name}"]["properties"][field]  # type: ignore[no-any-return]

    containers = prop("PodSpec", "containers")
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert prop("Container", "ports")["x-kubernetes-patch-merge-key"] == "containerPort"
    assert prop("ServiceSpec", "ports")["x-kubernetes-patch-merge-key"] == "port"
    assert prop("Container", "volumeMounts")["x-kubernetes-patch-merge-key"] == "mountPath"
    assert prop("PodStatus", "conditions")["x-kubernetes-patch-merge-key"] == "type"
    assert core[f"{META}.ObjectMeta"]["properties"]["ownerReferences"][
        "x-kubernetes-patch-merge-key"] == "uid"
    for atomic in (prop("PodSpec", "tolerations"), prop("Container", "args"),
                   core[f"{META}.ObjectMeta"]["properties"]["finalizers"]):
        assert atomic["x-kubernetes-list-type"] == "atomic"
        assert "x-kubernetes-patch-strategy" not in atomic
    for doc in documents.values():  # every merged list is one the server merges, by that key
        for name, schema in doc.get("components", {"schemas": {}})["schemas"].items():
            for field, p in schema.get("properties", {}).items():
                if p.get("type") == "array":
                    assert p["x-kubernetes-list-type"] in ("map", "atomic"), (name, field)
                if "x-kubernetes-patch-merge-key" in p:
                    assert p["x-kubernetes-patch-merge-key"] in STRATEGIC_MERGE_KEYS[field], (name, field)


_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_SCHEMA_TYPES = {"object", "array", "string", "integer", "number", "boolean"}


def _check_schema(schema: Any, where: str, names: set[str]) -> None:
    assert isinstance(schema, dict), where
    if "$ref" in schema:
        assert set(schema) == {"$ref"}, f"{where}: siblings of $ref are ignored in 3.0"
        assert schema["$ref"].removeprefix(SCHEMAS) in names, f"{where}: {schema['$ref']}"
        return
    for key in schema:
        assert key in {"type", "format", "description", "properties", "required", "items",
                       "additionalProperties", "enum", "default", "allOf", "oneOf"} or \
            key.startswith("x-"), f"{where}: {key}"
    if "type" in schema:
        assert schema["type"] in _SCHEMA_TYPES, where
    if schema.get("type") == "array":
        _check_schema(schema["items"], f"{where}.items", names)
    for field, sub in schema.get("properties", {}).items():
        _check_schema(sub, f"{where}.{field}", names)
    for field in schema.get("required", []):
        assert field in schema["properties"], f"{where}: required {field}"
    if isinstance(schema.get("additionalProperties"), dict):
        _check_schema(schema["additionalProperties"], f"{where}{{}}", names)
    for i, sub in enumerate([*schema.get("allOf", []), *schema.get("oneOf", [])]):
        _check_schema(sub, f"{where}[{i}]", names)


def test_every_document_is_structurally_openapi_3_0(documents: dict[str, dict[str, Any]]) -> None:
    for key, doc in documents.items():
        if key == "":
            continue
        assert set(doc) <= {"openapi", "info", "paths", "components", "security"}, key
        assert doc["openapi"] == "3.0.0" and isinstance(doc["info"]["title"], str)
        assert isinstance(doc["info"]["version"], str)
        names = set(doc["components"]["schemas"])
        for name, schema in doc["components"]["schemas"].items():
            _check_schema(schema, f"{key}:{name}", names)
        op_ids: set[str] = set()
        for path, item in doc["paths"].items():
            assert path.startswith("/"), path
            templated = set(re.findall(r"\{(\w+)\}", path))
            declared = {p["name"] for p in item.get("parameters", []) if p["in"] == "path"}
            assert declared == templated, (key, path)
            for p in item.get("parameters", []):
                assert p["in"] == "path" and p["required"] is True and "schema" in p
            for method, op in item.items():
                if method == "parameters":
                    continue
                assert method in _METHODS, (path, method)
                assert op["operationId"] not in op_ids, op["operationId"]
                op_ids.add(op["operationId"])
                for p in op.get("parameters", []):
                    assert p["in"] == "query" and isinstance(p["name"], str) and "schema" in p
                    _check_schema(p["schema"], f"{path} {p['name']}", names)
                assert op["responses"], (path, method)
                for code, response in op["responses"].items():
                    assert re.fullmatch(r"[1-5]\d\d|default", code), code
                    assert isinstance(response["description"], str)
                    for media in response.get("content", {}).values():
                        _check_schema(media["schema"], f"{path} {method} {code}", names)
                for media in op.get("requestBody", {"content": {}})["content"].values():
                    _check_schema(media["schema"], f"{path} {method} body", names)
        used = set(re.findall(r'"#/components/schemas/([^"]+)"', orjson.dumps(doc).decode()))
        assert used <= names, used - names
