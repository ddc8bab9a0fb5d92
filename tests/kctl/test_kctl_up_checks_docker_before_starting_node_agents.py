"""kctl up's Docker pre-flight: ``GET /_ping`` on $DOCKER_HOST's socket (a stand-in
daemon here, on a unix socket in the test's directory), the reason printed when it does
not answer, node agents not started then; and a running component stays recorded (so
``kctl down`` stops it) even when its row is not available any more."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from jetkube.cli import components
from jetkube.cli import up as upmod
from jetkube.cli.components import COMPONENTS, Component, docker_problem
from jetkube.cli.main import run
from jetkube.cli.procs import alive

KUBELET = next(c for c in COMPONENTS if c.name == "kubelet")


class FakeDaemon:
    """Answers each connection on a unix socket with ``reply`` (None: never answers)."""

    def __init__(self, path: Path, reply: bytes | None) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen()
        self.reply = reply
        self.requests: list[bytes] = []
        self.held: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.requests.append(conn.recv(1024))
            if self.reply is None:
                self.held.append(conn)
                continue
            conn.sendall(self.reply)
            conn.close()

    def close(self) -> None:
        self.sock.close()
        for c in self.held:
            c.close()


@pytest.fixture
def sock_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "d"  # unix socket paths are short
    d.mkdir()
    yield d


def test_a_daemon_that_answers_ping_is_reachable(sock_dir: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    daemon = FakeDaemon(sock_dir / "docker.sock", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
    try:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{sock_dir / 'docker.sock'}")
        assert docker_problem() is None
        assert daemon.requests[0].startswith(b"GET /_ping HTTP/1.0\r\n")
    finally:
        daemon.close()


def test_unreachable_daemons_say_why(sock_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = sock_dir / "none.sock"
    monkeypatch.setenv("DOCKER_HOST", f"unix://{missing}")
    assert docker_problem() == (f"Docker is not reachable (no socket at {missing}): start dockerd "
                                "or use --runtime sim")

    dead = sock_dir / "dead.sock"  # a socket file nobody listens on
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(dead))
    s.close()
    monkeypatch.setenv("DOCKER_HOST", f"unix://{dead}")
    assert f"(unix://{dead}: connection refused)" in str(docker_problem())

    broken = FakeDaemon(sock_dir / "err.sock", b"HTTP/1.1 500 Internal Server Error\r\n\r\n")
    silent = FakeDaemon(sock_dir / "mute.sock", None)
    try:
        monkeypatch.setenv("DOCKER_HOST", f"unix://{sock_dir / 'err.sock'}")
        assert "/_ping answered 'HTTP/1.1 500 Internal Server Error'" in str(docker_problem())
        monkeypatch.setenv("DOCKER_HOST", f"unix://{sock_dir / 'mute.sock'}")
        assert "no answer within 0.2s" in str(docker_problem(timeout=0.2))
    finally:
        broken.close()
        silent.close()


SLEEPER = Component(name="sleeper", argv=lambda p, i: [
    sys.executable, "-c", "import time; time.sleep(600)", "sleeper"], available=lambda p: None)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "jk"
    yield d
    state = upmod.load_state(d)  # never leave a process of ours behind (supervisor first)
    for rec in sorted(state.processes if state else [], key=lambda r: r.name != "supervisor"):
        if alive(rec.pid):
            os.kill(rec.pid, signal.SIGKILL)


def _components(state: upmod.State) -> list[str]:
    """The recorded processes but the supervisor (kctl up's own, always there)."""
    return [r.name for r in state.processes if r.name != upmod.SUPERVISOR]


def test_up_prints_why_docker_node_agents_are_not_started(
        data_dir: Path, sock_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(upmod, "COMPONENTS", [SLEEPER, KUBELET])
    monkeypatch.setattr(components, "script", lambda name, search_path=True: f"/opt/bin/{name}")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{sock_dir / 'none.sock'}")
    assert run(["up", "--data-dir", str(data_dir), "--nodes", "2"]) == 0
    out, err = capsys.readouterr()
    assert "started sleeper." in out
    assert (f"not started: kubelet: Docker is not reachable (no socket at {sock_dir}/none.sock): "
            "start dockerd or use --runtime sim") in err
    state = upmod.load_state(data_dir)
    assert state is not None and _components(state) == ["sleeper"]
    assert state.skipped[0]["component"] == "kubelet"
    assert run(["down", "--data-dir", str(data_dir)]) == 0


def test_a_running_component_stays_recorded_when_its_row_becomes_unavailable(
        data_dir: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    reason: list[str | None] = [None]
    flaky = Component(name="flaky", argv=SLEEPER.argv, available=lambda p: reason[0])
    late = Component(name="late", argv=SLEEPER.argv,
                     available=lambda p: "not yet" if reason[0] is None else None)
    monkeypatch.setattr(upmod, "COMPONENTS", [flaky, late])
    assert run(["up", "--data-dir", str(data_dir)]) == 0
    state = upmod.load_state(data_dir)
    assert state is not None and _components(state) == ["flaky"]
    pid = state.processes[0].pid
    # now flaky's row is unavailable (its process still runs) and late starts: the state
    # written keeps both
    reason[0] = "Docker is not reachable (...)"
    assert run(["up", "--data-dir", str(data_dir)]) == 0
    again = upmod.load_state(data_dir)
    assert again is not None and _components(again) == ["flaky", "late"]
    assert again.processes[0].pid == pid and not again.skipped
    assert run(["down", "--data-dir", str(data_dir)]) == 0
    assert not alive(pid)
    capsys.readouterr()
