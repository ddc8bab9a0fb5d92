"""Server-side apply (issue 13, Deliver 6): ``PATCH`` with ``application/apply-patch+yaml``
creates or merges, records who owns which field in ``metadata.managedFields`` (FieldsV1,
as Kubernetes writes it), removes what an applier stops applying, and refuses to change
another manager's field (409 with a cause per field) unless forced.  Writes that are no
apply record ``Update`` entries and take the fields they change.  Hostile bodies are 4xx
and write nothing."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import pytest
from apiharness import Api, make_api, rejected

from jetkube.schemas.registry import by_plural
from jetkube.services.apiserver import apply as apply_module
from jetkube.services.apiserver import managedfields
from jetkube.services.apiserver.fieldset import difference, intersection, union
from jetkube.services.machinery.apimachinery import apierrors

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
WEB = f"{DEPLOYS}/web"


def config(replicas: int | None = 2, image: str = "nginx:1.25", *,
           labels: dict[str, str] | None = None, env: list[dict[str, str]] | None = None,
           containers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A Deployment as an applier would write it (only what it has an opinion on)."""
    container: dict[str, Any] = {"name": "web", "image": image, "args": ["-g", "daemon off;"],
                                 "ports": [{"containerPort": 80}]}
    if env is not None:
        container["env"] = env
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": {"containers": [container, *(containers or [])]}}}
    if replicas is not None:
        spec["replicas"] = replicas
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": labels or {"app": "web"}}, "spec": spec}


async def send(api: Api, method: str, path: str, body: Any, *, ctype: str = APPLY,
               query: dict[str, str] | None = None, user_agent: str | None = None
               ) -> tuple[int, Any]:
    """One request through the front door with the headers a client sends."""
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    headers = {"content-type": ctype}
    if user_agent is not None:
        headers["user-agent"] = user_agent
    try:
        res = await api.front.serve_http(method, path, query or {}, raw, headers)
    except apierrors.ApiError as err:
        return err.code, err.to_status()
    return res.code, orjson.loads(res.body)


async def applied(api: Api, body: Any, manager: str, code: int = 200, *,
                  path: str = WEB, **query: str) -> dict[str, Any]:
    got, out = await send(api, "PATCH", path, body, query={"fieldManager": manager, **query})
    assert got == code, out
    return dict(out)


def entries(obj: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """managedFields by (manager, operation)."""
    return {(e.get("manager", ""), e["operation"]): e for e in obj["metadata"]["managedFields"]}


def fields(obj: dict[str, Any], manager: str, op: str = "Apply") -> dict[str, Any]:
    return dict(entries(obj)[(manager, op)]["fieldsV1"])


def container(obj: dict[str, Any], name: str = "web") -> dict[str, Any]:
    found = [c for c in obj["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    assert len(found) == 1, obj["spec"]["template"]["spec"]["containers"]
    return dict(found[0])


@pytest.fixture
async def api() -> Api:
    return await make_api()


# --- create, re-apply, remove ------------------------------------------------------

async def test_apply_creates_and_owns_exactly_the_applied_fields(api: Api) -> None:
    out = await applied(api, config(), "alice", 201)
    assert out["spec"]["replicas"] == 2 and container(out)["image"] == "nginx:1.25"
    assert out["spec"]["strategy"]["type"] == "RollingUpdate"  # defaulted, owned by nobody
    [entry] = out["metadata"]["managedFields"]
    assert {k: entry[k] for k in ("manager", "operation", "apiVersion", "fieldsType")} == {
        "manager": "alice", "operation": "Apply", "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1"}
    assert entry["time"].endswith("Z")
    web = {".": {}, "f:name": {}, "f:image": {}, "f:args": {},  # an atomic list: one leaf
           "f:ports": {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}}
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:replicas": {}, "f:selector": {},  # a LabelSelector is atomic
                   "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                                  "f:spec": {"f:containers": {'k:{"name":"web"}': web}}}}}
    assert (await api.ok("GET", WEB))["metadata"]["managedFields"] == out["metadata"][
        "managedFields"]


async def test_apply_again_unchanged_writes_nothing(api: Api) -> None:
    first = await applied(api, config(), "alice", 201)
    rev = await api.store.current_revision()
    again = await applied(api, config(), "alice")
    assert await api.store.current_revision() == rev, "an apply that changes nothing wrote"
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    assert again["metadata"]["managedFields"] == first["metadata"]["managedFields"]


async def test_a_field_the_applier_stops_applying_is_removed(api: Api) -> None:
    await applied(api, config(labels={"app": "web", "tier": "front"},
                              env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                              containers=[{"name": "sidecar", "image": "busybox"}]), "alice", 201)
    out = await applied(api, config(labels={"app": "web"}, env=[{"name": "A", "value": "1"}]),
                        "alice")
    assert out["metadata"]["labels"] == {"app": "web"}
    assert container(out)["env"] == [{"name": "A", "value": "1"}]
    assert [c["name"] for c in out["spec"]["template"]["spec"]["containers"]] == ["web"]
    owned = fields(out, "alice")
    assert owned["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert set(owned["f:spec"]["f:template"]["f:spec"]["f:containers"]) == {'k:{"name":"web"}'}
    # a dropped replicas count is no longer set by anyone: its default comes back
    assert (await applied(api, config(replicas=None), "alice"))["spec"]["replicas"] == 1


async def test_a_field_another_manager_owns_too_is_kept(api: Api) -> None:
    await applied(api, config(labels={"app": "web", "team": "a"}), "alice", 201)
    same = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"team": "a"}}}
    await applied(api, same, "bob")  # the same value: shared, no conflict
    out = await applied(api, config(labels={"app": "web"}), "alice")
    assert out["metadata"]["labels"] == {"app": "web", "team": "a"}
    assert fields(out, "bob") == {"f:metadata": {"f:labels": {"f:team": {}}}}


# --- sharing, conflicts, force --------------------------------------------------------

async def test_two_managers_applying_the_same_value_share_the_field(api: Api) -> None:
    await applied(api, config(replicas=3), "alice", 201)
    out = await applied(api, {"apiVersion": "apps/v1", "kind": "Deployment",
                              "metadata": {"name": "web"}, "spec": {"replicas": 3}}, "bob")
    assert "f:replicas" in fields(out, "alice")["f:spec"]
    assert fields(out, "bob") == {"f:spec": {"f:replicas": {}}}
    # a shared field changed by one of them is a conflict with the other
    got, st = await send(api, "PATCH", WEB, config(replicas=4), query={"fieldManager": "alice"})
    assert got == 409 and st["message"] == (
        'Apply failed with 1 conflict: conflict with "bob": .spec.replicas'), st


async def test_a_conflict_is_409_with_a_cause_per_field_and_writes_nothing(api: Api) -> None:
    await applied(api, config(), "alice", 201)
    rev = await api.store.current_revision()
    got, st = await send(api, "PATCH", WEB, config(replicas=5), query={"fieldManager": "bob"})
    assert got == 409 and st["reason"] == "Conflict", st
    assert st["message"] == 'Apply failed with 1 conflict: conflict with "alice": .spec.replicas'
    assert st["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                        "message": 'conflict with "alice"',
                                        "field": ".spec.replicas"}]
    got, st = await send(api, "PATCH", WEB, config(replicas=5, image="nginx:2"),
                         query={"fieldManager": "bob"})
    assert got == 409 and st["message"] == (
        'Apply failed with 2 conflicts: conflicts with "alice":\n'
        '- .spec.replicas\n'
        '- .spec.template.spec.containers[name="web"].image'), st
    assert [c["field"] for c in st["details"]["causes"]] == [
        ".spec.replicas", '.spec.template.spec.containers[name="web"].image']
    assert await api.store.current_revision() == rev


async def test_force_moves_the_conflicting_fields_to_the_applier(api: Api) -> None:
    await applied(api, config(), "alice", 201)
    out = await applied(api, config(replicas=5), "bob", force="true")
    assert out["spec"]["replicas"] == 5
    assert "f:replicas" not in fields(out, "alice")["f:spec"]
    assert "f:replicas" in fields(out, "bob")["f:spec"]
    # bob shares what it applied unchanged
    assert 'k:{"name":"web"}' in fields(out, "alice")["f:spec"]["f:template"]["f:spec"][
        "f:containers"]


async def test_an_update_takes_the_field_and_a_later_apply_conflicts_with_it(api: Api) -> None:
    await applied(api, config(), "alice", 201)
    got, out = await send(api, "PATCH", WEB, {"spec": {"replicas": 4}}, ctype=MERGE,
                          query={"fieldManager": "carol"})
    assert got == 200, out
    assert fields(out, "carol", "Update") == {"f:spec": {"f:replicas": {}}}
    assert "f:replicas" not in fields(out, "alice")["f:spec"]
    got, st = await send(api, "PATCH", WEB, config(replicas=2), query={"fieldManager": "alice"})
    assert got == 409, st
    assert st["message"] == (
        'Apply failed with 1 conflict: conflict with "carol" using apps/v1: .spec.replicas')
    assert st["details"]["causes"][0]["message"] == 'conflict with "carol" using apps/v1'
    # applying the value carol set is no conflict: shared
    out = await applied(api, config(replicas=4), "alice")
    assert "f:replicas" in fields(out, "alice")["f:spec"]


async def test_an_update_removing_an_applied_field_takes_it_from_the_applier(api: Api) -> None:
    await applied(api, config(labels={"app": "web", "x": "1"}), "alice", 201)
    got, out = await send(api, "PATCH", WEB, {"metadata": {"labels": {"x": None}}},
                          ctype=MERGE, query={"fieldManager": "carol"})
    assert got == 200 and out["metadata"]["labels"] == {"app": "web"}
    assert fields(out, "alice")["f:metadata"] == {"f:labels": {"f:app": {}}}
    assert ("carol", "Update") not in entries(out)  # it owns nothing it removed


# --- Update entries ---------------------------------------------------------------

async def test_create_update_and_status_record_update_entries(api: Api) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "1"}}
    cms = "/api/v1/namespaces/default/configmaps"
    got, out = await send(api, "POST", cms, body, ctype="application/json",
                          user_agent="kubectl/v1.37.0 (linux/amd64) kubernetes/abc")
    assert got == 201, out
    [entry] = out["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl" and entry["operation"] == "Update"  # the UA's prefix
    assert entry["apiVersion"] == "v1" and entry["fieldsV1"] == {"f:data": {".": {}, "f:a": {}}}
    body = {**out, "data": {"a": "1", "b": "2"}}
    got, out = await send(api, "PUT", f"{cms}/c", body, ctype="application/json",
                          query={"fieldManager": "kubectl-edit"})
    assert got == 200, out
    assert fields(out, "kubectl-edit", "Update") == {"f:data": {"f:b": {}}}
    assert fields(out, "kubectl", "Update") == {"f:data": {".": {}, "f:a": {}}}
    # no change: nothing written, no entry
    rev = await api.store.current_revision()
    got, same = await send(api, "PUT", f"{cms}/c", out, ctype="application/json",
                           query={"fieldManager": "someone"})
    assert got == 200 and await api.store.current_revision() == rev
    assert same["metadata"]["managedFields"] == out["metadata"]["managedFields"]

    await applied(api, config(), "alice", 201)
    status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "status": {"replicas": 2, "conditions": [
                  {"type": "Available", "status": "True"}]}}
    got, out = await send(api, "PATCH", f"{WEB}/status", status, ctype=MERGE,
                          user_agent="kube-controller-manager/v1.37")
    assert got == 200, out
    kcm = entries(out)[("kube-controller-manager", "Update")]
    assert kcm["subresource"] == "status"
    # (status is a struct a Go object always has: never "." itself; the list is)
    assert kcm["fieldsV1"] == {"f:status": {"f:replicas": {}, "f:conditions": {
        ".": {}, 'k:{"type":"Available"}': {".": {}, "f:type": {}, "f:status": {}}}}}


async def test_status_written_through_the_main_resource_is_owned_by_nobody(api: Api) -> None:
    cfg = {**config(), "status": {"replicas": 9}}
    out = await applied(api, cfg, "alice", 201)
    assert "status" not in out or out["status"].get("replicas") != 9
    assert "f:status" not in fields(out, "alice")


async def test_apply_to_the_status_subresource_owns_status_only(api: Api) -> None:
    await applied(api, config(), "alice", 201)
    status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
              "spec": {"replicas": 7}, "status": {"observedGeneration": 1, "replicas": 2}}
    out = await applied(api, status, "ctrl", path=f"{WEB}/status")
    assert out["status"]["replicas"] == 2 and out["spec"]["replicas"] == 2
    entry = entries(out)[("ctrl", "Apply")]
    assert entry["subresource"] == "status"
    assert entry["fieldsV1"] == {"f:status": {"f:observedGeneration": {}, "f:replicas": {}}}


async def test_objects_without_entries_give_their_fields_to_before_first_apply(api: Api) -> None:
    # the API server's own writes (and objects stored before this bookkeeping) have none
    rt = by_plural("apps", "deployments")
    assert rt is not None
    made = await api.front.handlers.create(rt, "default", config())
    assert "managedFields" not in made["metadata"]
    got, out = await send(api, "PATCH", WEB, {"metadata": {"labels": {"x": "y"}}}, ctype=MERGE,
                          query={"fieldManager": "carol"})
    assert got == 200 and "managedFields" not in out["metadata"]  # updates do not start it
    got, st = await send(api, "PATCH", WEB, config(replicas=3), query={"fieldManager": "alice"})
    assert got == 409 and st["message"] == ('Apply failed with 1 conflict: conflict with '
                                            '"before-first-apply" using apps/v1: .spec.replicas')
    out = await applied(api, config(replicas=2), "alice")
    assert set(entries(out)) == {("alice", "Apply"), ("before-first-apply", "Update")}


async def test_a_set_of_finalizers_merges_item_by_item(api: Api) -> None:
    def fin(name: str) -> dict[str, Any]:
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "web", "finalizers": [name]}}
    await applied(api, config(), "alice", 201)
    await applied(api, fin("example.com/a"), "a")
    out = await applied(api, fin("example.com/b"), "b")
    assert out["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]
    assert fields(out, "b") == {"f:metadata": {"f:finalizers": {'v:"example.com/b"': {}}}}
    out = await applied(api, {**fin("x"), "metadata": {"name": "web"}}, "a")
    assert out["metadata"]["finalizers"] == ["example.com/b"]


async def test_update_managers_past_ten_are_merged_into_ancient_changes(api: Api) -> None:
    await applied(api, config(), "alice", 201)
    for i in range(12):
        got, out = await send(api, "PATCH", WEB, {"metadata": {"labels": {f"l{i}": "x"}}},
                              ctype=MERGE, query={"fieldManager": f"m{i}"})
        assert got == 200, out
    updaters = [e for e in out["metadata"]["managedFields"] if e["operation"] == "Update"]
    assert len(updaters) == 10
    ancient = [e for e in updaters if e["manager"] == "ancient-changes"]
    assert len(ancient) == 1 and len(ancient[0]["fieldsV1"]["f:metadata"]["f:labels"]) == 3
    owned = [label for e in updaters for label in e["fieldsV1"]["f:metadata"]["f:labels"]]
    assert sorted(owned) == sorted(f"f:l{i}" for i in range(12))  # nothing lost
    assert out["metadata"]["managedFields"][0]["operation"] == "Apply"  # Apply entries first


# --- the request ----------------------------------------------------------------------

async def test_yaml_bodies_are_applied(api: Api) -> None:
    body = (b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n"
            b"data: {a: '1'}\n")
    out = await applied(api, body, "yamler", 201, path="/api/v1/namespaces/default/configmaps/y")
    assert out["data"] == {"a": "1"}
    assert fields(out, "yamler") == {"f:data": {"f:a": {}}}


async def test_dry_run_answers_and_writes_nothing(api: Api) -> None:
    rev = await api.store.current_revision()
    out = await applied(api, config(), "alice", 201, dryRun="All")
    assert out["metadata"]["managedFields"][0]["manager"] == "alice"
    assert await api.store.current_revision() == rev
    code, _ = await api.call("GET", WEB)
    assert code == 404
    await applied(api, config(), "alice", 201)
    rev = await api.store.current_revision()
    out = await applied(api, config(replicas=6), "alice", dryRun="All")
    assert out["spec"]["replicas"] == 6
    assert await api.store.current_revision() == rev
    assert (await api.ok("GET", WEB))["spec"]["replicas"] == 2


async def test_an_apply_without_field_manager_is_422_as_kubernetes(api: Api) -> None:
    st = await rejected(api, "PATCH", WEB, config(), 422, reason="Invalid", content_type=APPLY,
                        count_path=DEPLOYS)
    assert st["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required '
                             'value: is required for apply patch')
    assert st["details"] == {"group": "meta.k8s.io", "kind": "PatchOptions", "causes": [
        {"reason": "FieldValueRequired", "field": "fieldManager",
         "message": "Required value: is required for apply patch"}]}


async def test_force_on_another_patch_and_bad_managers_are_422(api: Api) -> None:
    await applied(api, config(), "alice", 201)
    rev = await api.store.current_revision()
    for ctype in (MERGE, "application/json-patch+json",
                  "application/strategic-merge-patch+json"):
        got, st = await send(api, "PATCH", WEB, {} if ctype != "application/json-patch+json"
                             else [], ctype=ctype, query={"force": "false"})
        assert got == 422 and st["message"] == (
            'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified '
            'for non-apply patch'), st
    got, st = await send(api, "PATCH", WEB, config(), query={"fieldManager": "x" * 129})
    assert got == 422 and "fieldManager: Too long: may not be more than 128 bytes" in st[
        "message"], st
    got, st = await send(api, "POST", DEPLOYS, config(), ctype="application/json",
                         query={"fieldManager": "a\x07b"})
    assert got == 422 and st["details"]["kind"] == "CreateOptions", st
    assert "invalid character U+0007 (at position 1)" in st["message"]
    assert await api.store.current_revision() == rev


@pytest.mark.parametrize(("body", "code", "text"), [
    (b"[1, 2]", 400, "must be an object, not array"),
    (b"just text", 400, "must be an object, not string"),
    (b"{a: [}", 400, ""),
    (orjson.dumps({**config(), "apiVersion": "apps/v2"}), 400,
     "Specified patch version: apps/v2, expected: apps/v1"),
    (orjson.dumps({k: v for k, v in config().items() if k != "kind"}), 400,
     "Specified patch kind: , expected: Deployment"),
    (orjson.dumps({**config(), "metadata": {"name": "web", "managedFields": []}}), 400,
     "metadata.managedFields must be nil"),
    (orjson.dumps({**config(), "metadata": {"name": "other"}}), 400,
     "does not match the name on the URL"),
    (orjson.dumps({**config(), "metadata": {"name": "web", "namespace": "kube-system"}}), 400,
     "namespace of the provided object does not match"),
    (orjson.dumps(config(replicas="three")), 400, "replicas"),  # type: ignore[arg-type]
    (orjson.dumps({**config(), "spec": "x"}), 422, "spec"),
    (orjson.dumps({**config(), "metadata": 7}), 422, "metadata"),
    (orjson.dumps(config(containers=[{"name": "web", "image": "x"}])), 422,
     'duplicate entries for key [name="web"]'),
    (orjson.dumps(config(containers=[{"image": "x"}])), 422,
     'omits key field "name"'),
    (orjson.dumps(config(containers=[{"name": {"a": 1}, "image": "x"}])), 422,
     "key fields of an item must be scalars"),
    (b"{" * 200 + b"}" * 200, 400, ""),
    (b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}', 413, ""),
    (b"a: &a [1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
     b"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
     b"e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n", 400,
     "more than 250000 fields and elements"),
])
async def test_hostile_apply_bodies_are_4xx_and_write_nothing(
        api: Api, body: bytes, code: int, text: str) -> None:
    await applied(api, config(), "alice", 201)
    rev = await api.store.current_revision()
    # (forced: a conflict would otherwise come first, as in Kubernetes)
    got, st = await send(api, "PATCH", WEB, body, query={"fieldManager": "mallory",
                                                          "force": "true"})
    assert got == code, st
    assert st["kind"] == "Status" and text in st["message"], st
    assert await api.store.current_revision() == rev
    # creating by apply is refused the same way
    got, st = await send(api, "PATCH", f"{DEPLOYS}/nothere", body,
                         query={"fieldManager": "mallory"})
    assert 400 <= got < 500, st
    assert await api.store.current_revision() == rev


async def test_a_big_apply_merges_and_prunes_thousands_of_items(api: Api) -> None:
    env = [{"name": f"E{i}", "value": str(i)} for i in range(3000)]
    out = await applied(api, config(env=env), "alice", 201)
    assert len(container(out)["env"]) == 3000
    out = await applied(api, config(env=env[:10]), "alice")
    assert len(container(out)["env"]) == 10


def test_user_agents_become_managers_as_kubernetes_derives_them() -> None:
    assert managedfields._prefix("kubectl/v1.37.0 (linux/amd64) kubernetes/abc") == "kubectl"
    assert managedfields._prefix("OpenAPI-Generator/37.0.2/python") == "OpenAPI-Generator"
    assert managedfields._prefix("") == ""
    assert managedfields._prefix("a\x00b/c") == "ab"
    assert managedfields._prefix("é" * 100) == "é" * 64  # 128 bytes at most
    assert managedfields.bus_agent("node:worker-1") == "kubelet"
    assert managedfields.bus_agent("kube-controller-manager") == "kube-controller-manager"


def test_field_sets_are_sets() -> None:
    a = {"f:spec": {"f:replicas": {}, "f:template": {"f:x": {}}}}
    b = {"f:spec": {"f:replicas": {}, "f:selector": {}}}
    item = {'k:{"name":"w"}': {".": {}, "f:image": {}}}
    assert union(a, b) == {"f:spec": {"f:replicas": {}, "f:template": {"f:x": {}},
                                      "f:selector": {}}}
    assert difference(a, b) == {"f:spec": {"f:template": {"f:x": {}}}}
    assert intersection(a, b) == {"f:spec": {"f:replicas": {}}}
    assert difference(item, {'k:{"name":"w"}': {"f:image": {}}}) == {'k:{"name":"w"}': {}}
    assert difference(item, {'k:{"name":"w"}': {}}) == {'k:{"name":"w"}': {"f:image": {}}}
    assert union({'k:{"name":"w"}': {}}, {'k:{"name":"w"}': {"f:a": {}}}) == {
        'k:{"name":"w"}': {".": {}, "f:a": {}}}
    assert difference(a, {}) is a and union(a, {}) is a


@pytest.mark.parametrize("keys", [4000, 2])
async def test_bookkeeping_of_a_big_object_runs_in_the_worker_thread(
        api: Api, monkeypatch: pytest.MonkeyPatch, keys: int) -> None:
    loop_thread = threading.get_ident()
    threads: dict[str, list[int]] = {}

    def spy(name: str, real: Any) -> Any:
        def wrapped(*args: Any) -> Any:
            if name == "apply" or args[-1] is None:  # (an apply's entries are only set)
                threads.setdefault(name, []).append(threading.get_ident())
            return real(*args)
        return wrapped

    for name in ("on_create", "on_update"):
        monkeypatch.setattr(managedfields, name, spy(name, getattr(managedfields, name)))
    monkeypatch.setattr(apply_module, "apply", spy("apply", apply_module.apply))
    data = {f"k{i:05d}": "v" * 20 for i in range(keys)}
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": data}
    path = "/api/v1/namespaces/default/configmaps"
    got, out = await send(api, "POST", path, cm, ctype="application/json",
                          query={"fieldManager": "maker"})
    assert got == 201 and len(fields(out, "maker", "Update")["f:data"]) == keys + 1, out
    got, out = await send(api, "PATCH", f"{path}/big", {"data": {"new": "x"}}, ctype=MERGE,
                          query={"fieldManager": "patcher"})
    assert got == 200 and fields(out, "patcher", "Update") == {"f:data": {"f:new": {}}}
    out = await applied(api, {**cm, "data": {"k00000": "v" * 20}}, "applier", path=f"{path}/big")
    assert fields(out, "applier") == {"f:data": {"f:k00000": {}}}
    away = keys > 2
    for name, seen in threads.items():
        assert seen and all((t != loop_thread) == away for t in seen), (name, seen)


async def test_a_list_named_like_a_keyed_one_but_without_its_key_is_atomic(api: Api) -> None:
    # Endpoints' addresses carry an ip, not the type of a Node's addresses
    body = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "svc"},
            "subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}
    out = await applied(api, body, "ep", 201, path="/api/v1/namespaces/default/endpoints/svc")
    assert out["subsets"][0]["addresses"] == [{"ip": "10.0.0.1"}]
    assert fields(out, "ep") == {"f:subsets": {}}  # subsets is atomic


async def test_an_apply_to_a_name_differing_only_in_underscore_creates_its_own_object(
        api: Api) -> None:
    # a Role may be named with any path segment; ``a.b`` and ``a_b`` are two store keys
    roles = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": "a.b", "labels": {"k": "v"}}, "rules": []}
    await api.ok("POST", roles, role)
    body = {**role, "metadata": {"name": "a_b", "labels": {"k": "other"}}}
    got, st = await send(api, "PATCH", f"{roles}/a_b", body, query={"fieldManager": "x"})
    assert got == 201 and st["metadata"]["name"] == "a_b", st
    assert (await api.ok("GET", f"{roles}/a.b"))["metadata"]["labels"] == {"k": "v"}
    assert (await api.ok("GET", f"{roles}/a_b"))["metadata"]["labels"] == {"k": "other"}


async def test_ports_are_keyed_by_port_and_protocol_as_in_kubernetes(api: Api) -> None:
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "dns"},
           "spec": {"selector": {"k8s-app": "dns"}, "ports": [
               {"name": "dns", "port": 53, "protocol": "UDP"},
               {"name": "dns-tcp", "port": 53}]}}  # TCP by default
    out = await applied(api, svc, "dns", 201, path="/api/v1/namespaces/default/services/dns")
    assert [p["protocol"] for p in out["spec"]["ports"]] == ["UDP", "TCP"]
    assert set(fields(out, "dns")["f:spec"]["f:ports"]) == {
        'k:{"port":53,"protocol":"UDP"}', 'k:{"port":53,"protocol":"TCP"}'}
