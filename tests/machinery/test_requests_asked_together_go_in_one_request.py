"""``ApiClient.together`` (binds and TokenRequests through ``create_subresource``, status
patches through ``patch_together``): the requests of one kind asked for in the same turn
of the event loop go in one batched request per namespace (``_groups.py``), each caller
with its own answer, its own error and its own trace context; a request alone is its own
request, as before."""

from __future__ import annotations

import asyncio

import pytest
from ctrlharness import Env, RecordingApiClient
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client._groups import GROUP_BATCH, GROUP_BYTES, Pending, _chunks


def pod(name: str, namespace: str = "default") -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def made(env: Env, *names: str, namespace: str = "default") -> RecordingApiClient:
    for n in names:
        await env.api.ok("POST", f"/api/v1/namespaces/{namespace}/pods", pod(n, namespace))
    return RecordingApiClient(env.api.front)


async def nodes(env: Env, *names: str, namespace: str = "default") -> list[str | None]:
    return [(await env.api.ok("GET", f"/api/v1/namespaces/{namespace}/pods/{n}"))["spec"].get(
        "nodeName") for n in names]


async def test_binds_of_one_turn_are_one_request_each_with_its_own_answer(env: Env) -> None:
    client = await made(env, "a", "b", "c", "taken")
    await client.bind("default", "taken", "n0")
    client.headers.clear()
    results = await asyncio.gather(
        *(client.bind("default", n, "n1") for n in ("a", "b", "taken", "c", "missing")),
        return_exceptions=True)
    assert len(client.headers) == 1 and client.headers[0]["Jetkube-Batch"] == "5"
    assert client.headers[0]["Jetkube-Batch-Names"] == "a,b,taken,c,missing"
    assert [r.get("status") if isinstance(r, dict) else r.code for r in results] == [
        "Success", "Success", 409, "Success", 404]
    assert isinstance(results[2], apierrors.ApiError) and "already assigned" in results[2].message
    assert await nodes(env, "a", "b", "c", "taken") == ["n1", "n1", "n1", "n0"]


async def test_a_bind_alone_is_its_own_request(env: Env) -> None:
    client = await made(env, "a")
    got = await client.bind("default", "a", "n1")
    assert got["status"] == "Success"
    assert len(client.headers) == 1 and "Jetkube-Batch" not in client.headers[0]
    assert client.headers[0]["Jetkube-Name"] == "a"
    assert client.headers[0]["Jetkube-Subresource"] == "binding"
    assert await nodes(env, "a") == ["n1"]


async def test_each_namespace_gets_its_own_request(env: Env) -> None:
    await env.api.ok("POST", "/api/v1/namespaces",
                     {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    await made(env, "t1", "t2", namespace="team")
    client = await made(env, "d1", "d2")
    await asyncio.gather(client.bind("default", "d1", "n1"), client.bind("team", "t1", "n1"),
                         client.bind("default", "d2", "n1"), client.bind("team", "t2", "n1"))
    assert sorted((h["Jetkube-Namespace"], h["Jetkube-Batch-Names"]) for h in client.headers
                  ) == [("default", "d1,d2"), ("team", "t1,t2")]
    assert await nodes(env, "t1", "t2", namespace="team") == ["n1", "n1"]


async def test_each_bind_carries_its_callers_trace_context(env: Env) -> None:
    client = await made(env, "a", "b", "c")

    async def traced(name: str, trace_id: int | None) -> Obj:
        if trace_id is None:
            return await client.bind("default", name, "n1")
        span = NonRecordingSpan(SpanContext(trace_id, 7, is_remote=False,
                                            trace_flags=TraceFlags(TraceFlags.SAMPLED)))
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            return await client.bind("default", name, "n1")
        finally:
            otel_context.detach(token)

    await asyncio.gather(traced("a", 0xA), traced("b", None), traced("c", 0xC))
    assert client.headers[0]["Jetkube-Batch-Traceparents"] == (
        f"00-{0xA:032x}-{7:016x}-01,,00-{0xC:032x}-{7:016x}-01")


async def test_a_cancelled_callers_bind_is_not_sent(env: Env) -> None:
    client = await made(env, "a", "b", "c")
    tasks = [asyncio.create_task(client.bind("default", n, "n1")) for n in ("a", "b", "c")]
    await asyncio.sleep(0)  # each has joined the group, which leaves on the next turn
    tasks[1].cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert [h["Jetkube-Batch-Names"] for h in client.headers] == ["a,c"]
    assert await nodes(env, "a", "b", "c") == ["n1", None, "n1"]


async def test_a_request_that_fails_whole_fails_each_bind(env: Env) -> None:
    client = await made(env, "a", "b")

    async def unanswered(subject: str, payload: bytes, headers: dict[str, str]
                         ) -> tuple[int, Obj]:
        raise apierrors.timeout(f"no reply to {subject} within 10s")

    client.send = unanswered  # type: ignore[method-assign]
    results = await asyncio.gather(client.bind("default", "a", "n1"),
                                   client.bind("default", "b", "n1"), return_exceptions=True)
    assert all(isinstance(r, apierrors.ApiError) and r.code == 504 for r in results), results
    with pytest.raises(apierrors.ApiError):  # and the client still serves the next one
        await client.bind("default", "a", "n1")


async def test_token_requests_of_one_turn_are_one_request_each_with_its_own_token(
        env: Env) -> None:
    client = await made(env, "a", "b")
    await env.api.ok("POST", "/api/v1/namespaces/default/serviceaccounts", {
        "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
    uids = [(await env.api.ok("GET", f"/api/v1/namespaces/default/pods/{n}"))["metadata"][
        "uid"] for n in ("a", "b")]

    def token_request(pod: str, uid: str) -> Obj:
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": [], "expirationSeconds": 3600, "boundObjectRef": {
                    "kind": "Pod", "apiVersion": "v1", "name": pod, "uid": uid}}}

    got = await asyncio.gather(*(client.create_subresource(
        "serviceaccounts", "default", "default", "token", token_request(p, u))
        for p, u in zip(("a", "b"), uids, strict=True)))
    assert len(client.headers) == 1 and client.headers[0]["Jetkube-Batch"] == "2"
    assert client.headers[0]["Jetkube-Batch-Names"] == "default,default"
    tokens = [g["status"]["token"] for g in got]
    assert all(tokens) and tokens[0] != tokens[1]  # each pod's own bound token


async def test_status_patches_of_one_turn_are_one_request_each_its_own_patch(env: Env) -> None:
    client = await made(env, "a", "b", "c")
    uid = {n: (await env.api.ok("GET", f"/api/v1/namespaces/default/pods/{n}"))["metadata"][
        "uid"] for n in ("a", "b", "c")}

    def status(name: str, pod_uid: str, phase: str) -> list[Obj]:
        return [{"op": "test", "path": "/metadata/uid", "value": pod_uid},
                {"op": "add", "path": "/status", "value": {"phase": phase}}]

    results = await asyncio.gather(
        client.patch_together("pods", "default", "a", status("a", uid["a"], "Running"),
                              patch_type="application/json-patch+json", subresource="status"),
        client.patch_together("pods", "default", "b", status("b", "not-its-uid", "Failed"),
                              patch_type="application/json-patch+json", subresource="status"),
        client.patch_together("pods", "default", "c", status("c", uid["c"], "Succeeded"),
                              patch_type="application/json-patch+json", subresource="status"),
        return_exceptions=True)
    assert len(client.headers) == 1 and client.headers[0]["Jetkube-Batch"] == "3"
    assert client.headers[0]["Content-Type"] == "application/json-patch+json"
    assert client.headers[0]["Jetkube-Batch-Names"] == "a,b,c"
    assert isinstance(results[1], apierrors.ApiError) and results[1].code == 422  # its test
    phases = [(await env.api.ok("GET", f"/api/v1/namespaces/default/pods/{n}"))["status"].get(
        "phase") for n in ("a", "b", "c")]
    assert phases == ["Running", "Pending", "Succeeded"]
    assert isinstance(results[0], dict) and results[0]["status"]["phase"] == "Running"


async def test_batches_stay_within_their_count_and_bytes(env: Env) -> None:
    client = await made(env, "a", "b", "c", "d")
    big = "x" * (GROUP_BYTES // 3)  # two fit a batch, a third does not
    got = await asyncio.gather(*(client.patch_together(
        "pods", "default", n, {"metadata": {"annotations": {"big": big}}})
        for n in ("a", "b", "c", "d")))
    assert [g["metadata"]["name"] for g in got] == ["a", "b", "c", "d"]
    assert [h.get("Jetkube-Batch-Names") for h in client.headers] == ["a,b", "c,d"]
    many = [Pending(f"p{i}", b"{}", "", asyncio.get_running_loop().create_future())
            for i in range(300)]
    assert [len(c) for c in _chunks(many)] == [GROUP_BATCH, GROUP_BATCH, 300 - 2 * GROUP_BATCH]
    for p in many:
        p.answer.cancel()
