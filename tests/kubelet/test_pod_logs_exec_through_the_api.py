"""pods/log and pods/exec: HTTP → API server → NATS → the node agent's face (logstream).

A real API server and nats-server; the node agent's side is
``serve_node_requests`` on a scripted in-memory runtime (the ``node`` fixture of
tests/conftest.py, node_requests_fakes.py), so the protocol (streaming, cancel, flow
control, errors, RBAC) is tested without Docker.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from node_requests_fakes import FakeRuntime, http, make_pod
from polling import until

pytestmark = pytest.mark.integration


LOG = "/api/v1/namespaces/default/pods/{}/log"
EXEC = "/api/v1/namespaces/default/pods/{}/exec"


async def test_logs_answer_text_with_tail_and_timestamps(apiserver: dict[str, Any],
                                                         node: tuple[FakeRuntime, Any]) -> None:
    rt, _ = node
    rt.add_container("c1", "web", "app")
    for i in range(5):
        rt.add("c1", f"line {i}\n".encode())
    async with http(apiserver) as c:
        await make_pod(c, "web")
        r = await c.get(LOG.format("web"))
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        assert r.text == "".join(f"line {i}\n" for i in range(5))
        r = await c.get(LOG.format("web"), params={"tailLines": "2", "timestamps": "true"})
        assert r.text == "2024-01-01T00:00:00Z line 3\n2024-01-01T00:00:00Z line 4\n"
        r = await c.get(LOG.format("web"), params={"limitBytes": "9"})
        assert r.text == "line 0\nli"
    assert rt.log_calls[1] == {"cid": "c1", "follow": False, "tail": 2, "timestamps": True}


async def test_follow_streams_lines_as_they_come_and_stops_when_the_client_leaves(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any]) -> None:
    rt, _ = node
    rt.add_container("c1", "web", "app")
    rt.add("c1", b"first\n")
    async with http(apiserver) as c:
        await make_pod(c, "web")
        async with c.stream("GET", LOG.format("web"), params={"follow": "true"}) as r:
            assert r.status_code == 200
            assert r.headers.get("transfer-encoding") == "chunked"
            got = r.aiter_raw()
            assert await asyncio.wait_for(got.__anext__(), 5) == b"first\n"
            for i in range(3):
                await asyncio.sleep(0.6)  # longer than the node's idle ping interval
                t0 = time.monotonic()
                rt.add("c1", f"late {i}\n".encode())
                assert await asyncio.wait_for(got.__anext__(), 5) == f"late {i}\n".encode()
                assert time.monotonic() - t0 < 1.0
            assert rt.open_streams == 1
    # the client left: the node's stream is closed
    await until(lambda: rt.open_streams == 0, interval=0.05, message="the node's log stream closed")


async def test_follow_ends_when_the_container_ends(apiserver: dict[str, Any],
                                                   node: tuple[FakeRuntime, Any]) -> None:
    rt, _ = node
    rt.add_container("c1", "web", "app")
    async with http(apiserver) as c:
        await make_pod(c, "web")

        async def finish() -> None:
            await asyncio.sleep(0.3)
            rt.add("c1", b"last words\n")
            rt.end("c1")

        task = asyncio.create_task(finish())
        r = await c.get(LOG.format("web"), params={"follow": "true"})
        await task
        assert r.text == "last words\n"


async def test_a_large_log_arrives_whole_through_the_window(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any]) -> None:
    rt, _ = node
    rt.add_container("c1", "web", "app")
    line = b"x" * 1000 + b"\n"
    for _ in range(6000):  # ~6 MB: ~90 messages of 64 KiB, past the 64-message window
        rt.add("c1", line)
    async with http(apiserver) as c:
        await make_pod(c, "web")
        r = await c.get(LOG.format("web"))
        assert r.status_code == 200 and r.content == line * 6000
        got = b""
        async with c.stream("GET", LOG.format("web"), params={"follow": "true"}) as s:
            async for chunk in s.aiter_raw():
                got += chunk
                if len(got) >= len(line) * 6000:
                    break
        assert got == line * 6000


async def test_previous_names_the_last_terminated_instance(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any]) -> None:
    rt, _ = node
    rt.add_container("old0", "web", "app", attempt=0, state="exited")
    rt.add_container("old1", "web", "app", attempt=1, state="exited")
    rt.add_container("cur", "web", "app", attempt=2)
    rt.add("old1", b"crashed\n")
    rt.add("cur", b"running\n")
    async with http(apiserver) as c:
        await make_pod(c, "web")
        assert (await c.get(LOG.format("web"), params={"previous": "true"})).text == "crashed\n"
        assert (await c.get(LOG.format("web"))).text == "running\n"
        rt.add_container("solo", "db", "app")
        await make_pod(c, "db")
        r = await c.get(LOG.format("db"), params={"previous": "true"})
        assert r.status_code == 400
        assert 'previous terminated container "app" in pod "db" not found' in r.json()["message"]


async def test_exec_returns_output_and_exit_code(apiserver: dict[str, Any],
                                                 node: tuple[FakeRuntime, Any]) -> None:
    rt, _ = node
    rt.add_container("c1", "web", "app")
    async with http(apiserver) as c:
        await make_pod(c, "web")
        r = await c.post(EXEC.format("web"), params=[("command", "echo"), ("command", "a b"),
                                                     ("command", "c")])
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["exitCode"], body["output"]) == (0, "echo a b c\n")
        r = await c.post(EXEC.format("web"), json={"command": ["exit", "3"]})
        assert (r.json()["exitCode"], r.json()["output"]) == (3, "bye\n")
        r = await c.post(EXEC.format("web"), params=[("command", "sleep"), ("command", "3"),
                                                     ("timeoutSeconds", "1")])
        assert r.status_code == 504 and "did not finish within 1s" in r.json()["message"]
        t0 = time.monotonic()
        r = await c.post(EXEC.format("web"), params={"command": "boom"})
        assert r.status_code == 500 and "the runtime broke" in r.json()["message"]
        assert time.monotonic() - t0 < 2  # reported at once, not after a timeout
        r = await c.post(EXEC.format("web"))
        assert r.status_code == 400 and "at least one command" in r.json()["message"]
        r = await c.post(EXEC.format("web"), params={"command": "sh", "stdin": "true"})
        assert r.status_code == 400 and "interactive" in r.json()["message"]


async def test_errors_are_kubernetes_statuses(apiserver: dict[str, Any],
                                              node: tuple[FakeRuntime, Any]) -> None:
    async with http(apiserver) as c:
        await make_pod(c, "pending", node=None)
        r = await c.get(LOG.format("pending"))
        assert (r.status_code, r.json()["message"]) == (
            400, "pod pending does not have a host assigned")
        await make_pod(c, "two", containers=("a", "b"))
        r = await c.get(LOG.format("two"))
        assert r.status_code == 400
        assert r.json()["message"] == ("a container name must be specified for pod two, "
                                       "choose one of: [a b]")
        r = await c.get(LOG.format("two"), params={"container": "zz"})
        assert (r.status_code, r.json()["message"]) == (400, "container zz is not valid for "
                                                             "pod two")
        r = await c.get(LOG.format("two"), params={"container": "a"})
        assert r.status_code == 400 and "waiting to start" in r.json()["message"]
        r = await c.get(LOG.format("nope"))
        assert r.status_code == 404
        await make_pod(c, "elsewhere", node="node-without-agent")
        r = await c.get(LOG.format("elsewhere"))
        assert r.status_code == 503 and "node-without-agent" in r.json()["message"]
        r = await c.get(LOG.format("two"), params={"container": "a", "tailLines": "-3"})
        assert r.status_code == 400


async def test_rbac_governs_pods_log_and_pods_exec(apiserver: dict[str, Any],
                                                    node: tuple[FakeRuntime, Any]) -> None:
    rt, _ = node
    rt.add_container("c1", "web", "app")
    rt.add("c1", b"hello\n")
    async with http(apiserver) as admin, http(apiserver, "bob-token") as bob:
        await make_pod(admin, "web")
        r = await bob.get(LOG.format("web"))
        assert r.status_code == 403 and "pods/log" in r.json()["message"]
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"name": "logs"},
                "rules": [{"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]}
        binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "logs"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                               "name": "logs"},
                   "subjects": [{"kind": "Group", "name": "dev"}]}
        for path, obj in (("roles", role), ("rolebindings", binding)):
            r = await admin.post(f"/apis/rbac.authorization.k8s.io/v1/namespaces/default/{path}",
                                 json=obj)
            assert r.status_code == 201, r.text
        r = await until(lambda: bob.get(LOG.format("web")), interval=0.05,
                        accept=lambda r: r.status_code != 403, message="the role binding in effect")
        assert r.text == "hello\n"
        r = await bob.post(EXEC.format("web"), params={"command": "id"})
        assert r.status_code == 403 and "pods/exec" in r.json()["message"]
