"""A create or update body is an object whose ``kind`` and ``apiVersion``, when given, are
strings and whose ``metadata`` is an object: anything else is a 400 naming the field, and
nothing is written (issue 12). A missing ``kind``/``apiVersion`` is still taken from the URL,
as kube-apiserver does."""

from __future__ import annotations

from typing import Any

import pytest
from apiharness import PODS, Api, make_api, pod, rejected


@pytest.fixture
async def api() -> Api:
    api = await make_api()
    await api.ok("POST", PODS, pod("p"))
    return api


@pytest.mark.parametrize("field", ["kind", "apiVersion"])
@pytest.mark.parametrize("value", [None, 5, ["v1"], {"a": "b"}, True])
@pytest.mark.parametrize(("method", "path"), [("POST", PODS), ("PUT", f"{PODS}/p")])
async def test_kind_or_api_version_that_is_no_string_is_400_naming_it(
        api: Api, field: str, value: Any, method: str, path: str) -> None:
    body = {**pod("p"), field: value}
    await rejected(api, method, path, body, 400, reason="BadRequest",
                   text=f'"{field}" must be a string')


async def test_a_null_kind_in_yaml_is_400(api: Api) -> None:
    body = b"apiVersion: v1\nkind: ~\nmetadata: {name: y}\nspec:\n  containers: []\n"
    await rejected(api, "POST", PODS, body, 400, reason="BadRequest",
                   text='"kind" must be a string', content_type="application/yaml")


@pytest.mark.parametrize("value", [5, "x", [1], True])
@pytest.mark.parametrize(("method", "path"), [("POST", PODS), ("PUT", f"{PODS}/p")])
async def test_metadata_that_is_no_object_is_400_naming_it(api: Api, value: Any, method: str,
                                                         path: str) -> None:
    await rejected(api, method, path, {**pod("p"), "metadata": value}, 400,
                   reason="BadRequest", text='"metadata" must be an object')


@pytest.mark.parametrize("body", [b"5", b'"x"', b"[]", b"null", b"true"])
async def test_a_body_that_is_no_object_is_400(api: Api, body: bytes) -> None:
    await rejected(api, "POST", PODS, body, 400, reason="BadRequest",
                   text="must be an object")


async def test_missing_kind_and_api_version_are_taken_from_the_url(api: Api) -> None:
    body = pod("bare")
    del body["kind"], body["apiVersion"]
    out = await api.ok("POST", PODS, body)
    assert (out["kind"], out["apiVersion"]) == ("Pod", "v1")
