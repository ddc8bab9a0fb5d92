"""``kctl top`` (its rows, as kubectl prints them, from metrics.k8s.io answers), ``kctl
completion bash|zsh`` (a script bash accepts and that completes), a subcommand's own usage
on a bad flag, and ``create deployment NAME --image X -- CMD ARGS``."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from kctl_localcluster import LocalCluster

from jetkube.cli.main import run

NODES = [{"metadata": {"name": n}, "status": {"allocatable": {"cpu": "2", "memory": "4Gi"},
                                              "capacity": {"cpu": "4", "memory": "8Gi"}}}
         for n in ("n1", "n2", "n3")]
NODE_METRICS = [{"metadata": {"name": "n1"}, "usage": {"cpu": "250000000n", "memory": "1Gi"}},
                {"metadata": {"name": "n2"}, "usage": {"cpu": "1500m", "memory": "512Mi"}}]
POD_METRICS = [{"metadata": {"name": "web", "namespace": "default"}, "containers": [
    {"name": "app", "usage": {"cpu": "20m", "memory": "32Mi"}},
    {"name": "side", "usage": {"cpu": "2m", "memory": "8Mi"}}]},
    {"metadata": {"name": "db", "namespace": "default"}, "containers": [
        {"name": "db", "usage": {"cpu": "100m", "memory": "16Mi"}}]}]


def metrics_api(request: httpx.Request) -> httpx.Response:
    docs: dict[str, Any] = {
        "/api/v1/nodes": {"items": NODES},
        "/apis/metrics.k8s.io/v1beta1/nodes": {"items": NODE_METRICS},
        "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods": {"items": POD_METRICS},
    }
    doc = docs.get(request.url.path)
    if doc is None:
        return httpx.Response(404, json={"kind": "Status", "code": 404, "reason": "NotFound",
                                         "message": "not found"})
    return httpx.Response(200, json=doc)


def kctl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--server", "http://api.test", *args],
               transport=httpx.MockTransport(metrics_api))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")


def test_top_node_prints_usage_and_percent_of_allocatable(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert kctl(capsys, "top", "node") == (0, (
        "NAME   CPU(cores)   CPU(%)      MEMORY(bytes)   MEMORY(%)   \n"
        "n1     250m         12%         1024Mi          25%         \n"
        "n2     1500m        75%         512Mi           12%         \n"
        "n3     <unknown>    <unknown>   <unknown>       <unknown>   \n"), "")
    _, out, _ = kctl(capsys, "top", "nodes", "--sort-by=memory", "--show-capacity",
                        "--no-headers")
    assert out.splitlines()[0].split() == ["n1", "250m", "6%", "1024Mi", "12%"]


def test_top_pod_sums_containers_or_shows_each(capsys: pytest.CaptureFixture[str]) -> None:
    assert kctl(capsys, "top", "pod") == (0, (
        "NAME   CPU(cores)   MEMORY(bytes)   \n"
        "web    22m          40Mi            \n"
        "db     100m         16Mi            \n"), "")
    _, out, _ = kctl(capsys, "top", "pods", "--containers", "--sort-by", "cpu")
    assert [line.split() for line in out.splitlines()] == [
        ["POD", "NAME", "CPU(cores)", "MEMORY(bytes)"], ["db", "db", "100m", "16Mi"],
        ["web", "app", "20m", "32Mi"], ["web", "side", "2m", "8Mi"]]


def test_completion_scripts_complete_commands_and_flags(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, script, _ = kctl(capsys, "completion", "bash")
    assert code == 0
    code, zsh, _ = kctl(capsys, "completion", "zsh")
    assert zsh.startswith("#compdef kctl\nautoload -U +X bashcompinit && bashcompinit\n")
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("no bash to load the script")
    (tmp_path / "kctl.bash").write_text(script)
    probe = ('source "$1"\ncomp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); '
             'COMPREPLY=(); _kctl; echo "${COMPREPLY[*]}"; }\n'
             "comp kctl dra\ncomp kctl set ''\ncomp kctl drain --ignore\n"
             "comp kctl top pod --cont\n")
    p = subprocess.run([bash, "-c", probe, "probe", str(tmp_path / "kctl.bash")],
                       capture_output=True, text=True, timeout=30)
    assert p.stdout.splitlines() == ["drain", "image", "--ignore-daemonsets",
                                     "--containers --context"]


def test_a_bad_flag_prints_the_subcommands_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = kctl(capsys, "get", "pods", "--bogus")
    assert code == 2 and out == ""
    assert err.startswith("usage: kctl get ")
    assert err.endswith("kctl get: error: unrecognized arguments: --bogus\n")
    code, _, err = kctl(capsys, "set", "image", "deploy/x", "a=b", "--bogus")
    assert err.startswith("usage: kctl set image ")
    assert "kctl set image: error: unrecognized arguments: --bogus" in err


def test_create_deployment_takes_the_command_after_the_dashes(cluster: LocalCluster) -> None:
    code, out, _ = cluster.kctl("create", "deployment", "web", "--image", "busybox:1.36",
                                "--image", "example.com/tools/side:2", "--dry-run=client",
                                "-o", "yaml", "--", "sleep", "3600")
    obj = yaml.safe_load(out)
    assert code == 0 and "&id" not in out  # no YAML anchors for the shared labels
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert containers == [{"name": "busybox", "image": "busybox:1.36",
                           "command": ["sleep", "3600"]},
                          {"name": "side", "image": "example.com/tools/side:2",
                           "command": ["sleep", "3600"]}]
    code, out, _ = cluster.kctl("create", "deployment", "web", "--image", "busybox", "--",
                                "date")
    assert (code, out) == (0, "deployment.apps/web created\n")
    stored = cluster.get("/apis/apps/v1/namespaces/default/deployments/web")
    assert stored is not None
    assert stored["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]
    assert json.dumps(stored)  # stored as sent
