"""`kctl down --purge` runs the node agent's and each node's proxy's own --cleanup, with
the cluster's data dir in the environment (so they find the cluster's scope) and the
proxy given the cluster's own ranges (not the defaults), and reports each command's
outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jetkube.cli import up as up_mod


def fake_script(tmp: Path, name: str, code: int = 0) -> str:
    exe = tmp / name
    exe.write_text(f'#!/bin/sh\necho "{name} $* $JETKUBE_DATA_DIR" >> {tmp}/calls\n'
                   f'echo "removed things"\nexit {code}\n')
    exe.chmod(0o755)
    return str(exe)


def test_purge_runs_kubelet_cleanup_and_one_proxy_cleanup_per_node(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "cluster"
    data_dir.mkdir()
    (data_dir / "cluster.json").write_text(json.dumps({
        "data_dir": str(data_dir), "nodes": 2, "runtime": "docker", "processes": [],
        "service_cidr": "10.78.0.0/16", "cluster_cidr": "10.77.0.0/16"}))
    scripts = {"jetkube-kubelet": fake_script(tmp_path, "jetkube-kubelet"),
               "jetkube-proxy": fake_script(tmp_path, "jetkube-proxy", code=3)}
    monkeypatch.setattr(up_mod, "script", lambda name, **kw: scripts.get(name))

    lines = up_mod.purge(data_dir)

    calls = (tmp_path / "calls").read_text().splitlines()
    ranges = "--service-cidr 10.78.0.0/16 --cluster-cidr 10.77.0.0/16"
    assert calls == [f"jetkube-kubelet --cleanup {data_dir}",
                     f"jetkube-proxy --cleanup --node-name node-1 {ranges} {data_dir}",
                     f"jetkube-proxy --cleanup --node-name node-2 {ranges} {data_dir}"]
    assert lines[0] == "jetkube-kubelet --cleanup: ok (removed things)"
    assert lines[1] == (f"jetkube-proxy --cleanup --node-name node-1 {ranges}: "
                        "exit 3 (removed things)")


def test_purge_without_the_services_installed_does_nothing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(up_mod, "script", lambda name, **kw: None)
    assert up_mod.purge(tmp_path) == []
