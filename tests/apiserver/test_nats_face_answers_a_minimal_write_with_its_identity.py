"""``Prefer: return=minimal`` (RFC 7240) over the NATS face: a write is answered with the
written object's identity (apiVersion, kind and ``metadata``'s name, namespace, uid,
resourceVersion, creationTimestamp), alone or in a batch, while the write itself is the
same; an error is still the whole Status.  Without the preference, or with another one,
the answer is the whole object, as before.  The client asks for it per call
(``minimal=True``), and minimal and whole answers never share a batch."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from apiharness import Api, make_api
from ctrlharness import Env, RecordingApiClient

from jetkube.schemas.objects import Obj
from jetkube.services.apiserver.natsface import handle, prefers_minimal
from jetkube.services.machinery.apimachinery import apierrors

PODS = "jetkube.api.admin.{verb}.core.v1.pods"
IDENTITY = {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}


def pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


async def nats(api: Api, verb: str, body: bytes, **headers: str) -> tuple[int, Any]:
    out, reply = await handle(api.front, PODS.format(verb=verb),
                              {"Jetkube-Namespace": "default", **headers}, body)
    return int(reply["Jetkube-Code"]), orjson.loads(out)


async def stored(api: Api, name: str) -> Obj:
    return await api.ok("GET", f"/api/v1/namespaces/default/pods/{name}")


@pytest.mark.parametrize(("prefer", "minimal"), [
    ("return=minimal", True),
    ("respond-async, return=minimal", True),
    ('RETURN="Minimal"; x=1', True),
    (" return = minimal ", True),
    ("return=representation", False),
    ("handling=lenient", False),
    ("return=minimalist", False),
    ("", False),
    (None, False),
])
def test_the_prefer_header_is_read_as_rfc_7240_writes_it(prefer: str | None,
                                                          minimal: bool) -> None:
    assert prefers_minimal(prefer) is minimal


async def test_a_minimal_create_answers_the_identity_and_stores_the_whole_object() -> None:
    api = await make_api()
    code, answer = await nats(api, "create", orjson.dumps(pod("a")), Prefer="return=minimal")
    assert code == 201
    assert set(answer) == {"apiVersion", "kind", "metadata"}
    assert (answer["apiVersion"], answer["kind"]) == ("v1", "Pod")
    assert set(answer["metadata"]) == IDENTITY
    whole = await stored(api, "a")
    assert whole["spec"]["containers"][0]["image"] == "busybox"
    assert whole["metadata"]["labels"] == {"app": "x"}
    assert {k: whole["metadata"][k] for k in IDENTITY} == answer["metadata"]


async def test_without_the_preference_a_create_answers_the_whole_object() -> None:
    api = await make_api()
    for name, headers in (("a", {}), ("b", {"Prefer": "return=representation"})):
        code, answer = await nats(api, "create", orjson.dumps(pod(name)), **headers)
        assert code == 201 and answer["spec"]["containers"][0]["name"] == "c"
        assert answer["metadata"]["managedFields"]


async def test_a_minimal_status_patch_answers_the_new_revision() -> None:
    api = await make_api()
    before = (await api.ok("POST", "/api/v1/namespaces/default/pods", pod("a")))["metadata"]
    patch = [{"op": "test", "path": "/metadata/uid", "value": before["uid"]},
             {"op": "add", "path": "/status", "value": {"phase": "Running"}}]
    code, answer = await nats(api, "patch", orjson.dumps(patch), Prefer="return=minimal",
                              **{"Jetkube-Name": "a", "Jetkube-Subresource": "status",
                                 "Content-Type": "application/json-patch+json"})
    assert code == 200 and set(answer["metadata"]) == IDENTITY and "status" not in answer
    whole = await stored(api, "a")
    assert whole["status"]["phase"] == "Running"
    assert answer["metadata"]["resourceVersion"] == whole["metadata"]["resourceVersion"]
    assert answer["metadata"]["resourceVersion"] != before["resourceVersion"]


async def test_an_error_is_the_whole_status_even_when_minimal_is_preferred() -> None:
    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces/default/pods", pod("a"))
    code, answer = await nats(api, "create", orjson.dumps(pod("a")), Prefer="return=minimal")
    assert code == 409 and answer["kind"] == "Status" and answer["reason"] == "AlreadyExists"
    assert answer["details"]["name"] == "a" and "already exists" in answer["message"]


async def test_a_minimal_batch_answers_each_written_object_with_its_identity() -> None:
    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces/default/pods", pod("taken"))
    body = b"\n".join(orjson.dumps(pod(n)) for n in ("a", "taken", "b"))
    code, answers = await nats(api, "create", body, Prefer="return=minimal",
                               **{"Jetkube-Batch": "3"})
    assert code == 200 and [a["code"] for a in answers] == [201, 409, 201]
    assert [set(answers[i]["body"]["metadata"]) for i in (0, 2)] == [IDENTITY, IDENTITY]
    assert answers[1]["body"]["reason"] == "AlreadyExists"
    for i, name in ((0, "a"), (2, "b")):
        whole = await stored(api, name)
        assert whole["spec"]["containers"][0]["image"] == "busybox"
        assert whole["metadata"]["uid"] == answers[i]["body"]["metadata"]["uid"]




async def test_the_client_asks_for_minimal_answers_only_when_told() -> None:
    api = await make_api()
    client = RecordingApiClient(api.front)
    made = await client.create_many("pods", "default", [pod("a"), pod("b")], minimal=True)
    whole = await client.create_many("pods", "default", [pod("c"), pod("d")])
    assert [h.get("Prefer") for h in client.headers] == ["return=minimal", None]
    assert all(not isinstance(m, apierrors.ApiError) and set(m) == {
        "apiVersion", "kind", "metadata"} for m in made)
    assert [m["metadata"]["name"] for m in made] == ["a", "b"]  # type: ignore[index]
    assert all(not isinstance(m, apierrors.ApiError) and m["spec"] for m in whole)


async def test_minimal_and_whole_patches_of_one_turn_go_in_separate_requests(env: Env) -> None:
    client = RecordingApiClient(env.api.front)
    for n in ("a", "b", "c"):
        await env.api.ok("POST", "/api/v1/namespaces/default/pods", pod(n))
    client.headers.clear()
    status = {"status": {"phase": "Running"}}
    answers = await asyncio.gather(
        client.patch_together("pods", "default", "a", status, subresource="status",
                              minimal=True),
        client.patch_together("pods", "default", "b", status, subresource="status",
                              minimal=True),
        client.patch_together("pods", "default", "c", status, subresource="status"))
    sent = sorted((h.get("Jetkube-Batch-Names", ""), h.get("Prefer")) for h in client.headers)
    assert sent == [("", None), ("a,b", "return=minimal")]  # c alone: its own request
    assert [set(a["metadata"]) == IDENTITY for a in answers] == [True, True, False]
    assert answers[2]["status"]["phase"] == "Running" and "status" not in answers[0]
