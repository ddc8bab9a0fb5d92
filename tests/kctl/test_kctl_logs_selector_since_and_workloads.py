"""``kctl logs -l``, ``--since``, ``--prefix`` and ``logs|exec TYPE/NAME`` (the workload's
first pod, as kubectl picks it) against a real API server and a node agent's NATS face on a
scripted runtime (the ``node`` fixture of tests/conftest.py)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import pytest
from node_requests_fakes import NODE, FakeRuntime, http

from jetkube.cli import main as kctl_main
from jetkube.cli.commands.logs import log_params
from jetkube.cli.errors import CliError
from jetkube.cli.workloads import by_activity, by_logging

pytestmark = pytest.mark.integration


@pytest.fixture
def kctl(apiserver: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Any:
    monkeypatch.setenv("KUBECONFIG", "/nonexistent")

    async def run(*args: str) -> tuple[int, str, str]:
        argv = ["--server", str(apiserver["url"]), "--token", "admin-token", *args]
        code = await asyncio.to_thread(kctl_main.run, argv)
        out, err = capsys.readouterr()
        return code, out, err

    return run


async def labelled_pod(c: Any, name: str, phase: str) -> None:
    r = await c.post("/api/v1/namespaces/default/pods", json={
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {"nodeName": NODE, "containers": [{"name": "app", "image": "img"}]}})
    assert r.status_code == 201, r.text
    pod = r.json()
    pod["status"] = {"phase": phase}
    r = await c.put(f"/api/v1/namespaces/default/pods/{name}/status", json=pod)
    assert r.status_code == 200, r.text


async def web(rt: FakeRuntime, apiserver: dict[str, Any]) -> None:
    """Pods web-a (pending), web-b and web-c (running), each with one line of output, and a
    Deployment selecting them."""
    async with http(apiserver) as c:
        for name, phase in (("web-a", "Pending"), ("web-b", "Running"), ("web-c", "Running")):
            rt.add_container(name, name, "app")
            for i in range(12):
                rt.add(name, f"{name} {i}\n".encode())
            await labelled_pod(c, name, phase)
        r = await c.post("/apis/apps/v1/namespaces/default/deployments", json={
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "app", "image": "i"}]}}}})
        assert r.status_code == 201, r.text


async def test_logs_l_prints_the_last_10_lines_of_each_pod_with_prefixes(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Any) -> None:
    rt, _ = node
    await web(rt, apiserver)
    code, out, err = await kctl("logs", "-l", "app=web", "--prefix")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert len(lines) == 30 and lines[0] == "[pod/web-a/app] web-a 2"
    assert lines[-1] == "[pod/web-c/app] web-c 11"
    assert {c["tail"] for c in rt.log_calls} == {10}
    code, out, _ = await kctl("logs", "-l", "app=web", "--tail", "1", "--since", "1h")
    assert (code, out) == (0, "web-a 11\nweb-b 11\nweb-c 11\n")


async def test_logs_and_exec_of_a_deployment_use_its_first_pod(
        apiserver: dict[str, Any], node: tuple[FakeRuntime, Any], kctl: Any) -> None:
    rt, _ = node
    await web(rt, apiserver)
    code, out, err = await kctl("logs", "deploy/web", "--tail", "1")
    # running before pending; then the oldest: web-b
    assert (code, out, err) == (0, "web-b 11\n", "Found 3 pods, using pod/web-b\n")
    code, out, err = await kctl("exec", "deployment/web", "--", "echo", "hi")
    assert (code, out, err) == (0, "", "Found 3 pods, using pod/web-b\n")
    assert rt.sessions[-1][1] == ["echo", "hi"] and rt.infos[rt.sessions[-1][0]].pod.name == "web-b"


def test_since_becomes_seconds_and_the_tail_default_depends_on_the_selector() -> None:
    a = argparse.Namespace(follow=False, previous=False, timestamps=False, limit_bytes=0,
                           since="1m30s", since_time=None)
    assert log_params(a, 10) == {"follow": "false", "tailLines": "10", "sinceSeconds": "90"}
    a.since_time = "2024-01-01T00:00:00Z"
    with pytest.raises(CliError, match="at most one of --since-time / --since"):
        log_params(a, -1)


def test_the_first_pod_is_kubectls_choice_for_logs_and_for_exec() -> None:
    def pod(name: str, phase: str, ready: bool, created: str, node: str | None = "n",
            restarts: int = 0) -> dict[str, Any]:
        return {"metadata": {"name": name, "creationTimestamp": created},
                "spec": {"nodeName": node} if node else {},
                "status": {"phase": phase, "containerStatuses": [{"restartCount": restarts}],
                           "conditions": [{"type": "Ready",
                                           "status": "True" if ready else "False"}]}}
    pods = [pod("unscheduled", "Pending", False, "1", node=None),
            pod("pending", "Pending", False, "1"),
            pod("running-new", "Running", True, "3"),
            pod("running-old", "Running", True, "2"),
            pod("running-unready", "Running", False, "1"),
            pod("restarted", "Running", True, "4", restarts=2)]
    assert [p["metadata"]["name"] for p in sorted(pods, key=by_logging)] == [
        "restarted", "running-old", "running-new", "running-unready", "pending", "unscheduled"]
    assert [p["metadata"]["name"] for p in sorted(pods, key=by_activity)] == [
        "running-old", "running-new", "restarted", "running-unready", "pending", "unscheduled"]
