"""kubectl's workload verbs (the real kubectl v1.37, the kubeconfig as `kctl up` wrote it)
against a `kctl up` cluster: create/scale/rollout status, set image, rollout history, undo
and restart, wait (for a condition and for a delete), delete with --cascade=orphan and
=foreground, diff, edit, cordon/uncordon, drain (through the pods/eviction subresource) and
logs -f.  Each case reads the cluster back to check the effect, not only the exit code.

The module runs its pods on two node agents of its own (the ``sim`` runtime, started here
with their own credentials, as a user adds a node), whose Node objects are created first
with a ``NoSchedule`` taint only this module's pods tolerate: pods other modules left
Pending never land there, so drain sees exactly this module's pods.  Everything lives in
the namespace ``kubectl-workloads``, deleted at the end (with the agents still running, so
the pods finish), then the agents stop and their Nodes are deleted.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_e2e import BIN, Cluster
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl, kubectl_bin

from jetkube.schemas.objects import Obj

pytestmark = pytest.mark.e2e

NS = "kubectl-workloads"
POOL_KEY = "jetkube.io/e2e-pool"
NODES = ("kw-node-1", "kw-node-2")
TAINT = {"key": POOL_KEY, "value": NS, "effect": "NoSchedule"}
POD_PLACEMENT: Obj = {"nodeSelector": {POOL_KEY: NS},
                      "tolerations": [{**TAINT, "operator": "Equal"}],
                      "terminationGracePeriodSeconds": 2}
REVISION = "deployment.kubernetes.io/revision"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


# --- the module's nodes and namespace -------------------------------------------------

def _node_ready(cluster: Cluster, name: str) -> bool:
    p = kubectl(cluster.kubeconfig, "get", "node", name, "-o", "json", check=False)
    if p.returncode != 0:
        return False
    node = json.loads(p.stdout)
    ready = any(c["type"] == "Ready" and c["status"] == "True"
                for c in (node.get("status") or {}).get("conditions") or [])
    # the node lifecycle controller's not-ready taints are gone once the agent reports
    return ready and (node["spec"].get("taints") or []) == [TAINT]


@pytest.fixture(scope="module")
def nodes(cluster: Cluster) -> Iterator[tuple[str, ...]]:
    """Two sim node agents, their Nodes tainted for this module before they register."""
    agents: list[subprocess.Popen[bytes]] = []
    logs = cluster.data_dir / "logs"
    logs.mkdir(exist_ok=True)
    try:
        for name in NODES:
            kubectl(cluster.kubeconfig, "create", "-f", "-", input=json.dumps({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {POOL_KEY: NS}},
                "spec": {"taints": [TAINT]}}))
            cluster.kctl("node-credentials", name, "--data-dir", str(cluster.data_dir))
            with open(logs / f"e2e-kubectl-workloads-{name}.log", "ab") as log:
                agents.append(subprocess.Popen(
                    [str(BIN / "jetkube-kubelet"), "--node-name", name, "--runtime", "sim",
                     "--nats-url", cluster.nats_url,
                     "--nats-creds", str(cluster.data_dir / "creds" / f"node:{name}.nk"),
                     "--nats-ca", str(cluster.data_dir / "pki" / "ca.crt"),
                     "--root-dir", str(cluster.data_dir / "nodes" / name),
                     "--node-labels", f"{POOL_KEY}={NS}", "--cpu", "8", "--memory", "16Gi",
                     "--lease-renew-seconds", "2", "--node-status-update-seconds", "2"],
                    stdout=log, stderr=subprocess.STDOUT, env=cluster.env()))
        wait_until(lambda: all(_node_ready(cluster, n) for n in NODES), timeout=60,
                   interval=0.3, message="the nodes Ready with only the module's taint")
        yield NODES
    finally:
        for agent in agents:  # only the processes started here
            agent.terminate()
            try:
                agent.wait(20)
            except subprocess.TimeoutExpired:
                agent.kill()
                agent.wait(5)
        kubectl(cluster.kubeconfig, "delete", "node", *NODES, "--ignore-not-found",
                "--wait=false", check=False)


@pytest.fixture(scope="module", autouse=True)
def namespace(cluster: Cluster, nodes: tuple[str, ...]) -> Iterator[str]:
    kubectl(cluster.kubeconfig, "create", "namespace", NS)
    yield NS
    # deleted while the node agents still run, so the pods' graceful deletion finishes
    p = subprocess.run([kubectl_bin(), "--kubeconfig", str(cluster.kubeconfig), "delete",
                        "namespace", NS, "--timeout=90s"], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        print(f"cleanup: namespace {NS}: {p.stdout}{p.stderr}")  # not a case's failure


# --- helpers ---------------------------------------------------------------------------

def k(cluster: Cluster, *args: str, check: bool = True,
      input: str | None = None) -> subprocess.CompletedProcess[str]:
    """kubectl in the module's namespace."""
    return kubectl(cluster.kubeconfig, "-n", NS, *args, check=check, input=input)


def get(cluster: Cluster, *args: str) -> Any:
    return json.loads(k(cluster, "get", *args, "-o", "json").stdout)


def get_or_none(cluster: Cluster, kind: str, name: str) -> Obj | None:
    p = k(cluster, "get", kind, name, "-o", "json", check=False)
    if p.returncode != 0:
        assert "NotFound" in p.stderr, p.stderr
        return None
    return dict(json.loads(p.stdout))


def deployment(name: str, replicas: int, image: str = "busybox:1.36") -> Obj:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         **POD_PLACEMENT, "containers": [{"name": "c", "image": image}]}}}}


def apply(cluster: Cluster, obj: Obj) -> str:
    return k(cluster, "apply", "-f", "-", input=json.dumps(obj)).stdout


def live_pods(cluster: Cluster, app: str) -> list[Obj]:
    """The app's pods that are not being deleted."""
    return [p for p in get(cluster, "pods", "-l", f"app={app}")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def running_ready(pod: Obj) -> bool:
    st = pod.get("status") or {}
    return st.get("phase") == "Running" and any(
        c["type"] == "Ready" and c["status"] == "True" for c in st.get("conditions") or [])


def replicasets(cluster: Cluster, app: str) -> dict[str, Obj]:
    """The app's ReplicaSets by revision."""
    items = get(cluster, "replicasets", "-l", f"app={app}")["items"]
    return {rs["metadata"]["annotations"][REVISION]: rs for rs in items}


def image_of(obj: Obj) -> str:
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def rollout_status(cluster: Cluster, name: str) -> None:
    """`kubectl rollout status` returns once every replica is updated and available."""
    out = k(cluster, "rollout", "status", f"deployment/{name}", "--timeout=50s").stdout
    assert out.splitlines()[-1] == f'deployment "{name}" successfully rolled out', out
    d = get(cluster, "deployment", name)
    want = d["spec"]["replicas"]
    st = d["status"]
    assert (st["updatedReplicas"], st["availableReplicas"]) == (want, want), st
    assert st["observedGeneration"] >= d["metadata"]["generation"]


def settled(cluster: Cluster, app: str, n: int, image: str) -> list[Obj]:
    """Wait until the app has exactly ``n`` live pods, all of ``image``, Running and Ready
    on the module's nodes (old pods finish their graceful deletion after rollout status)."""
    def state() -> list[Obj]:
        return live_pods(cluster, app)

    def done(pods: list[Obj]) -> bool:
        all_pods = get(cluster, "pods", "-l", f"app={app}")["items"]
        return (len(pods) == len(all_pods) == n and all(running_ready(p) for p in pods)
                and {p["spec"]["containers"][0]["image"] for p in pods} == {image}
                and {p["spec"]["nodeName"] for p in pods} <= set(NODES))
    return wait_until(state, accept=done, timeout=60, interval=0.3,
                      message=f"{n} Running pods of {app} with {image}")


def history(cluster: Cluster, name: str) -> list[str]:
    out = k(cluster, "rollout", "history", f"deployment/{name}").stdout.splitlines()
    assert out[0].split() == [f"deployment.apps/{name}"] and out[1].split()[0] == "REVISION", out
    return [ln.split()[0] for ln in out[2:] if ln.strip()]


# --- the cases -------------------------------------------------------------------------

def test_create_scale_and_rollout_status(cluster: Cluster) -> None:
    # no replicas until the template tolerates the module's nodes' taint: a first revision's
    # pod could otherwise land on a node another module left behind, and linger there
    out = k(cluster, "create", "deployment", "kw-scale", "--image=busybox:1.36",
            "--replicas=0").stdout
    assert out == "deployment.apps/kw-scale created\n"
    # onto the module's nodes (tolerate their taint): a second revision of the template
    k(cluster, "patch", "deployment", "kw-scale", "--type=strategic",
      "-p", json.dumps({"spec": {"template": {"spec": POD_PLACEMENT}}}))
    out = k(cluster, "scale", "deployment/kw-scale", "--replicas=3").stdout
    assert out == "deployment.apps/kw-scale scaled\n"
    rollout_status(cluster, "kw-scale")
    pods = settled(cluster, "kw-scale", 3, "busybox:1.36")
    d = get(cluster, "deployment", "kw-scale")
    assert d["spec"]["replicas"] == 3
    assert d["spec"]["template"]["spec"]["containers"][0]["name"] == "busybox"
    current = replicasets(cluster, "kw-scale")[d["metadata"]["annotations"][REVISION]]
    assert current["spec"]["replicas"] == 3 and current["status"]["readyReplicas"] == 3
    hash_label = current["metadata"]["labels"]["pod-template-hash"]
    assert {p["metadata"]["labels"]["pod-template-hash"] for p in pods} == {hash_label}
    assert {p["metadata"]["ownerReferences"][0]["name"] for p in pods} == {
        current["metadata"]["name"]}


def test_set_image_history_undo_and_restart(cluster: Cluster) -> None:
    assert "created" in apply(cluster, deployment("kw-roll", 2))
    rollout_status(cluster, "kw-roll")
    settled(cluster, "kw-roll", 2, "busybox:1.36")
    first = replicasets(cluster, "kw-roll")["1"]

    out = k(cluster, "set", "image", "deployment/kw-roll", "c=busybox:1.37").stdout
    assert out == "deployment.apps/kw-roll image updated\n"
    rollout_status(cluster, "kw-roll")
    settled(cluster, "kw-roll", 2, "busybox:1.37")
    rss = replicasets(cluster, "kw-roll")
    assert set(rss) == {"1", "2"}
    assert image_of(rss["2"]) == "busybox:1.37" and rss["2"]["spec"]["replicas"] == 2
    assert rss["1"]["spec"]["replicas"] == 0
    assert history(cluster, "kw-roll") == ["1", "2"]

    out = k(cluster, "rollout", "undo", "deployment/kw-roll").stdout
    assert out == "deployment.apps/kw-roll rolled back\n"
    rollout_status(cluster, "kw-roll")
    settled(cluster, "kw-roll", 2, "busybox:1.36")
    d = get(cluster, "deployment", "kw-roll")
    assert image_of(d) == "busybox:1.36" and d["metadata"]["annotations"][REVISION] == "3"
    rss = replicasets(cluster, "kw-roll")
    assert set(rss) == {"2", "3"}  # the first ReplicaSet is reused as revision 3
    assert rss["3"]["metadata"]["uid"] == first["metadata"]["uid"]
    assert history(cluster, "kw-roll") == ["2", "3"]

    out = k(cluster, "rollout", "restart", "deployment/kw-roll").stdout
    assert out == "deployment.apps/kw-roll restarted\n"
    rollout_status(cluster, "kw-roll")
    d = get(cluster, "deployment", "kw-roll")
    assert RESTARTED_AT in d["spec"]["template"]["metadata"]["annotations"]
    rss = replicasets(cluster, "kw-roll")
    assert set(rss) == {"2", "3", "4"} and rss["4"]["spec"]["replicas"] == 2
    assert RESTARTED_AT in rss["4"]["spec"]["template"]["metadata"]["annotations"]
    pods = settled(cluster, "kw-roll", 2, "busybox:1.36")
    assert {p["metadata"]["ownerReferences"][0]["uid"] for p in pods} == {
        rss["4"]["metadata"]["uid"]}
    assert history(cluster, "kw-roll") == ["2", "3", "4"]


def test_wait_for_available_and_for_delete(cluster: Cluster) -> None:
    apply(cluster, deployment("kw-wait", 1))
    out = k(cluster, "wait", "--for=condition=Available", "deployment/kw-wait",
            "--timeout=50s").stdout
    assert out == "deployment.apps/kw-wait condition met\n"
    conds = {c["type"]: c["status"] for c in get(cluster, "deployment", "kw-wait")["status"][
        "conditions"]}
    assert conds["Available"] == "True"

    # a pod whose container takes 5 s to stop, so the wait has something to wait for
    apply(cluster, {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": "kw-wait-pod", "namespace": NS,
                                 "annotations": {"jetkube.io/sim-term-delay": "5"}},
                    "spec": {**POD_PLACEMENT, "terminationGracePeriodSeconds": 30,
                             "containers": [{"name": "c", "image": "busybox:1.36"}]}})
    wait_until(lambda: get(cluster, "pod", "kw-wait-pod"), accept=running_ready, timeout=60,
               interval=0.2, message="kw-wait-pod Running")
    out = k(cluster, "delete", "pod", "kw-wait-pod", "--wait=false").stdout
    assert out == f'pod "kw-wait-pod" deleted from {NS} namespace\n'
    terminating = get_or_none(cluster, "pod", "kw-wait-pod")
    assert terminating is not None and terminating["metadata"]["deletionTimestamp"]
    out = k(cluster, "wait", "--for=delete", "pod/kw-wait-pod", "--timeout=50s").stdout
    assert out == "pod/kw-wait-pod condition met\n"
    assert get_or_none(cluster, "pod", "kw-wait-pod") is None


def test_delete_with_cascade_orphan_keeps_the_replicaset(cluster: Cluster) -> None:
    apply(cluster, deployment("kw-orphan", 1))
    rollout_status(cluster, "kw-orphan")
    (pod,) = settled(cluster, "kw-orphan", 1, "busybox:1.36")
    rs_name = replicasets(cluster, "kw-orphan")["1"]["metadata"]["name"]

    out = k(cluster, "delete", "deployment", "kw-orphan", "--cascade=orphan").stdout
    assert out == f'deployment.apps "kw-orphan" deleted from {NS} namespace\n'
    assert get_or_none(cluster, "deployment", "kw-orphan") is None  # kubectl waited for it
    rs = get_or_none(cluster, "replicaset", rs_name)
    assert rs is not None and not rs["metadata"].get("ownerReferences"), rs
    assert not rs["metadata"].get("deletionTimestamp")
    kept = get_or_none(cluster, "pod", pod["metadata"]["name"])
    assert kept is not None and not kept["metadata"].get("deletionTimestamp")
    assert kept["metadata"]["ownerReferences"][0]["name"] == rs_name  # still its RS's
    k(cluster, "delete", "replicaset", rs_name)


def test_delete_with_cascade_foreground_removes_the_replicasets_first(cluster: Cluster) -> None:
    apply(cluster, deployment("kw-fg", 2))
    rollout_status(cluster, "kw-fg")
    settled(cluster, "kw-fg", 2, "busybox:1.36")
    rs_name = replicasets(cluster, "kw-fg")["1"]["metadata"]["name"]
    # the ReplicaSet is held by a finalizer of ours, so the order can be seen
    k(cluster, "patch", "replicaset", rs_name, "--type=merge",
      "-p", json.dumps({"metadata": {"finalizers": ["example.com/hold"]}}))

    k(cluster, "delete", "deployment", "kw-fg", "--cascade=foreground", "--wait=false")
    wait_until(lambda: get(cluster, "pods", "-l", "app=kw-fg")["items"], accept=lambda p: not p,
               timeout=60, interval=0.3, message="the ReplicaSet's pods deleted first")
    rs = wait_until(lambda: get_or_none(cluster, "replicaset", rs_name),
                    accept=lambda r: r is not None
                    and r["metadata"].get("finalizers") == ["example.com/hold"],
                    timeout=30, interval=0.3, message="the ReplicaSet deleted but held")
    assert rs is not None and rs["metadata"].get("deletionTimestamp")
    d = get_or_none(cluster, "deployment", "kw-fg")
    assert d is not None, "the Deployment went before its ReplicaSet"
    assert d["metadata"]["deletionTimestamp"]
    assert d["metadata"]["finalizers"] == ["foregroundDeletion"]

    k(cluster, "patch", "replicaset", rs_name, "--type=json",
      "-p", '[{"op": "remove", "path": "/metadata/finalizers"}]')
    # released: the ReplicaSet goes, then the Deployment
    wait_until(lambda: get_or_none(cluster, "deployment", "kw-fg") is None, timeout=30,
               interval=0.3, message="the Deployment deleted last")
    assert get_or_none(cluster, "replicaset", rs_name) is None


def test_diff_shows_the_change_and_changes_nothing(cluster: Cluster, tmp_path: Path) -> None:
    manifest = tmp_path / "kw-diff.json"
    manifest.write_text(json.dumps(deployment("kw-diff", 1)))
    k(cluster, "apply", "-f", str(manifest))
    before = get(cluster, "deployment", "kw-diff")
    manifest.write_text(json.dumps(deployment("kw-diff", 1, image="busybox:1.37")))
    p = k(cluster, "diff", "-f", str(manifest), check=False)
    assert p.returncode == 1, p.stderr  # 1: differences found
    changed = [ln for ln in p.stdout.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---")]
    assert [(ln[0], ln.split("image: ")[-1]) for ln in changed if "image: " in ln] == [
        ("-", "busybox:1.36"), ("+", "busybox:1.37")], p.stdout
    after = get(cluster, "deployment", "kw-diff")
    assert image_of(after) == "busybox:1.36"
    # the dry run wrote nothing: the spec and its generation are as they were (the
    # resourceVersion may move: the Deployment controller keeps writing its status)
    assert after["spec"] == before["spec"]
    assert after["metadata"]["generation"] == before["metadata"]["generation"]


def test_edit_with_a_scripted_editor(cluster: Cluster, tmp_path: Path) -> None:
    k(cluster, "create", "configmap", "kw-edit", "--from-literal=greeting=hello")
    editor = tmp_path / "editor.sh"
    editor.write_text('#!/bin/sh\nexec sed -i "s/greeting: hello/greeting: bonjour/" "$1"\n')
    editor.chmod(0o755)
    p = subprocess.run([kubectl_bin(), "--kubeconfig", str(cluster.kubeconfig), "-n", NS,
                        "edit", "configmap/kw-edit"], capture_output=True, text=True,
                       timeout=60, env={**os.environ, "KUBE_EDITOR": str(editor)})
    assert p.returncode == 0, p.stderr
    assert p.stdout == "configmap/kw-edit edited\n"
    assert get(cluster, "configmap", "kw-edit")["data"] == {"greeting": "bonjour"}


def test_cordon_uncordon_and_drain_through_evictions(cluster: Cluster) -> None:
    def unschedulable(node: str) -> bool:
        spec = json.loads(kubectl(cluster.kubeconfig, "get", "node", node, "-o", "json")
                          .stdout)["spec"]
        return bool(spec.get("unschedulable"))

    node = NODES[0]
    try:
        assert kubectl(cluster.kubeconfig, "cordon", node).stdout == f"node/{node} cordoned\n"
        assert unschedulable(node)
        assert (kubectl(cluster.kubeconfig, "uncordon", node).stdout
                == f"node/{node} uncordoned\n")
        assert not unschedulable(node)
    finally:
        kubectl(cluster.kubeconfig, "uncordon", node, check=False)

    apply(cluster, deployment("kw-drain", 4))
    rollout_status(cluster, "kw-drain")
    pods = settled(cluster, "kw-drain", 4, "busybox:1.36")
    # drain the node holding most of them; the ReplicaSet remakes them on the other
    node = max(NODES, key=lambda n: sum(p["spec"]["nodeName"] == n for p in pods))
    (other,) = set(NODES) - {node}
    on_node = {p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == node}
    try:
        p = kubectl(cluster.kubeconfig, "drain", node, "--ignore-daemonsets",
                    "--delete-emptydir-data", "--timeout=50s")
        out = p.stdout.splitlines()
        assert out[0] == f"node/{node} cordoned" and out[-1] == f"node/{node} drained", p.stdout
        for name in on_node:  # evicted through pods/eviction, not deleted
            assert f"evicting pod {NS}/{name}" in out, p.stdout
            assert f"pod/{name} evicted" in out, p.stdout
        assert unschedulable(node)
        for name in on_node:
            assert get_or_none(cluster, "pod", name) is None
        pods = settled(cluster, "kw-drain", 4, "busybox:1.36")
        assert {p["spec"]["nodeName"] for p in pods} == {other}
        assert not on_node & {p["metadata"]["name"] for p in pods}
        left = kubectl(cluster.kubeconfig, "get", "pods", "-A", "--field-selector",
                       f"spec.nodeName={node}", "-o", "name").stdout
        assert left == ""
    finally:  # the other cases keep both nodes
        kubectl(cluster.kubeconfig, "uncordon", node, check=False)
    assert not unschedulable(node)


def test_logs_follow_ends_when_the_container_exits(cluster: Cluster) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "kw-logs", "namespace": NS, "labels": {"app": "kw-logs"},
                        # the sim runtime's container exits 0 six seconds after it starts
                        "annotations": {"jetkube.io/sim-exit-after": "6"}},
           "spec": {**POD_PLACEMENT, "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "busybox:1.36"}]}}
    apply(cluster, pod)
    wait_until(lambda: get(cluster, "pod", "kw-logs"), accept=running_ready, timeout=60,
               interval=0.2, message="kw-logs Running")
    line = "sim container c of kw-logs started\n"
    t0 = time.monotonic()
    # follows until the container exits (the sim runtime ends the stream then)
    p = subprocess.run([kubectl_bin(), "--kubeconfig", str(cluster.kubeconfig), "-n", NS,
                        "logs", "-f", "kw-logs"], capture_output=True, text=True, timeout=60)
    followed = time.monotonic() - t0
    assert p.returncode == 0, p.stderr
    assert p.stdout == line
    got = wait_until(lambda: get(cluster, "pod", "kw-logs"),
                     accept=lambda o: o["status"].get("phase") == "Succeeded", timeout=30,
                     interval=0.2, message="kw-logs Succeeded")
    state = got["status"]["containerStatuses"][0]["state"]["terminated"]
    assert state["exitCode"] == 0
    print(f"kubectl logs -f followed for {followed:.1f} s")
    assert k(cluster, "logs", "kw-logs").stdout == line  # a finished container's log too
