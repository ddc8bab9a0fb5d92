"""``kctl exec POD -- CMD`` without ``-i``: kubectl's stream, not a run-to-completion POST.

As kubectl, kctl opens pods/exec as a WebSocket (v5.channel.k8s.io) with stdout and stderr
and without stdin; what the command writes reaches kctl's own stdout and stderr as it is
written, and kctl exits with the command's code.  The node side is the ``node`` fixture's
FakeRuntime (tests/conftest.py) with its ``open_stream`` replaced by scripted sessions.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from node_requests_fakes import FakeRuntime, http, make_pod
from polling import until

from jetkube.cli import main as kctl_main

pytestmark = pytest.mark.integration


class Scripted:
    """A process that writes ``items`` ((channel, bytes)), waiting for ``gate`` before each
    item after the first ``hold`` ones, and then exits with ``code``."""

    def __init__(self, items: list[tuple[int, bytes]], code: int, hold: int | None = None
                 ) -> None:
        self.items, self.code, self.hold = items, code, hold
        self.gate = asyncio.Event()
        self.closed = False

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        for i, item in enumerate(self.items):
            if self.hold is not None and i >= self.hold:
                await self.gate.wait()
                if self.closed:
                    return
            yield item

    async def write(self, data: bytes) -> None:
        raise AssertionError("exec without -i has no stdin")

    async def close_stdin(self) -> None:
        return None

    async def resize(self, width: int, height: int) -> None:
        return None

    async def exit_code(self) -> int | None:
        return self.code

    async def close(self) -> None:
        self.closed = True
        self.gate.set()


Opened = list[tuple[str, list[str] | None, bool, bool]]


@pytest.fixture
def script(web: FakeRuntime, monkeypatch: pytest.MonkeyPatch
           ) -> Callable[[Scripted], Opened]:
    """Make the next sessions of pod ``web`` run ``session``; → what opened them
    (container id, command, stdin, tty)."""
    opened: Opened = []

    def use(session: Scripted) -> Opened:
        async def open_stream(cid: str, command: list[str] | None, *, stdin: bool,
                              tty: bool) -> Scripted:
            opened.append((cid, command, stdin, tty))
            return session

        monkeypatch.setattr(web, "open_stream", open_stream)
        return opened

    return use


class Recorder(io.RawIOBase):
    """kctl's binary stdout: what has been written so far, readable while kctl runs."""

    def __init__(self) -> None:
        self.data = bytearray()
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        with self._lock:
            self.data += bytes(b)
        return len(b)

    def seen(self) -> bytes:
        with self._lock:
            return bytes(self.data)


@pytest.fixture
def argv(apiserver: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[str]]:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")
    return lambda *args: ["--server", str(apiserver["url"]), "--token", "admin-token", *args]


@pytest.fixture
def kctl(argv: Callable[..., list[str]], capsys: pytest.CaptureFixture[str]
         ) -> Callable[..., Any]:
    """Run kctl in a thread (the API server shares this event loop); → (code, out, err)."""

    async def run(*args: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(kctl_main.run, argv(*args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_exec_writes_stdout_and_stderr_apart_and_exits_with_the_code(
        script: Callable[[Scripted], Opened], kctl: Any) -> None:
    opened = script(Scripted([(1, b"out\n"), (2, b"err\n"), (1, b"more out\n")], code=3))
    code, out, err = await kctl("exec", "web", "--", "sh", "-c", "echo out; echo err >&2")
    assert (code, out) == (3, "out\nmore out\n")
    assert err == "err\ncommand terminated with exit code 3\n"  # kubectl's words
    assert opened == [("c1", ["sh", "-c", "echo out; echo err >&2"], False, False)]


async def test_exec_of_a_command_that_succeeds_exits_0_and_says_nothing_more(
        script: Callable[[Scripted], Opened], kctl: Any) -> None:
    opened = script(Scripted([(1, b"hi\n")], code=0))
    assert await kctl("exec", "pod/web", "-n", "default", "-c", "app", "--", "echo", "hi") == (
        0, "hi\n", "")
    # -t without -i is dropped silently, as kubectl drops it: stderr stays apart
    assert await kctl("exec", "-t", "web", "--", "echo", "hi") == (0, "hi\n", "")
    assert [o[2:] for o in opened] == [(False, False), (False, False)]


async def test_exec_output_arrives_while_the_command_still_runs(
        script: Callable[[Scripted], Opened], argv: Callable[..., list[str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    session = Scripted([(1, b"first\n"), (1, b"second\n")], code=0, hold=1)
    script(session)
    stdout = Recorder()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(stdout, write_through=True))
    run = asyncio.create_task(asyncio.to_thread(
        kctl_main.run, argv("exec", "web", "--", "sh", "-c", "echo first; sleep 3; echo second")))
    await until(lambda: stdout.seen(), 10, message="the first line on kctl's stdout")
    assert stdout.seen() == b"first\n"
    assert not run.done()  # the command has not ended: it waits for the gate
    session.gate.set()
    assert await asyncio.wait_for(run, 20) == 0
    assert stdout.seen() == b"first\nsecond\n"


async def test_exec_timeout_ends_a_command_that_runs_too_long(
        script: Callable[[Scripted], Opened], kctl: Any) -> None:
    session = Scripted([(1, b"started\n"), (1, b"never\n")], code=0, hold=1)
    script(session)
    code, out, err = await kctl("exec", "--timeout", "1", "web", "--", "sleep", "3600")
    assert (code, out) == (1, "started\n")
    assert err == "error: timed out after 1s: the command was ended (--timeout)\n"
    await until(lambda: session.closed, 10, message="the session ended when kctl left")


async def test_exec_into_a_missing_pod_reads_like_kubectl(web: FakeRuntime, kctl: Any) -> None:
    assert await kctl("exec", "ghost", "--", "true") == (
        1, "", 'Error from server (NotFound): pods "ghost" not found\n')
    assert web.sessions == []


async def test_exec_checks_the_pod_and_its_container_as_kubectl_does(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Any) -> None:
    rt, _ = node
    for cid, name in (("ca", "a"), ("cb", "b")):
        rt.add_container(cid, "two", name)
    async with http(apiserver) as c:
        await make_pod(c, "two", containers=("a", "b"))
        await make_pod(c, "done")
        r = await c.patch("/api/v1/namespaces/default/pods/done/status",
                          json={"status": {"phase": "Succeeded"}},
                          headers={"Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200, r.text
    assert await kctl("exec", "two", "--", "true") == (
        0, "", 'Defaulted container "a" out of: a, b\n')
    assert await kctl("exec", "-q", "two", "-c", "b", "--", "true") == (0, "", "")
    assert [s[0] for s in rt.sessions] == ["ca", "cb"]
    assert await kctl("exec", "two", "-c", "nope", "--", "true") == (
        1, "", "error: container nope is not valid for pod two out of: a, b\n")
    assert await kctl("exec", "done", "--", "true") == (
        1, "", "error: cannot exec into a container in a completed pod; current phase is "
        "Succeeded\n")
    assert await kctl("exec", "-n", "nons", "two", "--", "true") == (
        1, "", 'Error from server (NotFound): namespaces "nons" not found\n')
    assert await kctl("exec", "two") == (
        1, "", "error: you must specify at least one command for the container\n")
    assert len(rt.sessions) == 2  # none of the refused ones reached the node
