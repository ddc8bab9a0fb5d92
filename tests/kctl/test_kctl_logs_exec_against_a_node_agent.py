"""kctl logs / kctl exec against a real API server and a node agent's NATS face
(on a scripted runtime: the ``node`` fixture of tests/conftest.py): output, flags,
exit codes and errors like kubectl's."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from node_requests_fakes import FakeRuntime, http, make_pod

from jetkube.cli import main as kctl_main
from jetkube.cli.commands import exec as exec_cmd
from jetkube.cli.commands import logs as logs_cmd

pytestmark = pytest.mark.integration


def register_logs_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    """Add kctl logs / exec to the parser (until cli/main.py registers them)."""
    build = kctl_main.build_parser

    def with_logs_exec() -> argparse.ArgumentParser:
        p = build()
        sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
        for mod, name in ((logs_cmd, "logs"), (exec_cmd, "exec")):
            if name not in sub.choices:
                mod.register(sub)
        return p

    monkeypatch.setattr(kctl_main, "build_parser", with_logs_exec)
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")


@pytest.fixture
def kctl(apiserver: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Callable[..., Any]:
    """Run kctl in a thread (the API server shares this event loop); → (code, out, err)."""
    register_logs_exec(monkeypatch)

    async def run(*args: str) -> tuple[int, str, str]:
        argv = ["--server", str(apiserver["url"]), "--token", "admin-token", *args]
        code = await asyncio.to_thread(kctl_main.run, argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_kctl_logs_prints_tail_timestamps_and_previous(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Any) -> None:
    rt, _ = node
    rt.add_container("old", "web", "app", attempt=0, state="exited")
    rt.add_container("cur", "web", "app", attempt=1)
    rt.add("old", b"it crashed\n")
    for i in range(4):
        rt.add("cur", f"line {i}\n".encode())
    async with http(apiserver) as c:
        await make_pod(c, "web")
    assert await kctl("logs", "web") == (0, "line 0\nline 1\nline 2\nline 3\n", "")
    assert (await kctl("logs", "pod/web", "--tail", "1", "--timestamps"))[1] == (
        "2024-01-01T00:00:00Z line 3\n")
    assert (await kctl("logs", "web", "-p"))[1] == "it crashed\n"
    assert (await kctl("logs", "web", "-c", "app", "--limit-bytes", "4"))[1] == "line"


async def test_kctl_logs_follow_prints_new_lines_until_the_container_ends(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Any) -> None:
    rt, _ = node
    rt.add_container("cur", "web", "app")
    rt.add("cur", b"hello\n")
    async with http(apiserver) as c:
        await make_pod(c, "web")

    async def later() -> None:
        await asyncio.sleep(0.5)
        rt.add("cur", b"world\n")
        await asyncio.sleep(0.2)
        rt.end("cur")

    t0 = time.monotonic()
    task = asyncio.create_task(later())
    assert await kctl("logs", "-f", "web") == (0, "hello\nworld\n", "")
    await task
    assert time.monotonic() - t0 < 5


async def test_kctl_exec_prints_output_and_exits_with_the_code(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Any) -> None:
    rt, _ = node
    rt.add_container("cur", "web", "app")
    async with http(apiserver) as c:
        await make_pod(c, "web")
    # a stream without stdin, as kubectl's (the fake's sessions print nothing; what they
    # print: test_kctl_exec_streams_output_like_kubectl.py)
    assert await kctl("exec", "web", "--", "echo", "-n", "a b") == (0, "", "")
    assert await kctl("exec", "web", "-c", "app", "--", "exit", "7") == (
        7, "", "command terminated with exit code 7\n")
    # -t without -i is dropped, as kubectl drops it
    assert await kctl("exec", "-t", "web", "--", "exit", "2") == (
        2, "", "command terminated with exit code 2\n")
    assert [s[:4] for s in rt.sessions] == [("cur", ["echo", "-n", "a b"], False, False),
                                            ("cur", ["exit", "7"], False, False),
                                            ("cur", ["exit", "2"], False, False)]
    code, _, err = await kctl("exec", "web")
    assert code == 1 and "at least one command" in err


async def test_kctl_logs_and_exec_errors_read_like_kubectl(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Any) -> None:
    async with http(apiserver) as c:
        await make_pod(c, "two", containers=("a", "b"))
    code, out, err = await kctl("logs", "two")
    assert code == 1 and out == ""
    assert err.strip() == ("Error from server (BadRequest): a container name must be specified "
                           "for pod two, choose one of: [a b]")
    code, _, err = await kctl("logs", "ghost")
    assert code == 1 and err.startswith("Error from server (NotFound)")
    code, _, err = await kctl("exec", "ghost", "--", "true")
    assert code == 1 and err.startswith("Error from server (NotFound)")
    code, _, err = await kctl("logs", "deployment/x")  # a workload: its first pod (issue 16)
    assert code == 1 and err.strip() == ('Error from server (NotFound): deployments.apps "x" '
                                         "not found")


def test_kctl_logs_says_when_the_server_is_down(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    from jetkube.services.machinery.store import free_port

    register_logs_exec(monkeypatch)
    server = f"http://127.0.0.1:{free_port()}"
    for argv in (["logs", "web"], ["logs", "-f", "web"], ["exec", "web", "--", "true"]):
        assert kctl_main.run(["--server", server, *argv]) == 1
        assert "was refused" in capsys.readouterr().err
