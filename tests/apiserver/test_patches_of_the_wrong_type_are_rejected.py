"""Patches whose values have the wrong type, or whose operations are malformed, get a
Status naming the field (422 Invalid when the patched object is wrong, as kube-apiserver's
patcher says; 400 when the patch itself cannot be read) and write nothing; never a 500
(issue 12)."""

from __future__ import annotations

from typing import Any

import pytest
from apiharness import PODS, Api, make_api, pod, rejected

CMS = "/api/v1/namespaces/default/configmaps"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"

TARGETS = {  # a path to patch -> the list its objects are counted in
    f"{PODS}/p": PODS,
    f"{PODS}/p/status": PODS,
    f"{CMS}/c": CMS,
    f"{DEPLOYS}/d": DEPLOYS,
    "/api/v1/namespaces/default": "/api/v1/namespaces",
}


@pytest.fixture
async def api() -> Api:
    api = await make_api()
    await api.ok("POST", PODS, pod("p"))
    await api.ok("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "c"}, "data": {"a": "b"}})
    await api.ok("POST", DEPLOYS, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}},
                              "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    return api


@pytest.mark.parametrize("path", TARGETS)
@pytest.mark.parametrize("ctype", [MERGE, STRATEGIC])
@pytest.mark.parametrize("value", [5, "x", [1], True])
async def test_metadata_that_is_no_object_is_422_naming_it(api: Api, path: str, ctype: str,
                                                         value: Any) -> None:
    st = await rejected(api, "PATCH", path, {"metadata": value}, 422, reason="Invalid",
                        text="metadata: Invalid value", content_type=ctype,
                        count_path=TARGETS[path])
    assert st["details"]["causes"][0]["field"] == "metadata"


@pytest.mark.parametrize("path", TARGETS)
async def test_a_json_patch_setting_metadata_to_no_object_is_422(api: Api, path: str) -> None:
    await rejected(api, "PATCH", path, [{"op": "replace", "path": "/metadata", "value": 5}],
                   422, reason="Invalid", text="metadata: Invalid value",
                   content_type=JSON_PATCH, count_path=TARGETS[path])


@pytest.mark.parametrize("field", ["spec", "status"])
@pytest.mark.parametrize("ctype", [MERGE, STRATEGIC])
async def test_spec_or_status_that_is_no_object_is_422_naming_it(api: Api, field: str,
                                                                ctype: str) -> None:
    await rejected(api, "PATCH", f"{DEPLOYS}/d", {field: 5}, 422, reason="Invalid",
                   text=f"{field}: Invalid value", content_type=ctype, count_path=DEPLOYS)


@pytest.mark.parametrize("ctype", [MERGE, STRATEGIC])
async def test_a_scale_patch_whose_spec_is_no_object_is_422(api: Api, ctype: str) -> None:
    await rejected(api, "PATCH", f"{DEPLOYS}/d/scale", {"spec": 5}, 422, reason="Invalid",
                   text="spec: Invalid value", content_type=ctype, count_path=DEPLOYS)


@pytest.mark.parametrize("body", [5, [], "x", None])
async def test_a_scale_that_is_no_object_is_400(api: Api, body: Any) -> None:
    raw = b"null" if body is None else body
    await rejected(api, "PUT", f"{DEPLOYS}/d/scale", raw, 400, reason="BadRequest",
                   text="must be an object", count_path=DEPLOYS)


@pytest.mark.parametrize(("op", "text"), [
    ({"op": "add", "path": 5, "value": 1}, 'operation 0: "path" must be a string'),
    ({"op": 5, "path": "/a"}, 'operation 0: "op" must be a string'),
    ({"op": "move", "from": 5, "path": "/a"}, 'operation 0: "from" must be a string'),
    ({"op": "copy", "path": "/metadata/labels/x"}, "operation 0 (copy) needs 'from'"),
    ({"op": "test", "path": ["/a"], "value": 1}, 'operation 0: "path" must be a string'),
])
async def test_a_malformed_json_patch_operation_is_400_naming_it(api: Api, op: Any,
                                                                text: str) -> None:
    await rejected(api, "PATCH", f"{PODS}/p", [op], 400, reason="BadRequest", text=text,
                   content_type=JSON_PATCH)


@pytest.mark.parametrize(("op", "text"), [
    ({"op": "remove", "path": ""}, "cannot remove the whole document"),
    ({"op": "move", "from": "", "path": "/metadata/x"}, "cannot remove the whole document"),
    ({"op": "replace", "path": "/spec/containers/\u00b2", "value": {}}, "does not exist"),
    ({"op": "add", "path": "/spec/containers/01", "value": {}}, "invalid array index"),
    ({"op": "replace", "path": "", "value": []}, "did not produce an object"),
])
async def test_a_json_patch_that_cannot_apply_is_422_or_400(api: Api, op: Any,
                                                           text: str) -> None:
    code, st = await api.call("PATCH", f"{PODS}/p", [op], content_type=JSON_PATCH)
    assert code in (400, 422) and text in st["message"], st
    await rejected(api, "PATCH", f"{PODS}/p", [op], code, reason=st["reason"], text=text,
                   content_type=JSON_PATCH)


@pytest.mark.parametrize("body", [b"5", b'"x"', b"[1]", b"null"])
async def test_a_merge_patch_that_is_no_object_is_refused(api: Api, body: bytes) -> None:
    code, st = await api.call("PATCH", f"{PODS}/p", body, content_type=MERGE)
    assert code in (400, 422), st
    await rejected(api, "PATCH", f"{PODS}/p", body, code, reason=st["reason"],
                   content_type=MERGE)


@pytest.mark.parametrize("field", ["kind", "apiVersion"])
@pytest.mark.parametrize("value", [5, ["v1"], {"a": "b"}])
async def test_kind_or_api_version_patched_to_no_string_is_422(api: Api, field: str,
                                                              value: Any) -> None:
    await rejected(api, "PATCH", f"{PODS}/p", {field: value}, 422, reason="Invalid",
                   text=f"{field}: Invalid value", content_type=MERGE)
