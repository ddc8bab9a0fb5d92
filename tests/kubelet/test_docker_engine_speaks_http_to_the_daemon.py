"""The node agent's loop client of the Docker daemon (docker_engine.py), against a scripted
daemon on a unix socket: requests as the Engine API wants them, answers read whole
(length or chunked), connections kept for the next call, a connection the daemon closed
while idle replaced without the caller seeing it, and errors raised as the docker SDK's
own exceptions (so callers handle SDK and loop calls alike)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import docker.errors
import orjson
import pytest

from jetkube.services.kubelet.runtimes.docker_engine import Engine, container_config

Answer = Callable[[bytes], bytes]


class FakeDaemon:
    """Answers each request with ``answer(request head + body)``; counts connections."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests: list[bytes] = []
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.heard = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                request = head + await reader.readexactly(length)
                self.requests.append(request)
                self.heard.set()
                writer.write(self.answer(request))
                await writer.drain()
        writer.close()


def json_answer(status: int, body: object, reason: str = "OK") -> bytes:
    data = orjson.dumps(body)
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n").encode() + data


@contextlib.asynccontextmanager
async def daemon(tmp_path: Path, answer: Answer) -> AsyncIterator[tuple[Engine, FakeDaemon]]:
    fake = FakeDaemon(answer)
    sock = str(tmp_path / "docker.sock")
    server = await asyncio.start_unix_server(fake.serve, sock)
    engine = Engine(("unix", sock), "/v1.41")
    try:
        yield engine, fake
    finally:
        await engine.close()
        server.close()
        for w in fake.writers:
            w.close()


async def test_a_create_posts_the_config_without_nulls_and_keeps_the_connection(
        tmp_path: Path) -> None:
    async with daemon(tmp_path, lambda _: json_answer(201, {"Id": "abc123"})) as (engine, d):
        cid = await engine.create_container({"Image": "pause", "Cmd": None}, "pod_x")
        assert cid == "abc123"
        head, _, body = d.requests[0].partition(b"\r\n\r\n")
        assert head.startswith(b"POST /v1.41/containers/create?name=pod_x HTTP/1.1\r\n")
        assert b"Content-Type: application/json" in head
        assert orjson.loads(body) == {"Image": "pause"}
        await engine.start("abc123")
        assert (await engine.inspect_container("abc123")) == {"Id": "abc123"}
        assert d.requests[1].startswith(b"POST /v1.41/containers/abc123/start HTTP/1.1")
        assert d.requests[2].startswith(b"GET /v1.41/containers/abc123/json HTTP/1.1")
        assert d.connections == 1  # one connection, kept alive


async def test_a_chunked_answer_is_read_whole(tmp_path: Path) -> None:
    data = orjson.dumps({"Id": "x" * 5000, "State": {"Pid": 7}})

    def chunked(_: bytes) -> bytes:
        parts = [data[i:i + 1000] for i in range(0, len(data), 1000)]
        return (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
                b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n")
    async with daemon(tmp_path, chunked) as (engine, d):
        for _ in range(2):
            got = await engine.inspect_container("x")
            assert got["State"]["Pid"] == 7 and len(got["Id"]) == 5000
        assert d.connections == 1


async def test_answers_of_four_hundred_and_up_raise_the_sdks_exceptions(tmp_path: Path) -> None:
    answers = {b"/containers/create?name=taken": json_answer(409, {"message": "name in use"}),
               b"/containers/create?name=noimage": json_answer(
                   404, {"message": "No such image: pause:1"}),
               b"/containers/gone/start": json_answer(404, {"message": "No such container"}),
               b"/containers/bad/start": json_answer(500, {"message": "runc failed"})}

    def answer(request: bytes) -> bytes:
        target = request.split(b" ", 2)[1].removeprefix(b"/v1.41")
        return answers[target]
    async with daemon(tmp_path, answer) as (engine, d):
        with pytest.raises(docker.errors.APIError) as conflict:
            await engine.create_container({"Image": "pause"}, "taken")
        assert conflict.value.status_code == 409 and conflict.value.explanation == "name in use"
        with pytest.raises(docker.errors.ImageNotFound):
            await engine.create_container({"Image": "pause:1"}, "noimage")
        with pytest.raises(docker.errors.NotFound) as gone:
            await engine.start("gone")
        assert not isinstance(gone.value, docker.errors.ImageNotFound)
        with pytest.raises(docker.errors.APIError) as failed:
            await engine.start("bad")
        assert failed.value.status_code == 500 and "runc failed" in str(failed.value)
        assert d.connections == 1  # an error answer leaves the connection usable


async def test_a_connection_the_daemon_closed_while_idle_is_replaced(tmp_path: Path) -> None:
    async with daemon(tmp_path, lambda _: json_answer(200, {"Id": "a"})) as (engine, d):
        await engine.inspect_container("a")
        for w in d.writers:  # the daemon's idle timeout
            w.close()
        await asyncio.sleep(0)
        assert (await engine.inspect_container("a")) == {"Id": "a"}
        assert d.connections == 2 and len(d.requests) == 2


async def test_a_cancelled_call_does_not_leave_its_connection_for_the_next(
        tmp_path: Path) -> None:
    def answer(request: bytes) -> bytes:
        return b"" if b"/slow/" in request else json_answer(200, {"Id": "b"})
    async with daemon(tmp_path, answer) as (engine, d):
        call = asyncio.create_task(engine.inspect_container("slow"))
        await asyncio.wait_for(d.heard.wait(), 5)  # asked; the daemon never answers
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert (await engine.inspect_container("b")) == {"Id": "b"}  # not the slow's answer
        assert d.connections == 2


def test_the_create_body_is_the_sdks_config_without_the_name() -> None:
    api = docker.APIClient(base_url="unix:///nonexistent.sock", version="1.41")
    config, name = container_config(api, {"image": "busybox", "name": "c1", "labels": {
        "a": "b"}, "entrypoint": ["sh"]}, {"network_mode": "none"})
    assert name == "c1" and "name" not in config
    assert (config["Image"], config["Labels"], config["Entrypoint"]) == (
        "busybox", {"a": "b"}, ["sh"])
    assert config["HostConfig"]["NetworkMode"] == "none"


async def test_a_teardowns_list_and_removals_ask_what_the_sdk_asks(tmp_path: Path) -> None:
    def answer(request: bytes) -> bytes:
        if request.startswith(b"GET"):
            return json_answer(200, [{"Id": "c1"}, {"Id": "c2"}])
        return b"HTTP/1.1 204 No Content\r\n\r\n"
    async with daemon(tmp_path, answer) as (engine, d):
        found = await engine.containers({"label": ["a=b", "pod=u1"]})
        assert [c["Id"] for c in found] == ["c1", "c2"]
        await engine.remove_container("c1", force=True, volumes=True)
        await engine.remove_container("c2")
        targets = [r.split(b" ", 2)[:2] for r in d.requests]
        assert targets == [
            [b"GET", b"/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22a%3Db%22"
                     b"%2C%22pod%3Du1%22%5D%7D"],
            [b"DELETE", b"/v1.41/containers/c1?force=1&v=1"],
            [b"DELETE", b"/v1.41/containers/c2"]]
        assert d.connections == 1  # a 204 has no body: the connection stays in step


async def test_a_daemon_that_hangs_or_is_absent_fails_the_call_as_the_sdk_would(
        tmp_path: Path) -> None:
    async with daemon(tmp_path, lambda _: b"") as (engine, d):  # it never answers
        engine.timeout = 0.2
        with pytest.raises(docker.errors.APIError, match=r"did not answer within 0\.2s"):
            await engine.start("c1")
        assert d.requests  # it was asked
    absent = Engine(("unix", str(tmp_path / "nothing.sock")), "/v1.41")
    with pytest.raises(docker.errors.APIError, match="cannot reach the daemon"):
        await absent.inspect_container("c1")
