"""kctl's streaming verbs against a real API server and a node agent's NATS face.

exec -i/-t, attach, cp and port-forward go through kctl's own WebSocket client
(cli/streamclient.py) to the API server's streams (v5.channel.k8s.io; port-forward:
SPDY/3.1 in the WebSocket).  The node side is the scripted FakeRuntime of the ``node``
fixture: its sessions echo stdin until the stdin close, then end with the code of an
``exit N`` command; port-forward reaches a TCP echo server on 127.0.0.1 (the pod's IP).
"""

from __future__ import annotations

import asyncio
import functools
import io
import os
import pty
import socket
import struct
import tarfile
import termios
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from node_requests_fakes import FakeRuntime, http
from polling import until

from jetkube.cli import main as kctl_main
from jetkube.cli import portforward

pytestmark = pytest.mark.integration

Kctl = Callable[..., Any]


@pytest.fixture
def kctl(apiserver: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Kctl:
    """Run kctl in a thread with ``stdin`` (the API server shares this event loop);
    → (code, out, err)."""
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")

    async def run(*args: str, stdin: bytes | Any = b"") -> tuple[int, str, str]:
        source = io.TextIOWrapper(io.BytesIO(stdin)) if isinstance(stdin, bytes) else stdin
        monkeypatch.setattr("sys.stdin", source)
        argv = ["--server", str(apiserver["url"]), "--token", "admin-token", *args]
        code = await asyncio.to_thread(kctl_main.run, argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def test_exec_i_forwards_stdin_and_exits_with_the_commands_code(
        web: FakeRuntime, kctl: Kctl) -> None:
    assert await kctl("exec", "-i", "web", "--", "cat", stdin=b"line one\nline two\n") == (
        0, "line one\nline two\n", "")
    code, out, err = await kctl("exec", "-i", "pod/web", "--", "exit", "3", stdin=b"hi\n")
    assert (code, out) == (3, "hi\n")
    assert err == "command terminated with exit code 3\n"
    assert [s[1:4] for s in web.sessions] == [(["cat"], True, False), (["exit", "3"], True, False)]


async def test_exec_it_without_a_terminal_drops_the_tty_like_kubectl(
        web: FakeRuntime, kctl: Kctl) -> None:
    code, out, err = await kctl("exec", "-it", "web", "--", "cat", stdin=b"x")
    assert (code, out) == (0, "x")
    assert err == "Unable to use a TTY - input is not a terminal or the right kind of file\n"
    assert web.sessions[0][3] is False


@pytest.fixture
def terminal() -> Iterator[tuple[int, Any]]:
    """A pty of 111x33: (master fd, the slave as kctl's binary stdin)."""
    master, slave = pty.openpty()
    import fcntl

    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 33, 111, 0, 0))
    stdin = os.fdopen(slave, "rb", buffering=0)
    yield master, stdin
    stdin.close()
    os.close(master)


class EchoOnce:
    """A session that echoes its first input and then exits 0 (a shell that ran one line)."""

    def __init__(self) -> None:
        self.out: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.sizes: list[tuple[int, int]] = []

    async def output(self) -> Any:
        while (item := await self.out.get()) is not None:
            yield item

    async def write(self, data: bytes) -> None:
        await self.out.put((1, data))
        await self.out.put(None)

    async def close_stdin(self) -> None:
        await self.out.put(None)

    async def resize(self, width: int, height: int) -> None:
        self.sizes.append((width, height))

    async def exit_code(self) -> int | None:
        return 0

    async def close(self) -> None:
        self.out.put_nowait(None)


async def test_exec_it_on_a_terminal_sends_its_size_and_restores_it(
        web: FakeRuntime, kctl: Kctl, terminal: tuple[int, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    master, stdin = terminal
    before = termios.tcgetattr(stdin.fileno())
    sessions: list[tuple[list[str] | None, bool, bool, EchoOnce]] = []

    async def open_stream(cid: str, command: list[str] | None, *, stdin: bool,
                          tty: bool) -> EchoOnce:
        sessions.append((command, stdin, tty, EchoOnce()))
        return sessions[-1][3]

    monkeypatch.setattr(web, "open_stream", open_stream)

    class Stdin:  # what kctl reads sys.stdin.buffer as
        buffer = stdin

    run = asyncio.create_task(kctl("exec", "-it", "web", "--", "sh", stdin=Stdin()))
    await until(lambda: sessions and sessions[0][3].sizes, 10, message="the terminal's size")
    assert termios.tcgetattr(stdin.fileno()) != before  # raw while the session runs
    os.write(master, b"typed")
    code, out, _ = await asyncio.wait_for(run, 20)
    assert (code, out) == (0, "typed")
    command, with_stdin, tty, session = sessions[0]
    assert (command, with_stdin, tty, session.sizes) == (["sh"], True, True, [(111, 33)])
    assert termios.tcgetattr(stdin.fileno()) == before  # restored at the end


async def test_attach_i_reaches_the_container_and_a_missing_pod_is_not_found(
        web: FakeRuntime, kctl: Kctl) -> None:
    assert await kctl("attach", "-i", "web", stdin=b"hello\n") == (0, "hello\n", "")
    assert web.sessions[0][1] is None  # attach: no command
    code, _, err = await kctl("attach", "-i", "ghost", stdin=b"")
    assert code == 1 and err.startswith("Error from server (NotFound)")


class TarSession:
    """A pod's ``test -d``, ``tar -xmf - -C DIR`` and ``tar cf - PATH`` on a dict filesystem."""

    def __init__(self, fs: dict[str, bytes], command: list[str]) -> None:
        self.fs, self.command = fs, command
        self.stdin = bytearray()
        self.out: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self.code = 0
        if command[:2] == ["test", "-d"]:
            prefix = command[2].rstrip("/") + "/"
            self.code = 0 if any(k.startswith(prefix) for k in fs) else 1
            self.out.put_nowait(None)
        elif command[:3] == ["tar", "cf", "-"]:
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w") as tar:
                for name, data in sorted(fs.items()):
                    if name == command[3] or name.startswith(command[3].rstrip("/") + "/"):
                        info = tarfile.TarInfo(name.lstrip("/"))
                        info.size, info.mode = len(data), 0o640
                        tar.addfile(info, io.BytesIO(data))
            self.out.put_nowait((1, buf.getvalue()))
            self.out.put_nowait((2, b"tar: removing leading '/' from member names\n"))
            self.out.put_nowait(None)

    async def output(self) -> Any:
        while (item := await self.out.get()) is not None:
            yield item

    async def write(self, data: bytes) -> None:
        self.stdin += data

    async def close_stdin(self) -> None:
        with tarfile.open(fileobj=io.BytesIO(bytes(self.stdin))) as tar:
            for m in tar.getmembers():
                f = tar.extractfile(m)
                if f is not None:
                    self.fs[f"{self.command[-1].rstrip('/')}/{m.name}"] = f.read()
        await self.out.put(None)

    async def resize(self, width: int, height: int) -> None:
        return None

    async def exit_code(self) -> int | None:
        return self.code

    async def close(self) -> None:
        self.out.put_nowait(None)


async def test_cp_copies_into_a_directory_of_the_pod_and_back_out_with_tar(
        web: FakeRuntime, kctl: Kctl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fs: dict[str, bytes] = {"/tmp/.keep": b""}
    commands: list[list[str]] = []

    async def open_stream(cid: str, command: list[str] | None, *, stdin: bool,
                          tty: bool) -> TarSession:
        assert command is not None
        commands.append(command)
        return TarSession(fs, command)

    monkeypatch.setattr(web, "open_stream", open_stream)
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(200_000))
    assert await kctl("cp", str(src), "web:/tmp") == (0, "", "")
    assert commands == [["test", "-d", "/tmp"], ["tar", "-xmf", "-", "-C", "/tmp"]]
    assert fs["/tmp/in.bin"] == src.read_bytes()  # into the directory, named after the source
    back = tmp_path / "back.bin"
    # the pod's tar's stderr comes out on stdout, as kubectl prints it
    assert await kctl("cp", "default/web:/tmp/in.bin", str(back)) == (
        0, "tar: removing leading '/' from member names\n", "")
    assert commands[-1] == ["tar", "cf", "-", "/tmp/in.bin"]
    assert back.read_bytes() == src.read_bytes()
    code, _, err = await kctl("cp", str(tmp_path / "nope"), "web:/tmp")
    assert (code, err) == (1, f"error: {tmp_path / 'nope'} doesn't exist in local filesystem\n")


def everything_under(root: Path) -> set[Path]:
    return {p.relative_to(root) for p in root.rglob("*")}


async def test_cp_from_a_hostile_pod_writes_nothing_outside_the_destination(
        web: FakeRuntime, kctl: Kctl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pod's tar is the pod's to forge: members climbing out with ``..`` and links are
    not written (kubectl's cp skips them too); the honest member still arrives."""
    fs = {"/tmp/d/ok.txt": b"fine"}

    def forged(session: TarSession) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, data in (("tmp/d/ok.txt", b"fine"),
                               ("tmp/d/../../../escaped.txt", b"evil")):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo("tmp/d/passwd")
            link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
            tar.addfile(link)
        session.out = asyncio.Queue()
        session.out.put_nowait((1, buf.getvalue()))
        session.out.put_nowait(None)

    async def open_stream(cid: str, command: list[str] | None, *, stdin: bool,
                          tty: bool) -> TarSession:
        assert command is not None
        session = TarSession(fs, command)
        if command[:3] == ["tar", "cf", "-"]:
            forged(session)
        return session

    monkeypatch.setattr(web, "open_stream", open_stream)
    work = tmp_path / "work"
    dest = work / "inbox" / "d"
    dest.parent.mkdir(parents=True)
    code, out, err = await kctl("cp", "web:/tmp/d", str(dest))
    assert code == 0, err
    assert (dest / "ok.txt").read_bytes() == b"fine"
    assert not (dest / "passwd").exists() and not (dest / "passwd").is_symlink()
    assert "skipping symlink" in out + err
    assert everything_under(work) == {Path("inbox"), Path("inbox/d"), Path("inbox/d/ok.txt")}
    assert not [p for p in everything_under(tmp_path) if p.name == "escaped.txt"]


def _ipv6_loopback() -> bool:
    try:
        with socket.create_server(("::1", 0), family=socket.AF_INET6):
            return True
    except OSError:
        return False


IPV6 = _ipv6_loopback()


async def test_port_forward_carries_connections_to_the_pods_port(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], web: FakeRuntime, kctl: Kctl,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the fake node finds containers by name; a port-forward asks for the pod's any
    monkeypatch.setattr(node[1], "find_container", lambda ns, pod, container: "c1")
    echo = socket.create_server(("127.0.0.1", 0))
    remote = echo.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = echo.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    async with http(apiserver) as c:
        r = await c.patch("/api/v1/namespaces/default/pods/web/status",
                          json={"status": {"phase": "Running", "podIP": "127.0.0.1"}},
                          headers={"Content-Type": "application/merge-patch+json"})
        assert r.status_code == 200, r.text
    stop = threading.Event()
    monkeypatch.setattr(portforward, "forward", functools.partial(portforward.forward, stop=stop))
    local = socket.create_server(("127.0.0.1", 0))
    port = local.getsockname()[1]
    local.close()
    run = asyncio.create_task(kctl("port-forward", "pod/web", f"{port}:{remote}"))

    def exchange(payload: bytes, host: str = "127.0.0.1") -> bytes:
        with socket.create_connection((host, port), timeout=10) as s:
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := s.recv(65536):
                got += chunk
            return got

    try:
        first = await until(lambda: asyncio.to_thread(exchange, b"hello"), 20,
                            retry_on=OSError, message="an answer through the tunnel")
        assert first == b"HELLO"
        big = os.urandom(100_000).hex().encode()
        assert await asyncio.to_thread(exchange, big) == big.upper()
        if IPV6:  # kubectl's --address localhost: [::1] as well
            assert await asyncio.to_thread(exchange, b"six", "::1") == b"SIX"
    finally:
        stop.set()
        echo.close()
    code, out, err = await asyncio.wait_for(run, 20)
    assert code == 0, err
    assert out.splitlines()[0] == f"Forwarding from 127.0.0.1:{port} -> {remote}"
    if IPV6:
        assert out.splitlines()[1] == f"Forwarding from [::1]:{port} -> {remote}"
    assert out.count(f"Handling connection for {port}") >= 3 if IPV6 else 2


async def test_run_rm_i_attaches_then_exits_with_the_pods_code_and_deletes_it(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Kctl) -> None:
    rt, _ = node
    rt.add_container("c9", "once", "once")
    run = asyncio.create_task(kctl("run", "once", "--rm", "-i", "--restart=Never",
                                   "--image=img", "--", "sh", stdin=b"hello\n"))
    async with http(apiserver) as c:
        path = "/api/v1/namespaces/default/pods/once"
        pod = await until(lambda: c.get(path), 20, accept=lambda r: r.status_code == 200,
                          message="kctl created the pod")
        spec = pod.json()["spec"]["containers"][0]
        assert (spec["stdin"], spec["stdinOnce"], spec["tty"]) == (True, True, False)
        r = await c.post(f"{path}/binding", json={
            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "once"},
            "target": {"kind": "Node", "name": node_name()}})
        assert r.status_code == 201, r.text
        await status(c, path, {"phase": "Running"})
        await until(lambda: rt.sessions, 20, message="kctl attached")
        await until(lambda: not node[1].sessions_open(), 20, message="the session ended")
        await status(c, path, {"phase": "Failed", "containerStatuses": [{
            "name": "once", "ready": False, "restartCount": 0, "image": "img", "imageID": "",
            "state": {"terminated": {"exitCode": 3, "reason": "Error"}}}]})
        code, out, err = await asyncio.wait_for(run, 20)
        assert (code, out) == (3, 'hello\npod "once" deleted from default namespace\n')
        assert err == "pod default/once terminated (Error)\n"
        assert rt.sessions[0][1:4] == (None, True, False)  # attach, with stdin
        r = await c.get(path)  # deleted: gone, or (bound, no kubelet here) terminating
        assert r.status_code == 404 or r.json()["metadata"].get("deletionTimestamp")


def node_name() -> str:
    from node_requests_fakes import NODE

    return str(NODE)


async def status(c: Any, path: str, body: dict[str, Any]) -> None:
    r = await c.patch(f"{path}/status", json={"status": body},
                      headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 200, r.text


async def test_port_forward_to_a_service_forwards_to_its_pods_named_target_port(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Kctl,
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with http(apiserver) as c:
        r = await c.post("/api/v1/namespaces/default/pods", json={
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api-1", "labels": {"app": "api"}},
            "spec": {"nodeName": node_name(), "containers": [{
                "name": "app", "image": "img",
                "ports": [{"name": "http", "containerPort": 8080}]}]}})
        assert r.status_code == 201, r.text
        r = await c.post("/api/v1/namespaces/default/services", json={
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
            "spec": {"selector": {"app": "api"},
                     "ports": [{"port": 80, "targetPort": "http"}]}})
        assert r.status_code == 201, r.text
    forwarded: list[tuple[str, list[tuple[int, int]]]] = []
    monkeypatch.setattr(portforward, "forward",
                        lambda ctx, pod, ports: forwarded.append((pod, ports)) or 0)
    assert (await kctl("port-forward", "svc/api", "9999:80", ":80"))[0] == 0
    assert forwarded == [("api-1", [(9999, 8080), (0, 8080)])]  # ":80": any free local port
    code, _, err = await kctl("port-forward", "svc/api", "81")
    assert (code, err) == (1, "error: Service api does not have a service port 81\n")
