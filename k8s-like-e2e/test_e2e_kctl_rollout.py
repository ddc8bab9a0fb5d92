"""kctl rollout and scale against a `kctl up` cluster with hollow nodes.

Apply a Deployment, wait with `rollout status`, change its image, wait again,
read `rollout history`, `rollout undo` back to the first image, then `scale`
to 5 and to 1.  Needs the controller-manager (Deployment and ReplicaSet
controllers) and the scheduler; the hollow nodes mark bound pods Running and
Ready.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest
from cluster_e2e import Cluster
from polling import wait_until

from jetkube.cli.components import script

pytestmark = pytest.mark.e2e


def _missing() -> str | None:
    for module in ("jetkube.services.controllers.deployment",
                   "jetkube.services.controllers.replicaset",
                   "jetkube.services.scheduler.main"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed yet"
        except ImportError:
            return f"{module} is not installed yet"
    for name in ("jetkube-controller-manager", "jetkube-scheduler"):
        if script(name, search_path=False) is None:
            return f"{name} is not installed yet"
    return None


NS = "rollout"
MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: rollout
  annotations:
    kubernetes.io/change-cause: {cause}
spec:
  replicas: 3
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      nodeSelector: {{jetkube.io/hollow: "rollout"}}
      containers:
      - name: web
        image: {image}
"""


def _apply(cluster: Cluster, image: str, cause: str) -> None:
    out = cluster.kctl("apply", "-f", "-", input=MANIFEST.format(image=image, cause=cause)).stdout
    assert out.strip().startswith("deployment.apps/web ")


def _rolled_out(cluster: Cluster) -> list[str]:
    out = cluster.kctl("rollout", "status", "deployment/web", "-n", NS, "--timeout=60s",
                       timeout=90).stdout.splitlines()
    assert out[-1] == 'deployment "web" successfully rolled out', out
    return out


def _json(cluster: Cluster, *args: str) -> Any:
    return json.loads(cluster.kctl("get", *args, "-n", NS, "-o", "json").stdout)


def _pods(cluster: Cluster) -> list[dict[str, Any]]:
    items = _json(cluster, "pods", "-l", "app=web")["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def _wait_pods(cluster: Cluster, n: int, image: str, timeout: float = 30) -> None:
    def have() -> tuple[list[tuple[str, str]], int]:
        """(name, image) of every pod, and how many are not being deleted."""
        all_pods = _json(cluster, "pods", "-l", "app=web")["items"]
        return [(p["metadata"]["name"], p["spec"]["containers"][0]["image"]) for p in all_pods], len(
            [p for p in all_pods if not p["metadata"].get("deletionTimestamp")])

    def done(got: tuple[list[tuple[str, str]], int]) -> bool:
        pods, live = got
        return len(pods) == n == live and {img for _, img in pods} == {image}
    wait_until(have, accept=done, timeout=timeout, interval=0.3, message=f"{n} pods of {image}")


def test_rollout_status_history_undo_and_scale(cluster: Cluster) -> None:
    missing = _missing()
    if missing:
        pytest.skip(f"needs the Deployment controller and the scheduler: {missing}")
    # pods go only to these nodes, whatever node agents `kctl up` started
    with cluster.hollow_nodes(["n1", "n2"], labels={"jetkube.io/hollow": "rollout"}):
        cluster.kctl("create", "namespace", NS)
        _apply(cluster, "nginx:1.25", "first")
        _rolled_out(cluster)
        _wait_pods(cluster, 3, "nginx:1.25")
        d = _json(cluster, "deployment", "web")
        assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"

        _apply(cluster, "nginx:1.26", "second")
        _rolled_out(cluster)
        _wait_pods(cluster, 3, "nginx:1.26")
        hist = cluster.kctl("rollout", "history", "deployment/web", "-n", NS).stdout.splitlines()
        assert hist[:2] == ["deployment.apps/web", "REVISION  CHANGE-CAUSE"]
        assert [ln.split() for ln in hist[2:] if ln] == [["1", "first"], ["2", "second"]]
        desc = cluster.kctl("describe", "deployment", "web", "-n", NS).stdout
        assert "3 desired | 3 updated | 3 total | 3 available | 0 unavailable" in desc
        assert "NewReplicaSet:" in desc and "(3/3 replicas created)" in desc
        rs = cluster.kctl("get", "rs", "-n", NS).stdout.splitlines()
        assert rs[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
        assert sorted(r.split()[1] for r in rs[1:]) == ["0", "3"]

        out = cluster.kctl("rollout", "undo", "deployment/web", "-n", NS).stdout
        assert out == "deployment.apps/web rolled back\n"
        _rolled_out(cluster)
        _wait_pods(cluster, 3, "nginx:1.25")
        d = _json(cluster, "deployment", "web")
        assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
        assert "pod-template-hash" not in d["spec"]["template"]["metadata"]["labels"]
        hist = cluster.kctl("rollout", "history", "deployment/web", "-n", NS).stdout.splitlines()
        assert [ln.split()[0] for ln in hist[2:] if ln] == ["2", "3"]  # revision 1 became 3
        again = cluster.kctl("rollout", "undo", "deployment/web", "-n", NS,
                             "--to-revision=3").stdout
        assert "skipped rollback" in again

        out = cluster.kctl("scale", "deployment/web", "-n", NS, "--replicas=5").stdout
        assert out == "deployment.apps/web scaled\n"
        _rolled_out(cluster)
        _wait_pods(cluster, 5, "nginx:1.25")
        row = cluster.kctl("get", "deployment", "web", "-n", NS).stdout.splitlines()[1].split()
        assert row[1:4] == ["5/5", "5", "5"]
        cluster.kctl("scale", "deployment", "web", "-n", NS, "--replicas=1",
                     "--current-replicas=5")
        _wait_pods(cluster, 1, "nginx:1.25")
        _rolled_out(cluster)

        nodes = cluster.kctl("get", "nodes").stdout.splitlines()
        assert nodes[0].split() == ["NAME", "STATUS", "ROLES", "AGE", "VERSION"]
        status = {ln.split()[0]: ln.split()[1] for ln in nodes[1:]}
        assert status["n1"] == status["n2"] == "Ready"
        cluster.kctl("delete", "namespace", NS, "--wait=false")


def test_rollout_user_errors(cluster: Cluster) -> None:
    """No controllers needed: refusals print one line and exit 1."""
    cluster.kctl("create", "namespace", "rollout-errors")
    manifest = MANIFEST.replace("namespace: rollout", "namespace: rollout-errors")
    cluster.kctl("apply", "-f", "-", input=manifest.format(image="nginx:1.25", cause="x"))
    args = ("-n", "rollout-errors")
    assert cluster.kctl("rollout", "pause", "deployment/web", *args).stdout == \
        "deployment.apps/web paused\n"
    p = cluster.kctl("rollout", "pause", "deployment/web", *args, check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == 'error: deployments.apps "web" is already paused'
    p = cluster.kctl("rollout", "restart", "deployment/web", *args, check=False)
    assert p.returncode == 1 and "can't restart paused deployment" in p.stderr
    assert cluster.kctl("rollout", "resume", "deployment/web", *args).stdout == \
        "deployment.apps/web resumed\n"
    assert cluster.kctl("rollout", "restart", "deployment/web", *args).stdout == \
        "deployment.apps/web restarted\n"
    p = cluster.kctl("scale", "deployment/web", *args, "--replicas=4", "--current-replicas=9",
                     check=False)
    assert p.returncode == 1 and p.stderr.strip() == "error: Expected replicas to be 9, was 3"
    p = cluster.kctl("rollout", "status", "deployment/nope", *args, check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
    p = cluster.kctl("rollout", "status", "deployment/web", *args, "--watch=false")
    assert p.stdout.startswith(("Waiting for deployment", 'deployment "web" successfully'))
    cluster.kctl("delete", "namespace", "rollout-errors", "--wait=false")
