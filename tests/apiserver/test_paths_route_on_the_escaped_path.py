"""Paths are routed on the escaped path, segment by segment: an escaped ``/`` belongs to
its segment (so a name holding one is invalid, 400, as Kubernetes' path segment rule
says), an empty segment is 404 and never collapsed, and a name or namespace that cannot
be a store key (``*``, ``>``, NUL, blanks, ...) is 404 without the store being asked;
nothing is written.  On the NATS face, the namespace and name headers obey the same
rules."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from apiharness import Api, make_api, rejected
from faces import FACES, face

from jetkube.services.apiserver.natsface import handle
from jetkube.services.machinery.store import Entry, MemoryStore

CM = "/api/v1/namespaces/default/configmaps"
FUZZ = "/api/v1/namespaces/fuzz/configmaps"
SECRETS = "/api/v1/namespaces/kube-system/secrets"
ROLES = "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles"


def cm(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


def role(name: str) -> dict[str, Any]:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": name}, "rules": []}


async def _populated(store: Any = None) -> Api:
    api = await make_api(store)
    await api.ok("POST", "/api/v1/namespaces",
                 {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "fuzz"}})
    await api.ok("POST", CM, cm("x"))
    await api.ok("POST", FUZZ, cm("y"))
    await api.ok("POST", SECRETS, {"apiVersion": "v1", "kind": "Secret",
                                   "metadata": {"name": "s"}, "data": {}})
    return api


@pytest.fixture(params=FACES)
async def api(request: pytest.FixtureRequest) -> Api:
    return face(await _populated(), request.param)


MERGE = "application/merge-patch+json"
CASES: list[tuple[str, str, Any, int, str, str, str]] = [
    # an escaped "/" is part of its segment: never a route to somewhere else
    ("DELETE", "/api/v1/namespaces/kube-system%2fsecrets", None, 400, "BadRequest",
     "may not contain '/'", SECRETS),
    ("DELETE", "/api/v1/namespaces/kube-system%2Fsecrets", None, 400, "BadRequest",
     "may not contain '/'", SECRETS),
    ("GET", f"{CM}/a%2Fb", None, 400, "BadRequest", "may not contain '/'", CM),
    ("PUT", f"{CM}/a%2Fb", cm("a/b"), 400, "BadRequest", "may not contain '/'", CM),
    ("GET", f"{CM}/a%25b", None, 400, "BadRequest", "may not contain '%'", CM),
    ("PATCH", f"{CM}/%25", {}, 400, "BadRequest", "may not contain '%'", CM),
    ("DELETE", f"{CM}/%2E%2E", None, 400, "BadRequest", "may not be '..'", CM),
    ("DELETE", f"{CM}/.", None, 400, "BadRequest", "may not be '.'", CM),
    ("GET", "/api/v1/namespaces/a%2Fb/configmaps/x", None, 400, "BadRequest",
     "may not contain '/'", CM),
    # empty segments: 404, never collapsed into another path
    ("DELETE", "//api//v1//namespaces//fuzz//configmaps", None, 404, "NotFound", "", FUZZ),
    ("DELETE", "/api/v1/namespaces/fuzz//configmaps", None, 404, "NotFound", "", FUZZ),
    ("DELETE", "/api/v1/namespaces//configmaps", None, 404, "NotFound", "", FUZZ),
    ("DELETE", f"{FUZZ}//", None, 404, "NotFound", "", FUZZ),
    ("DELETE", f"{CM}//x", None, 404, "NotFound", "", CM),
    ("GET", "//api/v1/namespaces/default/configmaps/x", None, 404, "NotFound", "", CM),
    # names and namespaces no store key can hold: 404, the store never asked
    ("GET", f"{CM}/%3E", None, 404, "NotFound", 'configmaps ">" not found', CM),
    ("DELETE", f"{CM}/%3E", None, 404, "NotFound", "not found", CM),
    ("DELETE", f"{CM}/%2A", None, 404, "NotFound", "not found", CM),
    ("DELETE", f"{CM}/x%2A", None, 404, "NotFound", "not found", CM),
    ("GET", f"{CM}/a%00b", None, 404, "NotFound", "not found", CM),
    ("GET", f"{CM}/a%20b", None, 404, "NotFound", "not found", CM),
    ("GET", f"{CM}/a%09b", None, 404, "NotFound", "not found", CM),
    ("GET", f"{CM}/%E2%80%A8", None, 404, "NotFound", "not found", CM),
    ("PUT", f"{CM}/%3E", cm(">"), 404, "NotFound", "not found", CM),
    ("PATCH", f"{CM}/%3E", {"data": {"a": "b"}}, 404, "NotFound", "not found", CM),
    ("DELETE", "/api/v1/namespaces/%2A/configmaps/x", None, 404, "NotFound", "not found", CM),
    ("DELETE", "/api/v1/namespaces/%3E/configmaps/x", None, 404, "NotFound", "not found", CM),
    ("GET", "/api/v1/namespaces/a.b/configmaps/x", None, 404, "NotFound", "not found", CM),
    ("POST", "/api/v1/namespaces/%3E/configmaps", cm("z"), 404, "NotFound",
     'namespaces ">" not found', CM),
    ("PUT", f"{CM}/x/status%2F", cm("x"), 404, "NotFound", "", CM),
    # a namespaced resource at cluster scope: list and watch only, as kube-apiserver
    ("POST", "/api/v1/configmaps", cm("z"), 405, "MethodNotAllowed", "", CM),
    ("POST", "/api/v1/configmaps", {**cm("z"), "metadata": {"name": "z", "namespace": "default"}},
     405, "MethodNotAllowed", "", CM),
    ("DELETE", "/api/v1/configmaps", None, 405, "MethodNotAllowed", "", CM),
    ("GET", "/api/v1/configmaps/x", None, 404, "NotFound", "", CM),
    ("DELETE", "/api/v1/configmaps/x", None, 404, "NotFound", "", CM),
    # a name a store key cannot hold, in a body: 422 naming metadata.name
    ("POST", ROLES, role("a b"), 422, "Invalid", "metadata.name", ROLES),
    ("POST", ROLES, role("a*"), 422, "Invalid", "metadata.name", ROLES),
    ("POST", ROLES, role("z>"), 422, "Invalid", "metadata.name", ROLES),
    ("POST", ROLES, role("r" * 2000), 422, "Invalid", "metadata.name", ROLES),
]


@pytest.mark.parametrize(("method", "path", "body", "code", "reason", "text", "count_path"),
                         CASES, ids=[f"{c[0]} {c[1][:60]}" for c in CASES])
async def test_hostile_path_gets_a_status_and_writes_nothing(
        api: Api, method: str, path: str, body: Any, code: int, reason: str, text: str,
        count_path: str) -> None:
    ctype = MERGE if method == "PATCH" else "application/json"
    await rejected(api, method, path, body, code, reason=reason, text=text,
                   count_path=count_path, content_type=ctype)
    assert len((await api.ok("GET", "/api/v1/configmaps"))["items"]) == 2
    assert len((await api.ok("GET", "/api/v1/secrets"))["items"]) >= 1


async def test_a_list_at_cluster_scope_still_lists_every_namespace(api: Api) -> None:
    got = await api.ok("GET", "/api/v1/configmaps")
    assert sorted(i["metadata"]["name"] for i in got["items"]) == ["x", "y"]
    assert (await api.ok("GET", f"{CM}/"))["items"]  # one trailing slash is the same path
    assert (await api.ok("GET", "/api/v1/namespaces/default/configmaps/x"))["metadata"]


class _KeySpy(MemoryStore):
    """A MemoryStore that remembers every key it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def get(self, key: str) -> Entry:
        self.asked.append(key)
        return await super().get(key)


@pytest.mark.parametrize("name", ["%3E", "%2A", "a%20b", "a%00b", "%E2%80%A8", "x%3Ey"])
@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT", "PATCH"])
async def test_the_store_is_never_asked_for_a_key_it_cannot_hold(method: str, name: str) -> None:
    spy = _KeySpy()
    api = face(await _populated(spy), "asgi")
    spy.asked.clear()
    code, _ = await api.call(method, f"{CM}/{name}", cm("x") if method == "PUT" else {},
                             content_type=MERGE if method == "PATCH" else "application/json")
    assert code == 404
    assert spy.asked == []


@pytest.mark.integration
async def test_on_nats_a_wildcard_name_neither_reads_nor_deletes_another_object(
        nats_store: Any) -> None:
    api = face(await _populated(nats_store), "asgi")
    for method in ("GET", "DELETE"):
        code, out = await api.call(method, f"{CM}/%3E")
        assert code == 404, out
        code, out = await api.call(method, "/api/v1/namespaces/%2A/configmaps/x")
        assert code == 404, out
    assert (await api.ok("GET", f"{CM}/x"))["metadata"]["name"] == "x"
    code, out = await api.call("POST", ROLES, role("a b"))
    assert code == 422, out


NATS_CASES = [
    ("get", "default", ">", "404"), ("delete", "default", ">", "404"),
    ("delete", "default", "a*", "404"), ("get", "default", "a b", "404"),
    ("update", "default", ">", "404"), ("patch", "default", "x\x00", "404"),
    ("delete", "*", "x", "404"), ("get", ">", "x", "404"), ("delete", "a.b", "x", "404"),
    ("get", "default", "a/b", "400"), ("delete", "default", "..", "400"),
    ("get", "default", "%41", "400"), ("delete", "kube-system/secrets", "", "400"),
]


@pytest.mark.parametrize(("verb", "namespace", "name", "code"), NATS_CASES)
async def test_the_nats_face_checks_names_the_same_way(verb: str, namespace: str, name: str,
                                                       code: str) -> None:
    spy = _KeySpy()
    api = await _populated(spy)
    rev = await api.store.current_revision()
    spy.asked.clear()
    headers = {"Jetkube-Namespace": namespace, "Content-Type": MERGE}
    if name:
        headers["Jetkube-Name"] = name
    body = orjson.dumps(cm(name)) if verb == "update" else b"{}"
    reply, out = await handle(api.front, f"jetkube.api.admin.{verb}.core.v1.configmaps",
                              headers, body)
    st = orjson.loads(reply)
    assert out["Jetkube-Code"] == code, st
    assert st["kind"] == "Status"
    assert spy.asked == []
    assert await api.store.current_revision() == rev
