"""``load_object`` remembers a loaded Pod by its JSON without its name, uid and creation
time (schemas/load.py, issue 17): the pods of one template are validated and defaulted
once.  What it returns must be, byte for byte, what a full load returns; a name, uid or
time the full load would refuse is still refused, and only results are remembered, never
a refusal."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from jetkube.schemas import SchemaError, load_object
from jetkube.schemas import load as load_module
from jetkube.schemas.fielderrors import dns1123_subdomain
from jetkube.schemas.registry import by_plural

PODS = by_plural("", "pods")
CONFIGMAPS = by_plural("", "configmaps")


def pod(name: str, uid: str = "u-1", created: Any = "2026-12-05T12:00:00Z",
        image: str = "busybox:1.36") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "uid": uid,
                         "creationTimestamp": created, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": image,
                                     "resources": {"requests": {"cpu": "10m"}}}]}}


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the objects fully loaded (pydantic and the checks), in order."""
    load_module._LOADED.clear()
    seen: list[str] = []
    full = load_module._load

    def counted(rt: Any, data: dict[str, Any]) -> dict[str, Any]:
        seen.append(str(data.get("metadata", {}).get("name")))
        return full(rt, data)

    monkeypatch.setattr(load_module, "_load", counted)
    return seen


def fully(data: dict[str, Any]) -> bytes:
    assert PODS is not None
    return orjson.dumps(load_module._load(PODS, data))


def test_a_second_pod_of_one_template_is_not_loaded_again_and_is_the_same_bytes(
        loads: list[str]) -> None:
    assert PODS is not None
    first = load_object(PODS, pod("web-a"))
    second = load_object(PODS, pod("web-b", "u-2", "2026-12-05T12:00:01Z"))
    assert loads == ["web-a"]
    assert orjson.dumps(second) == fully(pod("web-b", "u-2", "2026-12-05T12:00:01Z"))
    assert second["metadata"]["name"] == "web-b" and first["metadata"]["name"] == "web-a"
    assert second["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"  # defaulted


def test_each_result_is_its_own_copy(loads: list[str]) -> None:
    assert PODS is not None
    a = load_object(PODS, pod("a"))
    a["spec"]["containers"].append({"name": "changed"})
    b = load_object(PODS, pod("b"))
    assert len(b["spec"]["containers"]) == 1 and loads == ["a"]


def test_another_template_is_loaded_and_its_own_errors_are_raised(loads: list[str]) -> None:
    assert PODS is not None
    load_object(PODS, pod("a"))
    load_object(PODS, pod("b", image="nginx:1.25"))
    assert loads == ["a", "b"]
    bad = pod("c")
    bad["spec"]["containers"][0]["name"] = "Not_A_Name"
    with pytest.raises(SchemaError) as err:
        load_object(PODS, bad)
    assert err.value.kind == "Invalid" and "spec.containers[0].name" in str(err.value.causes)
    with pytest.raises(SchemaError):  # (refusals are not remembered)
        load_object(PODS, bad)
    assert loads == ["a", "b", "c", "c"]


@pytest.mark.parametrize(("field", "data"), [
    ("metadata.name", pod("Not_A_Name")),
    ("metadata.name", pod("x" * 300)),
    ("metadata.creationTimestamp", pod("a", created="yesterday")),
    ("metadata.uid", pod("a", uid=7)),  # type: ignore[arg-type]
])
def test_identity_fields_a_full_load_refuses_are_refused_after_the_template_is_known(
        loads: list[str], field: str, data: dict[str, Any]) -> None:
    assert PODS is not None
    load_object(PODS, pod("known"))
    with pytest.raises(SchemaError) as err:
        load_object(PODS, data)
    assert field in orjson.dumps(err.value.causes).decode() or field in str(err.value)
    assert len(loads) == 2  # the refused one met the full load


def test_generated_names_and_other_kinds_are_loaded_each_time(loads: list[str]) -> None:
    assert PODS is not None and CONFIGMAPS is not None
    gen = pod("")
    del gen["metadata"]["name"]
    gen["metadata"]["generateName"] = "web-"
    load_object(PODS, gen)
    load_object(PODS, gen)
    cm = {"metadata": {"name": "c"}, "data": {"a": "1"}}
    load_object(CONFIGMAPS, cm)
    load_object(CONFIGMAPS, cm)
    assert len(loads) == 4 and not load_module._LOADED


def test_the_results_kept_are_bounded(loads: list[str]) -> None:
    assert PODS is not None
    for i in range(load_module.REMEMBERED_OBJECTS + 5):
        load_object(PODS, pod("a", image=f"img:{i}"))
    assert len(load_module._LOADED) == load_module.REMEMBERED_OBJECTS
    big = pod("big")
    big["metadata"]["annotations"] = {"note": "x" * 9000}
    load_object(PODS, big)
    assert len(load_module._LOADED) == load_module.REMEMBERED_OBJECTS
    assert orjson.dumps(big["metadata"]["annotations"]) not in b"".join(load_module._LOADED)


def test_the_pods_of_one_template_share_one_table_that_goes_with_the_result(
        loads: list[str]) -> None:
    """``load_remembered``'s table is the remembered result's: the same for every pod of
    the template, another for another template, none where nothing is remembered."""
    assert PODS is not None and CONFIGMAPS is not None
    _, table = load_module.load_remembered(PODS, pod("web-a"))
    assert table == {}
    table["later stage"] = "worked out once"
    second, again = load_module.load_remembered(PODS, pod("web-b", "u-2"))
    assert again is table and second["metadata"]["name"] == "web-b"
    _, other = load_module.load_remembered(PODS, pod("web-c", image="nginx:1.27"))
    assert other == {} and other is not table
    _, none = load_module.load_remembered(CONFIGMAPS, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    assert none is None
    _, generated = load_module.load_remembered(PODS, {**pod("x"), "metadata": {
        "generateName": "x-", "namespace": "default"}})  # (no name: not remembered)
    assert generated is None
    load_module._LOADED.clear()  # the result forgotten, its table with it
    _, fresh = load_module.load_remembered(PODS, pod("web-d", "u-4"))
    assert fresh == {} and fresh is not table
    assert loads == ["web-a", "web-c", "c", "None", "web-d"]


def test_the_pods_names_are_checked_without_filling_the_shared_name_cache(
        loads: list[str]) -> None:
    assert PODS is not None
    load_object(PODS, pod("web-a"))  # (the template loaded in full once)
    before = dns1123_subdomain.cache_info()
    for i in range(50):
        load_object(PODS, pod(f"web-{i}", f"u-{i}"))
    after = dns1123_subdomain.cache_info()
    assert loads == ["web-a"]  # the 50 from the remembered template
    assert (after.currsize, after.misses) == (before.currsize, before.misses)
    with pytest.raises(SchemaError):  # and still checked
        load_object(PODS, pod("Not_A_Name", "u-x"))
