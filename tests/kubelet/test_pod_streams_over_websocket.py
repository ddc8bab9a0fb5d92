"""exec and attach with stdin and a tty: WebSocket → API server → NATS → node session.

A real API server and nats-server; the node agent's side is ``serve_node_requests`` on the
scripted FakeRuntime, whose sessions echo stdin (sim_session.py), so the channel protocol
(v5.channel.k8s.io: stdin, stdout, stderr, resize, the stdin close, the final Status),
RBAC, the refusals and the clean-up are tested without Docker.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from node_requests_fakes import FakeRuntime, http
from polling import until
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

pytestmark = pytest.mark.integration

V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"


def ws_url(apiserver: dict[str, Any], pod: str, sub: str, query: str) -> str:
    base = str(apiserver["url"]).replace("http://", "ws://")
    return f"{base}/api/v1/namespaces/default/pods/{pod}/{sub}?{query}"


def dial(apiserver: dict[str, Any], pod: str, sub: str, query: str,
         protocols: tuple[str, ...] = (V5, V4), token: str = "admin-token") -> Any:
    return connect(ws_url(apiserver, pod, sub, query),
                   subprotocols=list(protocols),  # type: ignore[arg-type]
                   additional_headers={"Authorization": f"Bearer {token}"}, open_timeout=10)


async def frames_until_close(ws: ClientConnection) -> list[tuple[int, bytes]]:
    got = []
    try:
        while True:
            msg = await ws.recv()
            assert isinstance(msg, bytes)
            got.append((msg[0], msg[1:]))
    except ConnectionClosed:
        pass
    return got


async def test_exec_with_stdin_echoes_resizes_and_ends_when_stdin_closes(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime) -> None:
    rt = web
    q = "command=cat&stdin=true&stdout=true&stderr=true"
    async with dial(apiserver, "web", "exec", q) as ws:
        assert ws.subprotocol == V5
        await ws.send(b"\x00hello ")
        assert await ws.recv() == b"\x01hello "
        await ws.send(b"\x04" + json.dumps({"Width": 80, "Height": 24}).encode())
        assert await ws.recv() == b"\x02resize 80x24\n"
        await ws.send(b"\x00world")
        await ws.send(bytes([255, 0]))  # v5: the client closed stdin
        rest = await frames_until_close(ws)
        assert ws.close_code == 1000
    assert rest[0] == (1, b"world")
    assert rest[-1][0] == 3 and json.loads(rest[-1][1]) == {"metadata": {}, "status": "Success"}
    cid, command, stdin, tty, session = rt.sessions[0]
    assert (cid, command, stdin, tty) == ("c1", ["cat"], True, False)
    assert session.sizes == [(80, 24)]


async def test_a_non_zero_exit_is_a_failure_status_with_the_exit_code(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime) -> None:
    rt = web
    async with dial(apiserver, "web", "exec", "command=exit&command=3&stdout=true") as ws:
        got = await frames_until_close(ws)
    status = json.loads(got[-1][1])
    assert got[-1][0] == 3 and status["status"] == "Failure"
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert rt.sessions[0][1] == ["exit", "3"]


async def test_an_attach_ends_in_success_whatever_the_process_exits_with(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As the kubelet's: only an exec's command reports its exit code; ``kubectl run -i``
    reads the pod's (a Failure here made it fall back to streaming the logs, twice)."""
    from jetkube.services.kubelet.runtimes.sim_session import SimSession

    made: list[Any] = []

    async def open_stream(cid: str, command: list[str] | None, *, stdin: bool,
                          tty: bool) -> SimSession:
        session = SimSession(stdin=stdin, code=3)  # the attached process exits 3
        made.append(command)
        web.sessions.append((cid, command, stdin, tty, session))
        return session

    monkeypatch.setattr(web, "open_stream", open_stream)
    async with dial(apiserver, "web", "attach", "stdout=true") as ws:
        got = await frames_until_close(ws)
    assert made == [None]  # an attach, not an exec
    assert got[-1][0] == 3 and json.loads(got[-1][1]) == {"metadata": {}, "status": "Success"}
    async with dial(apiserver, "web", "exec", "command=exit&command=3&stdout=true") as ws:
        got = await frames_until_close(ws)
    assert json.loads(got[-1][1])["status"] == "Failure"  # the same code from an exec


async def test_attach_with_a_tty_drops_stderr_and_v4_has_no_stdin_close(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime) -> None:
    rt = web
    q = "stdin=true&stdout=true&stderr=true&tty=true"
    async with dial(apiserver, "web", "attach", q, protocols=(V4,)) as ws:
        assert ws.subprotocol == V4
        await ws.send(b"\x04" + json.dumps({"Width": 100, "Height": 30}).encode())
        await ws.send(b"\x00typed")
        assert await ws.recv() == b"\x01typed"  # the resize echo went to stderr: dropped
        await ws.send(bytes([255, 0]))  # not a v4 signal: ignored, stdin stays open
        await ws.send(b"\x00more")
        assert await ws.recv() == b"\x01more"
    assert rt.sessions[0][1] is None and rt.sessions[0][3] is True  # attach, tty
    # the client left: the node's session ends and its slot is given back
    await until(lambda: not node[1].sessions_open(), 10, message="the session stayed open")


async def test_a_user_without_pods_exec_gets_403_before_any_session(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime) -> None:
    rt = web
    with pytest.raises(InvalidStatus) as err:
        async with dial(apiserver, "web", "exec", "command=cat&stdin=true", token="bob-token"):
            pass
    assert err.value.response.status_code == 403
    status = json.loads(err.value.response.body or b"{}")
    assert status["reason"] == "Forbidden" and "pods/exec" in status["message"]
    assert rt.sessions == []


@pytest.mark.parametrize("query, protocols, message", [
    ("command=cat&stdin=true", ("base64.channel.k8s.io",), "no supported stream subprotocol"),
    ("stdin=false", (V5,), "at least 1 of stdin, stdout, stderr"),
    ("stdout=true", (V5,), "at least one command"),
    ("command=cat&stdout=true&container=nope", (V5,), "container nope is not valid"),
])
async def test_bad_handshakes_are_a_400_status(apiserver: dict[str, Any],
                                               node: tuple[FakeRuntime, Any], web: FakeRuntime, query: str,
                                               protocols: tuple[str, ...], message: str) -> None:
    rt = web
    with pytest.raises(InvalidStatus) as err:
        async with dial(apiserver, "web", "exec", query, protocols):
            pass
    assert err.value.response.status_code == 400
    assert message in json.loads(err.value.response.body or b"{}")["message"]
    assert rt.sessions == []


async def test_a_missing_pod_is_404_and_a_websocket_elsewhere_is_400(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any]) -> None:
    with pytest.raises(InvalidStatus) as err:
        async with dial(apiserver, "ghost", "exec", "command=ls&stdout=true"):
            pass
    assert err.value.response.status_code == 404
    base = str(apiserver["url"]).replace("http://", "ws://")
    with pytest.raises(InvalidStatus) as err:
        async with connect(f"{base}/api/v1/namespaces/default/configmaps", subprotocols=[V5],  # type: ignore[list-item]
                           additional_headers={"Authorization": "Bearer admin-token"}):
            pass
    assert err.value.response.status_code == 400
    with pytest.raises(InvalidStatus) as err:  # no token: 401 before anything else
        async with connect(f"{base}/api/v1/namespaces/default/configmaps", subprotocols=[V5]):  # type: ignore[list-item]
            pass
    assert err.value.response.status_code == 401


async def test_spdy_and_plain_posts_with_stdin_are_refused_after_authorization(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime) -> None:
    rt = web
    async with http(apiserver) as c:
        r = await c.post("/api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true",
                         headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"})
        assert r.status_code == 400 and "not spdy/3.1" in r.json()["message"]
        r = await c.post("/api/v1/namespaces/default/pods/web/attach?stdout=true")
        assert r.status_code == 400
    async with httpx.AsyncClient(base_url=str(apiserver["url"]),
                                 headers={"Authorization": "Bearer bob-token"}) as bob:
        r = await bob.post("/api/v1/namespaces/default/pods/web/exec?command=sh&stdin=true",
                           headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1"})
        assert r.status_code == 403
    assert rt.sessions == []


async def test_more_sessions_than_the_node_allows_per_pod_are_429(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime) -> None:
    rt, face = web, node[1]
    face.max_sessions_per_pod = 1
    async with dial(apiserver, "web", "exec", "command=cat&stdin=true&stdout=true") as first:
        await first.send(b"\x00x")
        assert await first.recv() == b"\x01x"
        with pytest.raises(InvalidStatus) as err:
            async with dial(apiserver, "web", "exec", "command=cat&stdin=true&stdout=true"):
                pass
        assert err.value.response.status_code == 429
    assert len(rt.sessions) == 1


async def test_an_idle_session_ends_with_a_status_saying_why(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime) -> None:
    face = node[1]
    face.session_idle_timeout = 1.0  # pings every 0.5 s (the fixture); nothing moves
    async with dial(apiserver, "web", "exec", "command=cat&stdin=true&stdout=true") as ws:
        got = await frames_until_close(ws)
    status = json.loads(got[-1][1])
    assert got[-1][0] == 3 and status["status"] == "Failure"
    assert "nothing moved for 1s" in status["message"]
    await until(lambda: not face.sessions_open(), 10, message="the session stayed open")
