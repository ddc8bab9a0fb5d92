"""``kctl up`` and ``kctl down`` say what they are doing while they do it: each component
starting, what its health check still waits for, healthy (and how long it took), each one
stopping and how.  A live table on a terminal, plain lines when piped (issue 16, deliver 3).

The up/down tests swap the component table for nats-server plus a stand-in process, as
test_kctl_up.py does."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kctl_updir import kill_recorded, up_ports

from jetkube.cli import up as upmod
from jetkube.cli.components import COMPONENTS, Component
from jetkube.cli.main import run
from jetkube.cli.progress import LiveProgress, PlainProgress, Step, for_terminal

SLOW = Component(name="slow", argv=lambda p, i: [sys.executable, "-c",
                                                  "import time; time.sleep(600)"],
                 available=lambda p: None, instances=lambda p: 1,
                 health=lambda p, i: _health.pop(0) if _health else None)
_health: list[str | None] = []


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(upmod, "COMPONENTS", [COMPONENTS[0], SLOW])
    d = tmp_path / "jk"
    yield d
    kill_recorded(d)


_ports = up_ports


@pytest.mark.integration
def test_up_reports_each_start_wait_and_health_then_down_each_stop(data_dir: Path) -> None:
    steps: list[Step] = []
    _health[:] = ["listening on nothing yet"] * 8  # the stand-in's health check, in turn
    ports = _ports()
    overrides = {"api_port": int(ports[1]), "nats_port": int(ports[3]),
                 "nats_monitor_port": int(ports[5]), "nodes": 0}
    upmod.up(data_dir, overrides, timeout=30, report=steps.append)
    seen = [(s.name, s.phase) for s in steps]
    assert seen.index(("nats", "starting")) < seen.index(("nats", "healthy")) \
        < seen.index(("slow", "starting")) < seen.index(("slow", "waiting")) \
        < seen.index(("slow", "healthy"))
    waits = [s for s in steps if s.name == "slow" and s.phase == "waiting"]
    assert waits and all(s.detail == "listening on nothing yet" for s in waits)
    healthy = next(s for s in steps if s.name == "slow" and s.phase == "healthy")
    assert healthy.seconds is not None and healthy.seconds > 0

    stops: list[Step] = []
    upmod.down(data_dir, report=stops.append)
    names = [s.name for s in stops if s.phase == "stopped"]
    assert names == ["supervisor", "slow", "nats"]  # the supervisor first, then last started
    assert all(s.detail == "stopped" for s in stops if s.phase == "stopped")
    assert [s.phase for s in stops[:2]] == ["stopping", "stopped"]


@pytest.mark.integration
def test_kctl_up_piped_writes_plain_progress_lines_to_stderr(
        data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _health[:] = []
    assert run(["up", "--data-dir", str(data_dir), "--nodes", "0", *_ports()]) == 0
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert "nats: starting" in lines and "slow: starting" in lines
    assert any(line.startswith("nats: healthy in ") for line in lines)
    assert "\x1b[" not in err  # no terminal codes in a pipe
    assert "jetkube is up" in out  # the summary stays on stdout
    assert run(["down", "--data-dir", str(data_dir)]) == 0
    _, err = capsys.readouterr()
    assert "slow: stopping" in err.splitlines()
    assert any(line.startswith("nats: stopped in ") for line in err.splitlines())


def test_plain_progress_says_each_new_reason_to_wait_once() -> None:
    buf = io.StringIO()
    p = PlainProgress(buf)
    for step in (Step("api", "starting"), Step("api", "waiting", "connection refused"),
                 Step("api", "waiting", "connection refused"), Step("api", "waiting", "503"),
                 Step("api", "healthy", seconds=1.25), Step("api", "stopping"),
                 Step("api", "stopped", "killed (did not stop within 10s of SIGTERM)", 10.0)):
        p(step)
    assert buf.getvalue().splitlines() == [
        "api: starting", "api: waiting (connection refused)", "api: waiting (503)",
        "api: healthy in 1.2s", "api: stopping",
        "api: killed (did not stop within 10s of SIGTERM) in 10.0s"]


def test_live_progress_draws_a_spinner_then_a_mark_per_component() -> None:
    from rich.console import Console

    screen = io.StringIO()
    live = LiveProgress(Console(file=screen, force_terminal=True, width=80))
    live(Step("nats", "starting"))
    live(Step("nats", "healthy", seconds=0.4))
    live(Step("apiserver", "starting"))
    live(Step("apiserver", "waiting", "503 from /readyz"))
    during = screen.getvalue()
    assert "starting: 503 from /readyz" in during and "\x1b[" in during  # drawn in place
    live(Step("apiserver", "healthy", seconds=2.0))
    live(Step("kubelet-node-1", "stopped", "left alone: the PID now belongs to another command"))
    live.close()
    last = screen.getvalue()
    assert "✓" in last and "healthy in 2.0s" in last and "!" in last


def test_for_terminal_is_plain_when_piped_or_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(for_terminal(io.StringIO()), PlainProgress)
    monkeypatch.setenv("NO_COLOR", "1")
    assert isinstance(for_terminal(Tty()), PlainProgress)
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("TERM", "xterm")
    live = for_terminal(Tty())
    assert isinstance(live, LiveProgress)
    live.close()
