"""Content types and duplicate fields (issue 12).

A create or update body is JSON or YAML (``application/json``, ``application/yaml``; no
Content-Type means JSON, as kube-apiserver takes the first type it serves); a PATCH is one
of the patch types. Anything else is 415 UnsupportedMediaType naming the accepted types
(protobuf too, for now, saying so). A field given twice in one object is refused with
``?fieldValidation=Strict`` (400 naming the field's path; 422 for a patch, as Kubernetes),
accepted with a ``Warning: 299 - "duplicate field \\"path\\""`` header by default (Warn,
on both faces), and silently with Ignore.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from apiharness import PODS, Api, make_api, pod, rejected
from faces import asgi_request

from jetkube.services.apiserver import decode
from jetkube.services.apiserver.http import HttpApp
from jetkube.services.apiserver.natsface import handle

CMS = "/api/v1/namespaces/default/configmaps"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"
DUP_POD = (b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"dup","name":"dup"},'
           b'"spec":{"containers":[{"name":"c","image":"a","image":"busybox"}]}}')


@pytest.fixture
async def api() -> Api:
    api = await make_api()
    await api.ok("POST", PODS, pod("p"))
    return api


# --- content types -------------------------------------------------------------------

@pytest.mark.parametrize("ctype", ["text/plain", "application/xml",
                                   "application/x-www-form-urlencoded", MERGE, "*/*"])
async def test_a_create_body_of_another_type_is_415_naming_the_accepted_ones(
        api: Api, ctype: str) -> None:
    await rejected(api, "POST", PODS, pod("x"), 415, reason="UnsupportedMediaType",
                   text="accepted media types include: application/json, application/yaml",
                   content_type=ctype)


async def test_an_update_body_of_another_type_is_415(api: Api) -> None:
    await rejected(api, "PUT", f"{PODS}/p", pod("p"), 415, reason="UnsupportedMediaType",
                   text="application/json, application/yaml", content_type="application/xml")


async def test_a_subresource_body_of_another_type_is_415(api: Api) -> None:
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
               "target": {"kind": "Node", "name": "n1"}}
    await rejected(api, "POST", f"{PODS}/p/binding", binding, 415,
                   reason="UnsupportedMediaType", content_type="text/plain")
    await rejected(api, "PUT", f"{PODS}/p/status", pod("p"), 415,
                   reason="UnsupportedMediaType", content_type="text/plain")


async def test_a_body_labelled_protobuf_without_its_magic_is_400(api: Api) -> None:
    """kube-apiserver's answer to a body that says protobuf but is not (here: JSON)."""
    await rejected(api, "POST", PODS, pod("x"), 400, reason="BadRequest",
                   text="does not start with", content_type="application/vnd.kubernetes.protobuf")


@pytest.mark.parametrize("ctype", ["application/json; charset=utf-8", "Application/JSON",
                                   "application/yaml"])
async def test_json_and_yaml_are_accepted_with_parameters_and_in_any_case(
        api: Api, ctype: str) -> None:
    await api.ok("POST", PODS, pod("x"), content_type=ctype)


async def test_no_content_type_is_json_as_kube_apiserver_takes_it(api: Api) -> None:
    res = await api.front.serve_http("POST", PODS, {}, orjson.dumps(pod("x")), {})
    assert res.code == 201, res.body


@pytest.mark.parametrize("ctype", ["application/json", "text/plain", ""])
async def test_a_patch_of_another_type_is_415_naming_the_patch_types(
        api: Api, ctype: str) -> None:
    await rejected(api, "PATCH", f"{PODS}/p", {"metadata": {"labels": {"a": "b"}}}, 415,
                   reason="UnsupportedMediaType",
                   text=f"accepted media types include: {JSON_PATCH}, {MERGE}, {STRATEGIC}",
                   content_type=ctype)


async def test_server_side_apply_is_one_of_the_patch_types(api: Api) -> None:
    # served since issue 13 (test_server_side_apply_owns_fields_like_kubernetes.py)
    await rejected(api, "PATCH", f"{PODS}/p", {"metadata": {}}, 415,
                   reason="UnsupportedMediaType", text="application/apply-patch+yaml",
                   content_type="text/plain")


# --- duplicate fields ------------------------------------------------------------------

async def test_duplicate_fields_are_400_naming_each_path_with_strict(api: Api) -> None:
    st = await _rejected_with(api, "POST", PODS, DUP_POD, "Strict", 400, "BadRequest")
    assert ('strict decoding error: duplicate field "metadata.name", '
            'duplicate field "spec.containers[0].image"') in st["message"], st["message"]


async def test_duplicate_fields_in_yaml_are_400_naming_the_path_with_strict(api: Api) -> None:
    body = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\ndata:\n  a: b\n  a: c\n"
    st = await _rejected_with(api, "POST", CMS, body, "Strict", 400, "BadRequest",
                              content_type="application/yaml", count_path=CMS)
    assert 'duplicate field "data.a"' in st["message"], st["message"]


@pytest.mark.parametrize("ctype", [MERGE, STRATEGIC])
async def test_duplicate_fields_in_a_patch_are_422_with_strict(api: Api, ctype: str) -> None:
    body = b'{"metadata":{"labels":{"a":"1","a":"2"}}}'
    st = await _rejected_with(api, "PATCH", f"{PODS}/p", body, "Strict", 422, "Invalid",
                              content_type=ctype)
    assert 'duplicate field "metadata.labels.a"' in st["message"], st["message"]


async def test_duplicate_fields_in_a_json_patch_operation_are_named_with_strict(
        api: Api) -> None:
    body = b'[{"op":"add","path":"/metadata/labels","path":"/metadata/annotations","value":{}}]'
    st = await _rejected_with(api, "PATCH", f"{PODS}/p", body, "Strict", 422, "Invalid",
                              content_type=JSON_PATCH)
    assert 'json patch duplicate field "[0].path"' in st["message"], st["message"]


async def test_a_duplicate_spelled_with_escapes_is_still_found(api: Api) -> None:
    body = (b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"esc","n\\u0061me":"esc"},'
            b'"spec":{"containers":[{"name":"c","image":"i"}]}}')
    st = await _rejected_with(api, "POST", PODS, body, "Strict", 400, "BadRequest")
    assert 'duplicate field "metadata.name"' in st["message"], st["message"]


async def test_an_unknown_field_validation_is_422(api: Api) -> None:
    st = await _rejected_with(api, "POST", PODS, orjson.dumps(pod("x")), "Loud", 422,
                              "Invalid")
    assert 'fieldValidation: Unsupported value: "Loud"' in st["message"], st["message"]


async def test_duplicate_fields_are_a_warning_header_by_default_over_http(api: Api) -> None:
    app = HttpApp(api.front)
    code, warnings, out = await _http(app, "POST", PODS, DUP_POD)
    assert code == 201, out
    assert warnings == ['299 - "duplicate field \\"metadata.name\\""',
                        '299 - "duplicate field \\"spec.containers[0].image\\""']
    assert out["spec"]["containers"][0]["image"] == "busybox"  # the last one, as Kubernetes
    code, warnings, out = await _http(app, "PATCH", f"{PODS}/p",
                                      b'{"metadata":{"labels":{"a":"1","a":"2"}}}',
                                      content_type=MERGE, query=b"fieldValidation=Warn")
    assert code == 200 and out["metadata"]["labels"] == {"a": "2"}, out
    assert warnings == ['299 - "duplicate field \\"metadata.labels.a\\""']


async def test_duplicate_fields_pass_silently_with_ignore(api: Api) -> None:
    code, warnings, out = await _http(HttpApp(api.front), "POST", PODS, DUP_POD,
                                      query=b"fieldValidation=Ignore")
    assert code == 201 and warnings == [], (code, warnings, out)


async def test_duplicate_fields_are_a_warning_header_over_nats(api: Api) -> None:
    body, headers = await handle(api.front, "jetkube.api.admin.create.core.v1.pods",
                                 {"Jetkube-Namespace": "default"}, DUP_POD)
    assert headers["Jetkube-Code"] == "201", body
    assert headers["Warning"] == ('299 - "duplicate field \\"metadata.name\\"", '
                                  '299 - "duplicate field \\"spec.containers[0].image\\""')
    body, headers = await handle(api.front, "jetkube.api.admin.create.core.v1.pods",
                                 {"Jetkube-Namespace": "default"},
                                 orjson.dumps(pod("clean")))
    assert headers["Jetkube-Code"] == "201" and "Warning" not in headers


def test_a_typical_pod_never_takes_the_slow_duplicate_pass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def slow(*_: Any) -> list[str]:
        raise AssertionError("the slow pass ran on a body without duplicates")

    monkeypatch.setattr(decode, "_json_duplicates", slow)
    body = pod("typical", labels={"app": "web", "tier": "front"})
    body["metadata"]["annotations"] = {"note": "a: b, c: d", "url": "http://x:80/y"}
    body["spec"]["containers"][0].update(
        command=["sh", "-c", "echo a:b"], env=[{"name": f"E{i}", "value": f"v:{i}"}
                                               for i in range(20)],
        ports=[{"containerPort": 80, "name": "http"}],
        resources={"limits": {"cpu": "1", "memory": "1Gi"}})
    raw = orjson.dumps(body, option=orjson.OPT_INDENT_2)  # whitespace too
    assert 1500 < len(raw) < 4000
    assert decode.decode(raw, "json").duplicates == []


# --- helpers ---------------------------------------------------------------------------

async def _rejected_with(api: Api, method: str, path: str, body: bytes, validation: str,
                         code: int, reason: str, *, content_type: str = "application/json",
                         count_path: str = PODS) -> dict[str, Any]:
    """``method path body`` with ``?fieldValidation=validation`` is refused with ``code`` and
    ``reason``, and nothing is written."""
    before = await api.count(count_path)
    rev = await api.store.current_revision()
    got, st = await api.call(method, path, body, query={"fieldValidation": validation},
                             content_type=content_type)
    assert (got, st["kind"], st["reason"]) == (code, "Status", reason), st
    assert await api.count(count_path) == before
    assert await api.store.current_revision() == rev, "a rejected request wrote to the store"
    return st  # type: ignore[no-any-return]


async def _http(app: HttpApp, method: str, path: str, body: bytes, *,
                content_type: str = "application/json", query: bytes = b""
                ) -> tuple[int, list[str], Any]:
    """One request through the HTTP face: code, Warning headers, decoded body."""
    status, headers, out = await asgi_request(
        app, method, path, body, [(b"content-type", content_type.encode())], query)
    warnings = [v.decode() for k, v in headers if k.lower() == b"warning"]
    return status, warnings, orjson.loads(out)
