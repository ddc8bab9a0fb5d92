"""Batches whose lines name their objects over the NATS face (``Jetkube-Batch`` with
``Jetkube-Batch-Names``, natsbatch.py): the scheduler's binds (creates of
``pods/binding``) and the node agents' status writes (patches of ``pods/status``).  Each
line is served as its own request would be (authorized as the sender, its own store write
and revision, its own trace context); one failing leaves the others written; a batch
whose names or traceparents do not match its lines is refused whole, before anything is
written."""

from __future__ import annotations

from typing import Any

import orjson
from apiharness import Api, make_api

from jetkube.services.apiserver.natsface import handle
from jetkube.services.apiserver.request import ApiRequest

CREATE = "jetkube.api.{who}.create.core.v1.pods"
TP = "00-{:032x}-{:016x}-01"


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def binding(name: str, node: str = "n1") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}}


async def binds(api: Api, names: list[str], *, lines: list[dict[str, Any]] | None = None,
                who: str = "admin", **extra: str) -> tuple[int, Any]:
    body = b"\n".join(orjson.dumps(b) for b in (lines or [binding(n) for n in names]))
    headers = {"Jetkube-Namespace": "default", "Jetkube-Subresource": "binding",
               "Jetkube-Batch": str(len(lines or names)), "Jetkube-Batch-Names": ",".join(names),
               **extra}
    out, reply = await handle(api.front, CREATE.format(who=who), headers, body)
    return int(reply["Jetkube-Code"]), orjson.loads(out)


async def node_of(api: Api, name: str) -> str | None:
    got = await api.ok("GET", f"/api/v1/namespaces/default/pods/{name}")
    return got["spec"].get("nodeName")


async def test_each_line_binds_the_pod_it_names_and_one_failing_leaves_the_others() -> None:
    api = await make_api()
    for n in ("a", "b", "taken", "c"):
        await api.ok("POST", "/api/v1/namespaces/default/pods", pod(n))
    await api.ok("POST", "/api/v1/namespaces/default/pods/taken/binding", binding("taken", "n0"))
    before = {n: (await api.ok("GET", f"/api/v1/namespaces/default/pods/{n}"))["metadata"][
        "resourceVersion"] for n in ("a", "b", "c")}
    code, answers = await binds(api, ["a", "taken", "missing", "b", "..", "", "c"])
    assert code == 200
    assert [a["code"] for a in answers] == [201, 409, 404, 201, 400, 400, 201]
    assert "already assigned" in answers[1]["body"]["message"]
    assert answers[2]["body"]["reason"] == "NotFound"
    assert "Name parameter invalid" in answers[4]["body"]["message"]  # as in a path
    assert answers[5]["body"]["message"] == "Name parameter required."
    assert [await node_of(api, n) for n in ("a", "b", "c", "taken")] == ["n1", "n1", "n1", "n0"]
    after = [(await api.ok("GET", f"/api/v1/namespaces/default/pods/{n}"))["metadata"][
        "resourceVersion"] for n in ("a", "b", "c")]
    assert len(set(after)) == 3 and not set(after) & set(before.values())  # each its own write


async def test_each_line_is_authorized_as_the_sender() -> None:
    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces/default/pods", pod("a"))
    code, answers = await binds(api, ["a"], who="node:n1")  # a node may not bind pods
    assert code == 200 and [a["code"] for a in answers] == [403]
    assert await node_of(api, "a") is None


async def test_each_line_is_served_with_its_own_trace_context() -> None:
    api = await make_api()
    for n in ("a", "b", "c"):
        await api.ok("POST", "/api/v1/namespaces/default/pods", pod(n))
    seen: list[tuple[str | None, dict[str, str]]] = []
    serve = api.front.serve

    async def recording(req: ApiRequest, *args: Any, **kwargs: Any) -> Any:
        seen.append((req.name, dict(req.trace_headers)))
        return await serve(req, *args, **kwargs)

    api.front.serve = recording  # type: ignore[method-assign]
    own, batch = TP.format(1, 1), TP.format(9, 9)
    code, answers = await binds(api, ["a", "b", "c"], traceparent=batch,
                                **{"Jetkube-Batch-Traceparents": f"{own},,{TP.format(2, 2)}"})
    assert code == 200 and [a["code"] for a in answers] == [201] * 3
    assert sorted((n, h.get("traceparent")) for n, h in seen) == [
        ("a", own), ("b", batch), ("c", TP.format(2, 2))]  # empty: the request's own


async def test_a_batch_whose_names_do_not_match_its_lines_is_refused_whole() -> None:
    api = await make_api()
    for n in ("a", "b"):
        await api.ok("POST", "/api/v1/namespaces/default/pods", pod(n))
    two = [binding("a"), binding("b")]
    code, status = await binds(api, ["a"], lines=two)  # one name for two lines
    assert (code, status["reason"]) == (400, "BadRequest") and "one per line" in status["message"]
    code, status = await binds(api, ["a", "b"], **{"Jetkube-Batch-Traceparents": TP.format(1, 1)})
    assert code == 400 and "Jetkube-Batch-Traceparents has 1 values" in status["message"]
    headers = {"Jetkube-Namespace": "default", "Jetkube-Subresource": "binding",
               "Jetkube-Batch": "2"}  # a subresource's lines without their names
    out, reply = await handle(api.front, CREATE.format(who="admin"), headers,
                              b"\n".join(orjson.dumps(b) for b in two))
    assert reply["Jetkube-Code"] == "400" and b"Jetkube-Batch-Names" in out
    headers = {"Jetkube-Namespace": "default", "Jetkube-Batch": "2",
               "Jetkube-Batch-Names": "a,b"}  # names without a subresource
    out, reply = await handle(api.front, CREATE.format(who="admin"), headers,
                              b"\n".join(orjson.dumps(pod(n)) for n in ("x", "y")))
    assert reply["Jetkube-Code"] == "400"
    assert [await node_of(api, n) for n in ("a", "b")] == [None, None]  # nothing written
    listed = await api.ok("GET", "/api/v1/namespaces/default/pods")
    assert sorted(p["metadata"]["name"] for p in listed["items"]) == ["a", "b"]


PATCH = "jetkube.api.{who}.patch.core.v1.pods"


async def patches(api: Api, names: list[str], bodies: list[Any], *, who: str = "admin",
                  **extra: str) -> tuple[int, Any]:
    headers = {"Jetkube-Namespace": "default", "Jetkube-Subresource": "status",
               "Content-Type": "application/json-patch+json",
               "Jetkube-Batch": str(len(bodies)), "Jetkube-Batch-Names": ",".join(names),
               **extra}
    out, reply = await handle(api.front, PATCH.format(who=who), headers,
                              b"\n".join(orjson.dumps(b) for b in bodies))
    return int(reply["Jetkube-Code"]), orjson.loads(out)


async def test_each_line_patches_the_pod_it_names_and_one_failing_leaves_the_others() -> None:
    api = await make_api()
    uids = {}
    for n in ("a", "b", "c"):
        made = await api.ok("POST", "/api/v1/namespaces/default/pods", pod(n))
        uids[n] = made["metadata"]["uid"]

    def running(uid: str) -> list[dict[str, Any]]:
        return [{"op": "test", "path": "/metadata/uid", "value": uid},
                {"op": "add", "path": "/status", "value": {"phase": "Running"}}]

    code, answers = await patches(api, ["a", "b", "c", "gone"],
                                  [running(uids["a"]), running("another-uid"),
                                   running(uids["c"]), running("x")])
    assert code == 200 and [a["code"] for a in answers] == [200, 422, 200, 404]
    assert answers[0]["body"]["status"]["phase"] == "Running"  # the patched pod
    phases = [(await api.ok("GET", f"/api/v1/namespaces/default/pods/{n}"))["status"].get(
        "phase") for n in ("a", "b", "c")]
    assert phases == ["Running", "Pending", "Running"]
    assert answers[0]["body"]["metadata"]["resourceVersion"] != answers[2]["body"][
        "metadata"]["resourceVersion"]  # each its own write


async def test_a_batch_of_patches_must_name_each_line() -> None:
    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces/default/pods", pod("a"))
    body = orjson.dumps([{"op": "add", "path": "/status", "value": {"phase": "Running"}}])
    headers = {"Jetkube-Namespace": "default", "Jetkube-Subresource": "status",
               "Content-Type": "application/json-patch+json", "Jetkube-Batch": "1"}
    out, reply = await handle(api.front, PATCH.format(who="admin"), headers, body)
    assert reply["Jetkube-Code"] == "400" and b"Jetkube-Batch-Names" in out
    got = await api.ok("GET", "/api/v1/namespaces/default/pods/a")
    assert got["status"].get("phase") == "Pending"  # nothing written


async def test_hostile_lines_of_a_batched_patch_are_each_a_4xx_never_a_5xx() -> None:
    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces/default/pods", pod("a"))
    headers = {"Jetkube-Namespace": "default", "Jetkube-Subresource": "status",
               "Jetkube-Batch": "4", "Jetkube-Batch-Names": "a,a,a/b,a",
               "Jetkube-Batch-Traceparents": "garbage,,00-zz,"}  # bad trace context: ignored
    body = b'{"status":{"phase":"Running"}}\n{not json\n{}\n[1,2]'
    for content_type, codes in (("application/merge-patch+json", [200, 400, 400, 400]),
                                ("text/plain", [415, 415, 400, 415])):
        out, reply = await handle(api.front, PATCH.format(who="admin"),
                                  {**headers, "Content-Type": content_type}, body)
        answers = orjson.loads(out)
        assert reply["Jetkube-Code"] == "200" and [a["code"] for a in answers] == codes
        assert all(a["body"]["kind"] == "Status" for a in answers if a["code"] >= 400)
    assert "Name parameter invalid" in answers[2]["body"]["message"]
