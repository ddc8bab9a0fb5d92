"""kctl up/down: the process table logic with a real nats-server, and a whole cluster.

The first tests swap the component table for nats-server plus a stand-in
process, so they run without the API server.  The last one drives the real
``kctl up`` (NATS + jetkube-apiserver) end to end and skips itself while the
API server cannot start yet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kctl_updir import kill_recorded, up_ports
from polling import wait_until

from jetkube.cli import up as upmod
from jetkube.cli.components import COMPONENTS, Component
from jetkube.cli.main import run
from jetkube.cli.plan import Plan
from jetkube.cli.procs import alive
from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.integration

SLEEPER = Component(name="sleeper", argv=lambda p, i: [sys.executable, "-c",
                                                        "import time; time.sleep(600)",
                                                        f"sleeper-{i}"],
                    available=lambda p: None, instances=lambda p: p.nodes,
                    instance_name=lambda i: f"sleeper-{i}")
MISSING = Component(name="kubelet-ish", argv=lambda p, i: ["false"],
                    available=lambda p: "jetkube-nothing is not installed")


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(upmod, "COMPONENTS", [COMPONENTS[0], SLEEPER, MISSING])


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    d = tmp_path / "jk"
    yield d
    kill_recorded(d)  # never leave processes behind, whatever the test did


_ports = up_ports


def _state(d: Path) -> dict[str, object]:
    return json.loads((d / "cluster.json").read_text())  # type: ignore[no-any-return]


def _pids(d: Path) -> dict[str, int]:
    procs = _state(d)["processes"]
    assert isinstance(procs, list)
    return {p["name"]: p["pid"] for p in procs}


def test_up_starts_the_table_and_up_again_is_a_no_op(
        table: None, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["up", "--data-dir", str(data_dir), "--nodes", "2", *_ports()]) == 0
    out, err = capsys.readouterr()
    assert "jetkube is up" in out and f"export KUBECONFIG={data_dir / 'kubeconfig'}" in out
    assert "not started: kubelet-ish: jetkube-nothing is not installed" in err
    pids = _pids(data_dir)
    assert set(pids) == {"nats", "sleeper-0", "sleeper-1", "supervisor"}
    for pid in pids.values():
        assert alive(pid) and os.getsid(pid) == pid  # detached: its own session
    assert (data_dir / "tokens.csv").stat().st_mode & 0o777 == 0o600
    token = (data_dir / "tokens.csv").read_text().split(",")[0]
    assert token in (data_dir / "kubeconfig").read_text()
    assert (data_dir / "logs" / "nats.log").exists()

    assert run(["up", "--data-dir", str(data_dir)]) == 0
    out, _ = capsys.readouterr()
    assert "already up" in out and "nothing to do" in out
    assert _pids(data_dir) == pids
    # the ports of a running cluster cannot change under it
    assert run(["up", "--data-dir", str(data_dir), *_ports()]) == 1
    assert "is running with api-port" in capsys.readouterr().err

    # a component that died is started again (by up, or first by the supervisor), the rest
    # is left as it is
    os.kill(pids["sleeper-1"], signal.SIGKILL)
    while alive(pids["sleeper-1"]):
        pass
    assert run(["up", "--data-dir", str(data_dir)]) == 0
    again = _pids(data_dir)
    assert again["nats"] == pids["nats"] and again["sleeper-0"] == pids["sleeper-0"]
    assert again["sleeper-1"] != pids["sleeper-1"]

    assert run(["down", "--data-dir", str(data_dir)]) == 0
    out, _ = capsys.readouterr()
    assert "nats (pid" in out and "stopped" in out
    assert not any(alive(p) for p in again.values())
    assert _state(data_dir)["processes"] == []
    assert (data_dir / "nats" / "jetstream").is_dir()  # the store stays
    assert run(["down", "--data-dir", str(data_dir)]) == 0
    assert "not running" in capsys.readouterr().out
    # the next up reuses the recorded ports (the kubeconfig stays valid)
    before = (data_dir / "kubeconfig").read_text()
    assert run(["up", "--data-dir", str(data_dir)]) == 0
    assert (data_dir / "kubeconfig").read_text() == before
    assert run(["down", "--data-dir", str(data_dir)]) == 0


def test_up_with_fewer_nodes_stops_the_extra_agents_and_more_starts_them(
        table: None, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["up", "--data-dir", str(data_dir), "--nodes", "3", *_ports()]) == 0
    pids = _pids(data_dir)
    assert {"sleeper-0", "sleeper-1", "sleeper-2"} <= set(pids)
    capsys.readouterr()

    assert run(["up", "--data-dir", str(data_dir), "--nodes", "1"]) == 0
    out, _ = capsys.readouterr()
    assert f"sleeper-2 (pid {pids['sleeper-2']}): stopped (no longer planned: --nodes 1)" in out
    assert f"sleeper-1 (pid {pids['sleeper-1']}): stopped" in out
    assert "2 stopped" in out and "already up" not in out
    assert not alive(pids["sleeper-1"]) and not alive(pids["sleeper-2"])
    after = _pids(data_dir)
    assert set(after) == {"nats", "sleeper-0", "supervisor"}  # no longer recorded
    assert after["sleeper-0"] == pids["sleeper-0"] and after["nats"] == pids["nats"]
    assert _state(data_dir)["nodes"] == 1

    assert run(["up", "--data-dir", str(data_dir), "--nodes", "2"]) == 0
    assert "started sleeper-1" in capsys.readouterr().out
    again = _pids(data_dir)
    assert alive(again["sleeper-1"]) and again["sleeper-0"] == pids["sleeper-0"]
    assert run(["down", "--data-dir", str(data_dir)]) == 0
    assert not any(alive(p) for p in again.values())


def test_down_never_signals_a_pid_that_is_no_longer_ours(
        table: None, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["up", "--data-dir", str(data_dir), "--nodes", "2", *_ports()]) == 0
    _stop_supervisor(data_dir)  # it would start a "dead" process again: here only down acts
    state = _state(data_dir)
    procs = state["processes"]
    assert isinstance(procs, list)
    other_cmd = next(p for p in procs if p["name"] == "sleeper-0")
    other_cmd["cmdline"] = other_cmd["argv"] = ["something", "else"]  # as if the PID were reused
    other_start = next(p for p in procs if p["name"] == "sleeper-1")
    other_start["start_ticks"] += 1  # same command line, but started at another time
    (data_dir / "cluster.json").write_text(json.dumps(state))
    assert run(["down", "--data-dir", str(data_dir)]) == 0
    out, _ = capsys.readouterr()
    for victim in (other_cmd, other_start):
        assert f"{victim['name']} (pid {victim['pid']}): left alone" in out
        assert alive(victim["pid"])
        os.kill(victim["pid"], signal.SIGKILL)
    assert "nats (pid" in out and "stopped" in out


def _stop_supervisor(d: Path) -> None:
    pid = _pids(d)["supervisor"]
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not alive(pid))


def test_the_supervisor_starts_a_killed_component_again_and_counts_it(
        table: None, data_dir: Path) -> None:
    assert run(["up", "--data-dir", str(data_dir), "--nodes", "1", *_ports()]) == 0
    pids = _pids(data_dir)
    assert alive(pids["supervisor"]) and alive(pids["sleeper-0"])  # the target exists
    for n in (1, 2):
        before = _pids(data_dir)["sleeper-0"]
        os.kill(before, signal.SIGKILL)
        rec = wait_until(lambda b=before: next(  # type: ignore[misc]
            (r for r in _state(data_dir)["processes"]  # type: ignore[attr-defined]
             if r["name"] == "sleeper-0" and r["pid"] != b), None), timeout=15)
        assert alive(rec["pid"]) and rec["restarts"] == n and rec["last_exit"]
        assert f"sleeper-0 (pid {before}) exited" in (data_dir / "logs" /
                                                      "supervisor.log").read_text()
    after = _pids(data_dir)
    assert after["nats"] == pids["nats"]  # the others are left alone
    assert run(["down", "--data-dir", str(data_dir)]) == 0
    assert not any(alive(p) for p in after.values())


def test_up_refuses_a_busy_port(table: None, data_dir: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        code = run(["up", "--data-dir", str(data_dir), "--nats-port", str(busy),
                    "--port", str(free_port()), "--nats-monitor-port", str(free_port())])
    _, err = capsys.readouterr()
    assert code == 1
    assert f"port {busy} on 127.0.0.1 is in use" in err


def test_a_component_that_dies_points_at_its_log(monkeypatch: pytest.MonkeyPatch,
                                                 data_dir: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    crash = Component(name="crasher", argv=lambda p, i: [
        sys.executable, "-c", "import sys; print('boom: bad flag'); sys.exit(3)"],
        available=lambda p: None)
    monkeypatch.setattr(upmod, "COMPONENTS", [COMPONENTS[0], crash])
    code = run(["up", "--data-dir", str(data_dir), *_ports()])
    _, err = capsys.readouterr()
    assert code == 1
    assert "crasher exited with code 3 during start-up" in err
    assert str(data_dir / "logs" / "crasher.log") in err and "boom: bad flag" in err
    assert run(["down", "--data-dir", str(data_dir)]) == 0  # nats, started before, stops


def _apiserver_problem() -> str | None:
    if upmod.COMPONENTS[1].available(Plan(data_dir=Path("/nonexistent"))) is not None:
        return "jetkube-apiserver is not installed yet"
    r = subprocess.run([sys.executable, "-c", "import jetkube.services.apiserver.main"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["?"])[-1]
        return f"jetkube-apiserver cannot start yet ({last})"
    return None


def _kctl_bin() -> str:
    exe = Path(sys.executable).parent / "kctl"
    return str(exe) if exe.exists() else "kctl"


def test_kctl_up_runs_a_real_cluster_and_down_keeps_its_state(data_dir: Path,
                                                              tmp_path: Path) -> None:
    problem = _apiserver_problem()
    if problem:
        pytest.skip(f"needs the API server: {problem}")
    env = {**os.environ, "KUBECONFIG": str(data_dir / "kubeconfig")}

    def kctl(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        r = subprocess.run([_kctl_bin(), *argv], capture_output=True, text=True, env=env,
                           timeout=120)
        if check:
            assert r.returncode == 0, f"kctl {' '.join(argv)}: {r.stdout}\n{r.stderr}"
        return r

    try:
        r = kctl("up", "--data-dir", str(data_dir), "--nodes", "0", *_ports())
        assert "jetkube is up" in r.stdout
        assert "already up" in kctl("up", "--data-dir", str(data_dir)).stdout
        info = kctl("cluster-info")
        assert "Kubernetes control plane is running at https://127.0.0.1:" in info.stdout
        assert "nats (JetStream store)" in info.stdout
        manifest = tmp_path / "cm.yaml"
        manifest.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\n"
                            "data: {k: v}\n")
        assert kctl("apply", "-f", str(manifest)).stdout.strip() == "configmap/keep created"
        assert kctl("apply", "-f", str(manifest)).stdout.strip() == "configmap/keep unchanged"
        snap = tmp_path / "snap"
        kctl("store", "snapshot", "save", str(snap), "--data-dir", str(data_dir))
        refused = kctl("store", "snapshot", "restore", str(snap), "--data-dir", str(data_dir),
                       check=False)
        assert refused.returncode == 1 and "is running" in refused.stderr

        kctl("down", "--data-dir", str(data_dir))
        assert kctl("get", "cm", "keep", check=False).returncode == 1
        kctl("up", "--data-dir", str(data_dir))
        assert "keep" in kctl("get", "cm", "keep", "-o", "name").stdout  # state survived

        kctl("delete", "cm", "keep")
        kctl("down", "--data-dir", str(data_dir))
        kctl("store", "snapshot", "restore", str(snap), "--data-dir", str(data_dir))
        kctl("up", "--data-dir", str(data_dir))
        assert "keep" in kctl("get", "cm", "keep", "-o", "name").stdout  # restored
    finally:
        subprocess.run([_kctl_bin(), "down", "--data-dir", str(data_dir)], env=env,
                       capture_output=True, timeout=120)
