"""`kctl up` is idempotent, state survives down/up, and a store snapshot restores."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from cluster_e2e import BIN, Cluster, kctl_up

from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e


def _kctl(data_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {"KUBECONFIG": str(data_dir / "kubeconfig"), "PATH": "/usr/bin:/bin"}
    p = subprocess.run([str(BIN / "kctl"), *args], capture_output=True, text=True, env=env,
                       timeout=120)
    if check:
        assert p.returncode == 0, f"kctl {args}: {p.stdout}\n{p.stderr}"
    return p


def _pids(data_dir: Path) -> set[int]:
    info = json.loads((data_dir / "cluster.json").read_text())
    text = json.dumps(info)
    return {int(v) for k, v in _walk(info) if k == "pid"} if "pid" in text else set()


def _walk(obj: object) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.append((k, v))
            out += _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            out += _walk(v)
    return out


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper that is not ours does not count)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def test_up_twice_is_a_noop_and_state_survives_down_up(tmp_path: Path) -> None:
    d = tmp_path / "jk"
    port, nats_port = free_port(), free_port()
    kctl_up(d, port, nats_port)
    try:
        pids = _pids(d)
        assert pids and all(_alive(p) for p in pids)
        kctl_up(d, port, nats_port)  # a second `up` while it runs: a no-op
        again = _kctl(d, "up", "--data-dir", str(d))
        assert "already" in (again.stdout + again.stderr)
        assert _pids(d) == pids
        _kctl(d, "create", "configmap", "keep", "--from-literal", "a=1")
        # an official client holding an idle keep-alive TLS connection does not keep the
        # API server from stopping (it did for 10 s, until kctl down killed it)
        from kubernetes import client, config

        api = client.CoreV1Api(config.new_client_from_config(str(d / "kubeconfig")))
        assert api.read_namespaced_config_map("keep", "default").data == {"a": "1"}
        down = _kctl(d, "down", "--data-dir", str(d))
        assert "killed" not in down.stdout + down.stderr, down.stdout + down.stderr
        assert not [(p, Path(f"/proc/{p}/cmdline").read_bytes()) for p in pids if _alive(p)]
        api.api_client.close()
        kctl_up(d, port, nats_port)
        cm = json.loads(_kctl(d, "get", "cm", "keep", "-o", "json").stdout)
        assert cm["data"] == {"a": "1"}
    finally:
        _kctl(d, "down", "--data-dir", str(d), check=False)


def test_snapshot_save_and_restore(cluster: Cluster, tmp_path: Path) -> None:
    snap = tmp_path / "snap.jks"
    cluster.kctl("create", "namespace", "snapped")
    cluster.kctl("create", "configmap", "before", "-n", "snapped", "--from-literal", "v=1")
    # no --data-dir anywhere: kctl finds the cluster beside the kubeconfig in $KUBECONFIG
    cluster.kctl("store", "snapshot", "save", str(snap))
    assert snap.stat().st_size > 0
    cluster.kctl("create", "configmap", "after", "-n", "snapped", "--from-literal", "v=2")
    refused = cluster.kctl("store", "snapshot", "restore", str(snap), check=False)
    assert refused.returncode != 0 and "running" in refused.stderr
    cluster.kctl("down")
    try:
        cluster.kctl("store", "snapshot", "restore", str(snap))
    finally:
        kctl_up(cluster.data_dir, cluster.port, cluster.nats_port)
    names = cluster.kctl("get", "cm", "-n", "snapped", "-o", "name").stdout.split()
    assert "configmap/before" in names and "configmap/after" not in names


def _records(data_dir: Path) -> dict[str, dict[str, object]]:
    info = json.loads((data_dir / "cluster.json").read_text())
    return {r["name"]: r for r in info["processes"]}


def test_up_with_another_node_count_adds_and_removes_node_agents(tmp_path: Path) -> None:
    from polling import wait_until

    d = tmp_path / "jk"
    port, nats_port = free_port(), free_port()
    kctl_up(d, port, nats_port, nodes=1, runtime="sim")
    try:
        _kctl(d, "up", "--data-dir", str(d), "--nodes", "2")
        agents = {n: r for n, r in _records(d).items() if r["component"] == "kubelet"}
        assert len(agents) == 2, agents

        def ready_nodes() -> set[str]:
            nodes = json.loads(_kctl(d, "get", "nodes", "-o", "json").stdout)["items"]
            return {n["metadata"]["name"] for n in nodes
                    if any(c["type"] == "Ready" and c["status"] == "True"
                           for c in n["status"].get("conditions", []))}

        wait_until(ready_nodes, accept=lambda s: len(s) == 2, timeout=60,
                   message="two Ready nodes after kctl up --nodes 2")
        out = _kctl(d, "up", "--data-dir", str(d), "--nodes", "1").stdout
        gone = [r for r in agents.values() if r["name"] not in _records(d)]
        assert len(gone) == 1 and f"{gone[0]['name']} (pid {gone[0]['pid']}): stopped" in out
        assert not _alive(int(str(gone[0]["pid"])))
        kept = [r for r in agents.values() if r["name"] in _records(d)]
        assert len(kept) == 1 and _alive(int(str(kept[0]["pid"])))
    finally:
        _kctl(d, "down", "--data-dir", str(d), check=False)
