"""A create's ``Update`` entry owns every field of the object (managedfields.on_create); the
pods of one template differ only in identity fields, which are nobody's, so the field set
is walked once per JSON and shared (issue 17: the walk was ~5 % of a create).  Sharing must
never show: each object's entry is its fields, and a later write to one object leaves the
others' entries as they were."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from apiharness import Api, make_api

from jetkube.schemas import load as load_module
from jetkube.services.apiserver import managedfields

CMS = "/api/v1/namespaces/default/configmaps"


def configmap(name: str, data: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": {"app": "web"}}, "data": data}


async def send(api: Api, method: str, path: str, body: Any, **query: str) -> dict[str, Any]:
    res = await api.front.serve_http(method, path, query, orjson.dumps(body),
                                     {"content-type": "application/json"})
    assert res.code in (200, 201), res.body
    out: dict[str, Any] = orjson.loads(res.body)
    return out


def owned(obj: dict[str, Any]) -> dict[str, Any]:
    [entry] = obj["metadata"]["managedFields"]
    assert entry["operation"] == "Update"
    fields: dict[str, Any] = entry["fieldsV1"]
    return fields


@pytest.fixture
async def api() -> Api:
    managedfields._CREATED.clear()
    return await make_api()


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The objects managedfields walked for a field set."""
    seen: list[dict[str, Any]] = []
    walk = managedfields.compare

    def counted(old: dict[str, Any], new: dict[str, Any], owner: str = "") -> Any:
        seen.append(new)
        return walk(old, new, owner)

    monkeypatch.setattr(managedfields, "compare", counted)
    return seen


async def test_objects_differing_only_in_name_are_walked_once(
        api: Api, walks: list[dict[str, Any]]) -> None:
    a = await send(api, "POST", CMS, configmap("a", {"k": "1"}))
    b = await send(api, "POST", CMS, configmap("b", {"k": "1"}))
    assert len(walks) == 1
    expected = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:data": {".": {}, "f:k": {}}}
    assert owned(a) == owned(b) == expected


async def test_another_shape_is_walked_and_owns_its_own_fields(
        api: Api, walks: list[dict[str, Any]]) -> None:
    await send(api, "POST", CMS, configmap("a", {"k": "1"}))
    c = await send(api, "POST", CMS, configmap("c", {"k": "1", "extra": "2"}))
    assert len(walks) == 2
    assert owned(c)["f:data"] == {".": {}, "f:k": {}, "f:extra": {}}


async def test_a_later_write_to_one_object_leaves_the_others_entry(api: Api) -> None:
    a = await send(api, "POST", CMS, configmap("a", {"k": "1"}))
    await send(api, "POST", CMS, configmap("b", {"k": "1"}))
    # another manager removes a field of "a" and adds one: every entry of "a" loses it
    changed = {**a, "data": {"new": "2"}}
    out = await send(api, "PUT", f"{CMS}/a", changed, fieldManager="editor")
    mine = [e["fieldsV1"] for e in out["metadata"]["managedFields"]]
    assert len(mine) == 2  # the creator's and the editor's
    assert "f:k" not in orjson.dumps(mine).decode()
    b = await send(api, "GET", f"{CMS}/b", None)
    assert owned(b)["f:data"] == {".": {}, "f:k": {}}
    again = await send(api, "POST", CMS, configmap("d", {"k": "1"}))
    assert owned(again)["f:data"] == {".": {}, "f:k": {}}


def test_the_sets_kept_are_bounded_and_big_objects_are_not_kept() -> None:
    managedfields._CREATED.clear()
    for i in range(managedfields.CREATED_SETS + 10):
        assert managedfields.created_fields({"data": {f"k{i}": "v"}}) == {
            "f:data": {".": {}, f"f:k{i}": {}}}
    assert len(managedfields._CREATED) == managedfields.CREATED_SETS
    big = {"data": {f"k{i}": "v" * 100 for i in range(200)}}
    assert len(orjson.dumps(big)) > managedfields._CREATED_JSON_MAX
    managedfields._CREATED.clear()
    assert len(managedfields.created_fields(big)["f:data"]) == 201  # "." and 200 keys
    assert not managedfields._CREATED


def test_an_object_with_no_owned_field_has_no_entry() -> None:
    assert managedfields.created_fields({}) == {}


async def test_the_pods_of_one_template_take_their_set_from_the_remembered_load(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pod whose load was remembered (schemas.load_remembered) finds its set in the
    template's table: not tracked, encoded or looked up again, whoever its manager."""
    load_module._LOADED.clear()  # (remembered loads outlive a test: this one starts afresh)
    asked: list[dict[str, Any]] = []
    made = managedfields.created_fields

    def counted(owned_part: dict[str, Any]) -> Any:
        asked.append(owned_part)
        return made(owned_part)

    monkeypatch.setattr(managedfields, "created_fields", counted)

    def pod(name: str) -> dict[str, Any]:
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}

    pods = "/api/v1/namespaces/default/pods"
    a = await send(api, "POST", pods, pod("tmpl-a"))
    b = await send(api, "POST", pods, pod("tmpl-b"), fieldManager="other")
    assert len(asked) == 1
    assert owned(a) == owned(b) and "f:spec" in owned(a)
    assert b["metadata"]["managedFields"][0]["manager"] == "other"
    assert a["metadata"]["managedFields"][0].get("manager") != "other"
    c = await send(api, "POST", pods, {**pod("tmpl-c"), "spec": {"containers": [
        {"name": "c", "image": "busybox:1.36", "command": ["sleep"]}]}})
    assert len(asked) == 2 and "f:command" in orjson.dumps(owned(c)).decode()
