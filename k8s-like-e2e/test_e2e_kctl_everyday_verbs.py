"""kctl's everyday verbs (issue 16) against a `kctl up` cluster of two sim nodes: create a
Deployment, ``wait`` for it, ``set image`` and follow the rollout, ``patch`` and ``wait``
for the new replica count, ``diff``, ``drain`` a node (its pods evicted through
``pods/eviction`` and rescheduled on the other), ``auth can-i``/``whoami``, ``explain``
and ``top`` (beside the real kubectl's output for the same call), and ``apply -k``
(beside ``kubectl kustomize``'s names).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from cluster_e2e import Cluster, running_cluster
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("e2e-verbs") / "jetkube", nodes=2,
                         runtime="sim") as c:
        wait_until(lambda: len(items(c, "nodes")) == 2, timeout=60, message="2 sim nodes")
        yield c


def items(c: Cluster, *args: str) -> list[dict[str, Any]]:
    return list(json.loads(c.kctl("get", *args, "-o", "json").stdout)["items"])


def web_pods(c: Cluster) -> list[dict[str, Any]]:
    return [p for p in items(c, "pods", "-l", "app=web")
            if not p["metadata"].get("deletionTimestamp")]


@pytest.fixture(scope="module")
def web(sim: Cluster) -> Cluster:
    """A Deployment of 2 replicas, Available."""
    out = sim.kctl("create", "deployment", "web", "--image", "nginx:1.25", "--replicas", "2",
                   "--", "sleep", "3600").stdout
    assert out == "deployment.apps/web created\n"
    p = sim.kctl("wait", "--for=condition=Available", "deploy/web", "--timeout=90s",
                 timeout=120)
    assert p.stdout == "deployment.apps/web condition met\n"
    return sim


def test_set_image_then_the_rollout_and_a_wait_on_every_pod(web: Cluster) -> None:
    assert web.kctl("set", "image", "deploy/web", "nginx=nginx:1.26").stdout == (
        "deployment.apps/web image updated\n")
    out = web.kctl("rollout", "status", "deploy/web", "--timeout=90s", timeout=120).stdout
    assert out.splitlines()[-1] == 'deployment "web" successfully rolled out'
    pods = wait_until(lambda: web_pods(web), accept=lambda ps: len(ps) == 2 and all(
        p["spec"]["containers"][0]["image"] == "nginx:1.26" for p in ps), timeout=60)
    assert all(p["spec"]["containers"][0]["command"] == ["sleep", "3600"] for p in pods)
    p = web.kctl("wait", "--for=condition=Ready", "pods", "-l", "app=web", "--timeout=60s",
                 timeout=90)
    assert sorted(p.stdout.splitlines()) == sorted(
        f"pod/{q['metadata']['name']} condition met" for q in pods)


def test_patch_and_wait_for_a_jsonpath_value(web: Cluster) -> None:
    assert web.kctl("patch", "deploy", "web", "-p", '{"spec":{"replicas":3}}').stdout == (
        "deployment.apps/web patched\n")
    p = web.kctl("wait", "--for=jsonpath={.status.readyReplicas}=3", "deploy/web",
                 "--timeout=90s", timeout=120)
    assert p.stdout == "deployment.apps/web condition met\n"
    assert web.kctl("patch", "deploy/web", "--type=json", "-p",
                    '[{"op":"replace","path":"/spec/replicas","value":3}]').stdout == (
        "deployment.apps/web patched (no change)\n")


def test_diff_shows_what_apply_would_change(web: Cluster, tmp_path: Path) -> None:
    live = json.loads(web.kctl("get", "deploy/web", "-o", "json").stdout)
    live["spec"]["replicas"] = 5
    f = tmp_path / "web.json"
    f.write_text(json.dumps(live))
    p = web.kctl("diff", "-f", str(f), check=False)
    assert p.returncode == 1, p.stderr
    assert "-  replicas: 3\n+  replicas: 5\n" in p.stdout
    assert items(web, "deploy")[0]["spec"]["replicas"] == 3  # a dry run


def test_drain_moves_the_pods_to_the_other_node(web: Cluster) -> None:
    wait_until(lambda: web_pods(web), accept=lambda ps: len(ps) == 3 and all(
        p["spec"].get("nodeName") for p in ps), timeout=60)
    p = web.kctl("drain", "node-1", "--ignore-daemonsets", "--delete-emptydir-data",
                 "--timeout=90s", timeout=120)
    lines = p.stdout.splitlines()
    assert lines[0] == "node/node-1 cordoned" and lines[-1] == "node/node-1 drained", p.stdout
    evicted = [ln for ln in lines if ln.startswith("evicting pod ")]
    assert len([ln for ln in lines if ln.endswith(" evicted")]) == len(evicted)
    node = json.loads(web.kctl("get", "node", "node-1", "-o", "json").stdout)
    assert node["spec"]["unschedulable"] is True
    pods = wait_until(lambda: web_pods(web), accept=lambda ps: len(ps) == 3 and all(
        p["spec"].get("nodeName") == "node-2" for p in ps), timeout=90)
    assert len(pods) == 3
    assert web.kctl("uncordon", "node-1").stdout == "node/node-1 uncordoned\n"


def test_auth_can_i_and_whoami(web: Cluster) -> None:
    assert web.kctl("auth", "can-i", "create", "deployments").stdout == "yes\n"
    assert web.kctl("auth", "can-i", "--list").stdout == kubectl(
        web.kubeconfig, "auth", "can-i", "--list").stdout
    assert web.kctl("auth", "whoami").stdout == kubectl(web.kubeconfig, "auth", "whoami").stdout
    # a service account bound to the view role: a longer list, subresources included
    kubectl(web.kubeconfig, "create", "serviceaccount", "viewer")
    kubectl(web.kubeconfig, "create", "rolebinding", "viewer", "--clusterrole=view",
            "--serviceaccount=default:viewer")
    token = kubectl(web.kubeconfig, "create", "token", "viewer").stdout.strip()
    assert web.kctl("--token", token, "auth", "can-i", "--list").stdout == kubectl(
        web.kubeconfig, "--token", token, "auth", "can-i", "--list").stdout
    assert web.kctl("--token", token, "auth", "can-i", "delete", "pods",
                    check=False).stdout == "no\n"


@pytest.mark.parametrize("what", ["deploy", "pods.spec.containers", "pods.spec.restartPolicy",
                                  "nodes.status"])
def test_explain_prints_what_kubectl_prints(web: Cluster, what: str) -> None:
    assert web.kctl("explain", what).stdout == kubectl(web.kubeconfig, "explain", what).stdout


def test_api_versions_as_kubectl(web: Cluster) -> None:
    assert web.kctl("api-versions").stdout == kubectl(web.kubeconfig, "api-versions").stdout


def test_top_prints_what_kubectl_prints(web: Cluster) -> None:
    def same(*args: str) -> bool:
        return web.kctl(*args, check=False).stdout == kubectl(
            web.kubeconfig, *args, check=False).stdout
    wait_until(lambda: web.kctl("top", "pod", check=False).returncode == 0, timeout=60,
               message="pod metrics")
    for args in (("top", "node"), ("top", "pod"), ("top", "pod", "--containers", "-A")):
        assert wait_until(lambda a=args: same(*a), timeout=30,  # type: ignore[misc]
                          message=f"kctl {' '.join(args)} as kubectl")


def test_apply_k_creates_what_kubectl_kustomize_builds(web: Cluster, tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"},
         "data": {"x": "1"}}))
    (tmp_path / "kustomization.yaml").write_text(
        "resources: [cm.yaml]\nnamePrefix: k-\ncommonLabels: {via: kustomize}\n"
        "configMapGenerator:\n- name: settings\n  literals: [mode=fast]\n")
    built = list(yaml.safe_load_all(kubectl(web.kubeconfig, "kustomize", str(tmp_path)).stdout))
    out = web.kctl("apply", "-k", str(tmp_path)).stdout
    assert sorted(out.splitlines()) == sorted(
        f"configmap/{o['metadata']['name']} created" for o in built)
    for o in built:
        got = json.loads(web.kctl("get", "cm", o["metadata"]["name"], "-o", "json").stdout)
        assert got["data"] == o["data"] and got["metadata"]["labels"] == {"via": "kustomize"}
    assert web.kctl("apply", "-k", str(tmp_path)).stdout.count(" unchanged\n") == len(built)
