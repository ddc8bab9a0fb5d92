"""Bad input: a clear error with the reason and the field, the right code, nothing written."""

from __future__ import annotations

import pytest
from apiharness import PODS, Api, make_api, pod
from apiharness import rejected as _rejected


@pytest.fixture
async def api() -> Api:
    return await make_api()


async def test_malformed_json_is_400(api: Api) -> None:
    await _rejected(api, "POST", PODS, b'{"apiVersion": "v1", "kind": ', 400,
                    reason="BadRequest", text="not valid JSON")


async def test_malformed_yaml_is_400(api: Api) -> None:
    await _rejected(api, "POST", PODS, b"kind: Pod\n  bad: [indent", 400, reason="BadRequest",
                    content_type="application/yaml")


async def test_unknown_resource_is_404(api: Api) -> None:
    st = await _rejected(api, "POST", "/api/v1/namespaces/default/widgets", pod("x"), 404,
                         reason="NotFound")
    assert "widgets" in st["message"]


async def test_kind_not_matching_the_url_is_400(api: Api) -> None:
    body = {**pod("x"), "kind": "Service"}
    await _rejected(api, "POST", PODS, body, 400, reason="BadRequest", text="Service")


async def test_unknown_field_is_400_naming_the_path(api: Api) -> None:
    body = pod("x")
    body["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    await _rejected(api, "POST", PODS, body, 400, reason="BadRequest",
                    text="spec.containers[0].imagePullPolcy")


async def test_invalid_name_is_422_with_a_cause(api: Api) -> None:
    st = await _rejected(api, "POST", PODS, pod("Not_A_Name"), 422, reason="Invalid")
    assert any(c["field"] == "metadata.name" for c in st["details"]["causes"])


async def test_wrong_type_is_rejected_naming_the_field(api: Api) -> None:
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"replicas": "three", "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    path = "/apis/apps/v1/namespaces/default/deployments"
    st = await _rejected(api, "POST", path, body, 400, reason="BadRequest", count_path=path)
    assert "spec.replicas" in st["message"]


async def test_missing_required_field_is_422(api: Api) -> None:
    body = pod("x")
    del body["spec"]["containers"][0]["image"]
    st = await _rejected(api, "POST", PODS, body, 422, reason="Invalid")
    assert any(c["field"] == "spec.containers[0].image" for c in st["details"]["causes"])


async def test_oversized_body_is_413(api: Api) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
            "data": {"x": "a" * (2 * 1024 * 1024)}}
    await _rejected(api, "POST", "/api/v1/namespaces/default/configmaps", body, 413,
                    reason="RequestEntityTooLarge",
                    count_path="/api/v1/namespaces/default/configmaps")


async def test_stale_resource_version_is_409_conflict(api: Api) -> None:
    out = await api.ok("POST", PODS, pod("x"))
    stale = dict(out)
    await api.ok("PATCH", f"{PODS}/x", {"metadata": {"labels": {"a": "b"}}},
                 content_type="application/merge-patch+json")
    await _rejected(api, "PUT", f"{PODS}/x", stale, 409, reason="Conflict",
                    text="the object has been modified")


async def test_create_twice_is_409_already_exists(api: Api) -> None:
    await api.ok("POST", PODS, pod("x"))
    await _rejected(api, "POST", PODS, pod("x"), 409, reason="AlreadyExists",
                    text='pods "x" already exists')


async def test_missing_namespace_is_404(api: Api) -> None:
    await _rejected(api, "POST", "/api/v1/namespaces/nope/pods", pod("x"), 404,
                    reason="NotFound", text='namespaces "nope" not found',
                    count_path="/api/v1/pods")


async def test_namespace_in_body_must_match_the_url(api: Api) -> None:
    body = pod("x")
    body["metadata"]["namespace"] = "kube-system"
    await _rejected(api, "POST", PODS, body, 400, reason="BadRequest", text="does not match")


async def test_empty_body_is_400(api: Api) -> None:
    await _rejected(api, "POST", PODS, b"", 400, reason="BadRequest", text="empty")


async def test_unsupported_patch_type_is_415(api: Api) -> None:
    await api.ok("POST", PODS, pod("x"))
    await _rejected(api, "PATCH", f"{PODS}/x", {"a": 1}, 415, reason="UnsupportedMediaType",
                    content_type="text/plain")


async def test_bad_json_patch_path_is_422(api: Api) -> None:
    await api.ok("POST", PODS, pod("x"))
    await _rejected(api, "PATCH", f"{PODS}/x", [{"op": "replace", "path": "/spec/nope/x",
                                                 "value": 1}], 422, reason="Invalid",
                    content_type="application/json-patch+json")
