"""Server-side Tables, as kube-apiserver answers ``kubectl get``: with ``Accept:
application/json;as=Table;v=v1;g=meta.k8s.io`` a get, list or watch is a ``meta.k8s.io/v1``
Table whose columns are the kind's printer's (the one kctl prints with: the ``-o wide``
ones at priority 1), whose cells are what kctl prints for the same objects (typed: counts
as integers), and whose rows carry the object ``?includeObject`` asks for.  A kind without
a printer gets kube-apiserver's default table (Name, Created At).  A watch's events are
Tables of one row, the columns in the first only.  Asking only for what is not served is
406 NotAcceptable; without the header, or with plain JSON in it, nothing changes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from apiharness import Api, deploy, make_api, pod
from faces import asgi_request

from jetkube.services.apiserver.http import HttpApp
from jetkube.services.apiserver.response import Response, WatchResponse
from jetkube.services.apiserver.tables import negotiate
from jetkube.services.apiserver.watchstream import watch_lines
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.printers import _rows, _timefmt, printer_for

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
KUBECTL = f"{TABLE},application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
PODS = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
SERVICES = "/api/v1/namespaces/default/services"
NODES = "/api/v1/nodes"
QUOTAS = "/api/v1/namespaces/default/resourcequotas"
EVENTS = "/api/v1/namespaces/default/events"


AGE = "364d"
"""The age of every object created during a test: the clock stands a year later."""


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The printers' clock stands still, a year after the test starts: the server's ages
    and kctl's are the same (``364d``, however long the test runs)."""
    later = datetime.now(UTC) + timedelta(days=364, hours=12)
    monkeypatch.setattr(_timefmt, "now", lambda: later)
    monkeypatch.setattr(_rows, "now", lambda: later)


async def get(api: Api, path: str, accept: str | None = KUBECTL,
              **query: str) -> tuple[int, Any]:
    """GET through the front door with ``accept``: code, decoded JSON (or the watch)."""
    headers = {} if accept is None else {"accept": accept}
    try:
        res = await api.front.serve_http("GET", path, query, b"", headers)
    except apierrors.ApiError as err:
        return err.code, err.to_status()
    if isinstance(res, WatchResponse):
        return 200, res
    assert isinstance(res, Response) and res.content_type == "application/json"
    return res.code, orjson.loads(res.body)


async def populated() -> Api:
    """A pod Running on a node, a Deployment with status, two Services, a Node."""
    api = await make_api()
    await api.ok("POST", NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "n1", "labels": {"node-role.kubernetes.io/control-plane": ""}}})
    node = await api.ok("GET", f"{NODES}/n1")
    node["status"] = {
        "conditions": [{"type": "Ready", "status": "True"}],
        "addresses": [{"type": "InternalIP", "address": "10.0.0.5"}],
        "nodeInfo": {"kubeletVersion": "v1.31.0", "osImage": "Debian", "kernelVersion": "6.1",
                     "containerRuntimeVersion": "sim://1"}}
    await api.ok("PUT", f"{NODES}/n1/status", node)
    web = await api.ok("POST", PODS, pod("web", {"app": "web"}, nodeName="n1"))
    web["status"] = {"phase": "Running", "podIP": "10.1.0.7", "containerStatuses": [
        {"name": "c", "ready": True, "restartCount": 3, "image": "busybox:1.36",
         "imageID": "", "state": {"running": {"startedAt": "2024-01-01T00:00:00Z"}}}]}
    await api.ok("PUT", f"{PODS}/web/status", web)
    await api.ok("POST", PODS, pod("idle"))
    await api.ok("POST", DEPLOYS, deploy("d", 3))
    d = await api.ok("GET", f"{DEPLOYS}/d")
    d["status"] = {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3,
                   "availableReplicas": 2}
    await api.ok("PUT", f"{DEPLOYS}/d/status", d)
    await api.ok("POST", SERVICES, {"apiVersion": "v1", "kind": "Service",
                                    "metadata": {"name": "web"}, "spec": {
                                        "selector": {"app": "web"}, "ports": [{"port": 80}]}})
    await api.ok("POST", SERVICES, {"apiVersion": "v1", "kind": "Service",
                                    "metadata": {"name": "np"}, "spec": {
                                        "type": "NodePort", "ports": [{"port": 81}]}})
    await api.ok("POST", QUOTAS, {"apiVersion": "v1", "kind": "ResourceQuota",
                                  "metadata": {"name": "q"}, "spec": {"hard": {"pods": "9"}}})
    return api


def texts(cells: list[Any]) -> list[str]:
    """Cells as kubectl prints them (``%v``)."""
    return [str(c).lower() if isinstance(c, bool) else str(c) for c in cells]


def check_table(table: dict[str, Any], kind: str, objs: list[dict[str, Any]]) -> None:
    """``table`` has the printer's columns and, for each object, kctl's cells."""
    printer = printer_for(kind)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    cols = table["columnDefinitions"]
    assert [c["name"].upper() for c in cols] == printer.columns(True)  # -o wide's headers
    shown = [c["name"].upper() for c in cols if c["priority"] == 0]
    assert shown == printer.columns(False)  # what kubectl shows without -o wide
    for c in cols:
        assert set(c) == {"name", "type", "format", "description", "priority"}
        assert c["type"] in ("string", "integer", "number", "boolean", "date") and c["description"]
    assert [c["format"] for c in cols].count("name") == 1
    assert len(table["rows"]) == len(objs)
    for row, obj in zip(table["rows"], objs, strict=True):
        assert texts(row["cells"]) == printer.cells(obj, True), kind  # kctl -o wide's cells
        normal = [cell for cell, c in zip(row["cells"], cols, strict=True) if c["priority"] == 0]
        if not printer.wide_replaces:
            assert texts(normal) == printer.cells(obj, False)  # kctl get's cells
        assert row["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                 "metadata": obj["metadata"]}


@pytest.mark.parametrize(("path", "kind"), [
    (PODS, "Pod"), (DEPLOYS, "Deployment"), (SERVICES, "Service"), (NODES, "Node")])
async def test_a_list_is_a_table_of_the_printers_columns_and_kctls_cells(
        path: str, kind: str) -> None:
    api = await populated()
    listed = await api.ok("GET", path)
    code, table = await get(api, path)
    assert code == 200, table
    check_table(table, kind, listed["items"])
    assert table["metadata"] == {"resourceVersion": listed["metadata"]["resourceVersion"]}


@pytest.mark.parametrize(("path", "kind"), [
    (f"{PODS}/web", "Pod"), (f"{DEPLOYS}/d", "Deployment"), (f"{SERVICES}/np", "Service"),
    (f"{NODES}/n1", "Node")])
async def test_a_get_is_a_table_of_one_row(path: str, kind: str) -> None:
    api = await populated()
    obj = await api.ok("GET", path)
    code, table = await get(api, path)
    assert code == 200, table
    check_table(table, kind, [obj])
    assert table["metadata"] == {"resourceVersion": obj["metadata"]["resourceVersion"]}


async def test_cells_are_typed_and_wide_columns_have_priority_1() -> None:
    api = await populated()
    _, pods = await get(api, f"{PODS}/web")
    cols = {c["name"]: c for c in pods["columnDefinitions"]}
    assert [n for n, c in cols.items() if c["priority"] == 1] == [
        "IP", "Node", "Nominated Node", "Readiness Gates"]
    assert cols["Name"]["format"] == "name" and cols["Restarts"]["type"] == "string"
    assert pods["rows"][0]["cells"] == [
        "web", "1/1", "Running", "3", AGE, "10.1.0.7", "n1", "<none>", "<none>"]
    _, d = await get(api, f"{DEPLOYS}/d")
    assert d["rows"][0]["cells"][:5] == ["d", "2/3", 3, 2, AGE]  # int64 cells, as Kubernetes
    _, nodes = await get(api, NODES)
    assert nodes["rows"][0]["cells"] == [
        "n1", "Ready", "control-plane", AGE, "v1.31.0", "10.0.0.5", "<none>", "Debian",
        "6.1", "sim://1"]
    assert [c["priority"] for c in nodes["columnDefinitions"]] == [0] * 5 + [1] * 5
    _, svc = await get(api, f"{SERVICES}/np")
    cells = svc["rows"][0]["cells"]
    assert cells[1] == "NodePort" and cells[4].startswith("81:") and cells[6] == "<none>"
    assert svc["columnDefinitions"][6] == {
        "name": "Selector", "type": "string", "format": "", "priority": 1,
        "description": svc["columnDefinitions"][6]["description"]}


async def test_a_kind_without_a_printer_gets_name_and_created_at() -> None:
    api = await populated()
    q = await api.ok("GET", f"{QUOTAS}/q")
    _, table = await get(api, QUOTAS)
    assert [(c["name"], c["type"], c["format"]) for c in table["columnDefinitions"]] == [
        ("Name", "string", "name"), ("Created At", "date", "")]
    assert table["rows"][0]["cells"] == ["q", q["metadata"]["creationTimestamp"]]


async def test_events_are_converted_wide_as_kube_apiserver_does() -> None:
    """kube-apiserver's table convertor always prints "wide": LAST SEEN is the plain age
    (kctl's own ``get events`` says ``(x3 over …)``), COUNT an int64 at priority 1."""
    api = await make_api()
    await api.ok("POST", EVENTS, {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e1"},
        "involvedObject": {"kind": "Pod", "name": "web"}, "reason": "Pulled", "type": "Normal",
        "message": "pulled", "count": 3, "firstTimestamp": "2024-01-01T00:00:00Z",
        "lastTimestamp": "2024-01-01T00:00:00Z", "source": {"component": "kubelet"}})
    ev = await api.ok("GET", f"{EVENTS}/e1")
    _, table = await get(api, f"{EVENTS}/e1")
    cols = table["columnDefinitions"]
    assert [(c["name"], c["priority"]) for c in cols] == [
        ("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", 1),
        ("Source", 1), ("Message", 0), ("First Seen", 1), ("Count", 1), ("Name", 1)]
    assert texts(table["rows"][0]["cells"]) == printer_for("Event").cells(ev, True)
    assert table["rows"][0]["cells"][8] == 3


@pytest.mark.parametrize("include", ["Metadata", "Object", "None", ""])
async def test_include_object_picks_the_rows_object(include: str) -> None:
    api = await populated()
    web = await api.ok("GET", f"{PODS}/web")
    _, table = await get(api, f"{PODS}/web", includeObject=include)
    got = table["rows"][0]["object"]
    if include == "Object":
        assert got == web
    elif include == "None":
        assert got is None
    else:
        assert got == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": web["metadata"]}
    _, listed = await get(api, PODS, includeObject=include)
    assert [r["object"] is None for r in listed["rows"]] == [include == "None"] * 2


async def test_an_unknown_include_object_is_400_only_for_a_table() -> None:
    api = await populated()
    code, st = await get(api, PODS, includeObject="All")
    assert code == 400 and st["reason"] == "BadRequest"
    assert st["message"] == ("Unable to convert to Table as requested: includeObject: Invalid "
                             "value: \"All\": must be 'Metadata', 'Object', 'None', or empty")
    code, plain = await get(api, PODS, accept=None, includeObject="All")
    assert code == 200 and plain["kind"] == "PodList"


async def test_v1beta1_is_answered_in_v1beta1() -> None:
    api = await populated()
    _, table = await get(api, f"{PODS}/web", accept="application/json;as=Table;g=meta.k8s.io;"
                                                    "v=v1beta1")
    assert table["apiVersion"] == "meta.k8s.io/v1beta1"
    assert table["rows"][0]["object"]["apiVersion"] == "meta.k8s.io/v1beta1"


async def test_a_paged_list_carries_its_continue_token() -> None:
    api = await populated()
    listed = await api.ok("GET", PODS, query={"limit": "1"})
    _, table = await get(api, PODS, limit="1")
    assert table["metadata"] == listed["metadata"] and "continue" in table["metadata"]
    assert len(table["rows"]) == 1


async def test_the_status_subresource_and_a_finished_pods_row_conditions() -> None:
    api = await populated()
    web = await api.ok("GET", f"{PODS}/web")
    web["status"]["phase"] = "Succeeded"
    await api.ok("PUT", f"{PODS}/web/status", web)
    _, table = await get(api, f"{PODS}/web/status")
    assert table["kind"] == "Table" and table["rows"][0]["cells"][0] == "web"
    assert table["rows"][0]["conditions"] == [{
        "type": "Completed", "status": "True", "reason": "Succeeded",
        "message": "The pod has completed successfully."}]
    code, scale = await get(api, f"{DEPLOYS}/d/scale")  # no Table: JSON, the next range
    assert code == 200 and scale["kind"] == "Scale"


async def read(api: Api, w: WatchResponse, n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    async def run() -> None:
        lines = watch_lines(w, api.cache, bookmark_interval=3600.0)
        try:
            async for chunk in lines:
                out.extend(orjson.loads(line) for line in chunk.splitlines())
                if len(out) >= n:
                    return
        finally:
            await lines.aclose()

    await asyncio.wait_for(run(), 10)
    return out


async def test_a_watch_sends_tables_of_one_row_with_the_columns_first() -> None:
    api = await populated()
    listed = await api.ok("GET", PODS)
    _, w = await get(api, PODS, watch="1", resourceVersion=listed["metadata"]["resourceVersion"])
    assert isinstance(w, WatchResponse) and w.table is not None
    await api.ok("POST", PODS, pod("new"))
    await api.ok("DELETE", f"{PODS}/idle")
    events = await read(api, w, 2)
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]
    first, second = (e["object"] for e in events)
    assert first["kind"] == second["kind"] == "Table"
    check_table(first, "Pod", [await api.ok("GET", f"{PODS}/new")])
    assert second["columnDefinitions"] is None, "columns only in the first event"
    assert [r["cells"][0] for r in second["rows"]] == ["idle"]
    assert second["metadata"]["resourceVersion"] == (
        second["rows"][0]["object"]["metadata"]["resourceVersion"])


async def test_a_watch_list_sends_its_bookmark_as_a_table_too() -> None:
    """kube-apiserver converts every event's object, BOOKMARKs' included: the Table's
    resourceVersion is the bookmark's, its row's metadata keeps the end annotation."""
    api = await populated()
    _, w = await get(api, PODS, watch="1", sendInitialEvents="true",
                     resourceVersionMatch="NotOlderThan", allowWatchBookmarks="true")
    events = await read(api, w, 3)
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert events[0]["object"]["columnDefinitions"] is not None
    end = events[2]["object"]
    assert end["kind"] == "Table" and end["columnDefinitions"] is None
    md = end["rows"][0]["object"]["metadata"]
    assert md["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert end["metadata"]["resourceVersion"] == md["resourceVersion"]


@pytest.mark.parametrize("accept", [
    "application/json;as=Table;g=meta.k8s.io;v=v2", "application/vnd.kubernetes.protobuf",
    "application/yaml", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
    "application/json;as=Table;v=v1", "text/html", "application/json;q=0"])
async def test_asking_only_for_what_is_not_served_is_406(accept: str) -> None:
    api = await populated()
    code, st = await get(api, PODS, accept=accept)
    assert code == 406 and st["reason"] == "NotAcceptable", st
    assert st["message"] == (
        "only the following media types are accepted: application/json, "
        "application/json;as=Table;v=v1;g=meta.k8s.io, "
        "application/json;as=Table;v=v1beta1;g=meta.k8s.io")
    # a create is not answered with a Table: 406 naming JSON alone
    code, st = await create_with(api, TABLE)
    assert code == 406 and st["message"].endswith("accepted: application/json")


async def create_with(api: Api, accept: str) -> tuple[int, Any]:
    try:
        res = await api.front.serve_http("POST", PODS, {}, orjson.dumps(pod("x")),
                                         {"accept": accept})
    except apierrors.ApiError as err:
        return err.code, err.to_status()
    assert isinstance(res, Response)
    return res.code, orjson.loads(res.body)


@pytest.mark.parametrize("accept", [
    None, "", "application/json", "*/*", "application/*", "application/json, */*",
    "application/vnd.kubernetes.protobuf, application/json", "application/json;stream=watch",
    f"{TABLE};q=0.5, application/json", "application/json;charset=utf-8"])
async def test_plain_json_is_unchanged(accept: str | None) -> None:
    api = await populated()
    headers = {} if accept is None else {"accept": accept}
    before = await api.front.serve_http("GET", PODS, {}, b"", {})
    res = await api.front.serve_http("GET", PODS, {}, b"", headers)
    assert isinstance(res, Response) and isinstance(before, Response)
    assert res.body == before.body and orjson.loads(res.body)["kind"] == "PodList"


def test_negotiation_follows_q_values_and_wildcards() -> None:
    assert negotiate(KUBECTL, table=True) is not None
    assert negotiate(f"application/json, {TABLE}", table=True) is None  # first served wins
    assert negotiate(f"application/json;q=0.9, {TABLE}", table=True) is not None
    assert negotiate(f"{TABLE};q=0, application/json", table=True) is None
    star = negotiate("*/*;as=Table;g=meta.k8s.io;v=v1beta1", table=True)
    assert star is not None and star.version == "v1beta1" and star.include_object == "Metadata"
    assert negotiate("application/vnd.kubernetes.protobuf;q=1, application/json;q=0.1",
                     table=True) is None
    with pytest.raises(apierrors.ApiError) as err:
        negotiate("application/json;stream=other", table=True)
    assert err.value.code == 406


async def test_over_http_the_table_is_json_and_the_406_comes_after_authentication(
        tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,1,"system:masters"\n')
    api = await make_api(token_file=tokens)
    api.token = "admin-token"
    await api.ok("POST", PODS, pod("web"))
    app = HttpApp(api.front)
    auth = (b"authorization", b"Bearer admin-token")
    status, headers, body = await asgi_request(app, "GET", PODS, headers=[
        auth, (b"accept", KUBECTL.encode())])
    assert status == 200 and dict(headers)[b"content-type"] == b"application/json"
    assert orjson.loads(body)["rows"][0]["cells"][:3] == ["web", "0/1", "Pending"]
    status, _, body = await asgi_request(app, "GET", PODS, headers=[
        auth, (b"accept", b"application/vnd.kubernetes.protobuf")])
    assert status == 406 and orjson.loads(body)["reason"] == "NotAcceptable"
    status, _, _ = await asgi_request(app, "GET", PODS, headers=[
        (b"accept", b"application/vnd.kubernetes.protobuf")])
    assert status == 401, "authentication first, as kube-apiserver's filters"
