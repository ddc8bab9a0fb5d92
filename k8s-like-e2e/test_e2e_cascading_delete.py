"""Cascading deletion on a `kctl up` cluster, as `kubectl delete --cascade=...` does it:
background removes the dependents after the owner, foreground removes them before
the owner, orphan keeps them with the owner references removed."""

from __future__ import annotations

import json
import time

import pytest
from cluster_e2e import Cluster
from polling import wait_until

from jetkube.schemas.objects import Obj

pytestmark = pytest.mark.e2e

NS = "cascade"


def get(cluster: Cluster, kind: str, name: str) -> Obj | None:
    p = cluster.kctl("get", kind, name, "-n", NS, "-o", "json", check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def names(cluster: Cluster, kind: str, selector: str) -> set[str]:
    out = cluster.kctl("get", kind, "-n", NS, "-l", selector, "-o", "name").stdout
    return {line.split("/", 1)[1] for line in out.split()}


def apply(cluster: Cluster, *objs: Obj) -> None:
    cluster.kctl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                        "items": list(objs)}))


def owner_cm(cluster: Cluster, name: str) -> Obj:
    apply(cluster, {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": NS}, "data": {"role": "owner"}})
    got = get(cluster, "configmap", name)
    assert got is not None
    return got


def dependent(kind: str, name: str, owner: Obj, group: str, *, block: bool = False,
              finalizers: list[str] | None = None) -> Obj:
    md: Obj = {"name": name, "namespace": NS, "labels": {"group": group},
               "ownerReferences": [{"apiVersion": owner["apiVersion"], "kind": owner["kind"],
                                    "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"],
                                    **({"blockOwnerDeletion": True} if block else {})}]}
    if finalizers:
        md["finalizers"] = finalizers
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
                "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
    field = "stringData" if kind == "Secret" else "data"
    return {"apiVersion": "v1", "kind": kind, "metadata": md, field: {"role": "dependent"}}


@pytest.fixture(scope="module", autouse=True)
def namespace(cluster: Cluster) -> None:
    cluster.kctl("create", "namespace", NS, check=False)


def test_background_deletes_dependents_after_the_owner(cluster: Cluster) -> None:
    owner = owner_cm(cluster, "bg-owner")
    apply(cluster, dependent("ConfigMap", "bg-dep-1", owner, "bg"),
          dependent("ConfigMap", "bg-dep-2", owner, "bg"),
          dependent("Secret", "bg-secret", owner, "bg"),
          dependent("Pod", "bg-pod", owner, "bg"))
    assert names(cluster, "configmaps", "group=bg") == {"bg-dep-1", "bg-dep-2"}
    out = cluster.kctl("delete", "configmap", "bg-owner", "-n", NS).stdout
    assert 'configmap "bg-owner" deleted' in out
    wait_until(lambda: not names(cluster, "configmaps,secrets,pods", "group=bg"),
               timeout=30.0, message="dependents collected")


def test_background_deletes_what_a_deployment_owns(cluster: Cluster) -> None:
    apply(cluster, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS, "labels": {"group": "deploy"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "gc-web"}},
                 "template": {"metadata": {"labels": {"app": "gc-web", "group": "deploy"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}})
    deploy = get(cluster, "deployment", "web")
    assert deploy is not None
    apply(cluster, dependent("ConfigMap", "web-config", deploy, "deploy"))
    cluster.kctl("delete", "deployment", "web", "-n", NS)
    wait_until(lambda: not names(cluster, "configmaps,replicasets,pods", "group=deploy")
               and not names(cluster, "pods,replicasets", "app=gc-web"),
               timeout=30.0, message="everything the deployment owned collected")


def test_foreground_deletes_dependents_before_the_owner(cluster: Cluster) -> None:
    owner = owner_cm(cluster, "fg-owner")
    held = dependent("ConfigMap", "fg-held", owner, "fg", block=True,
                     finalizers=["example.com/hold"])
    apply(cluster, held, dependent("ConfigMap", "fg-free", owner, "fg", block=True))
    cluster.kctl("delete", "configmap", "fg-owner", "-n", NS, "--cascade=foreground",
                 "--wait=false")
    wait_until(lambda: names(cluster, "configmaps", "group=fg") == {"fg-held"},
               timeout=30.0, message="unheld dependent deleted")
    cur = get(cluster, "configmap", "fg-owner")
    assert cur is not None and cur["metadata"]["finalizers"] == ["foregroundDeletion"]
    held_now = get(cluster, "configmap", "fg-held")
    assert held_now is not None and held_now["metadata"].get("deletionTimestamp")
    time.sleep(1.0)  # absence check: the owner must not go while its dependent is held
    assert get(cluster, "configmap", "fg-owner") is not None  # waits for its dependent

    held["metadata"]["finalizers"] = []
    apply(cluster, held)  # release the dependent: then it goes, then the owner
    wait_until(lambda: get(cluster, "configmap", "fg-owner") is None,
               timeout=30.0, message="owner deleted last")
    assert get(cluster, "configmap", "fg-held") is None


def test_orphan_keeps_dependents_without_the_reference(cluster: Cluster) -> None:
    owner = owner_cm(cluster, "or-owner")
    apply(cluster, dependent("ConfigMap", "or-dep-1", owner, "or"),
          dependent("ConfigMap", "or-dep-2", owner, "or"))
    cluster.kctl("delete", "configmap", "or-owner", "-n", NS, "--cascade=orphan")
    assert get(cluster, "configmap", "or-owner") is None  # kctl waited for it
    assert names(cluster, "configmaps", "group=or") == {"or-dep-1", "or-dep-2"}
    for name in ("or-dep-1", "or-dep-2"):
        dep = get(cluster, "configmap", name)
        assert dep is not None and not dep["metadata"].get("ownerReferences")
    time.sleep(1.0)  # absence check: the orphans must not be collected afterwards
    assert names(cluster, "configmaps", "group=or") == {"or-dep-1", "or-dep-2"}


def test_foreground_deletes_a_deployment_after_its_replicasets_and_pods(cluster: Cluster) -> None:
    apply(cluster, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "api", "namespace": NS},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "gc-api"}},
                 "template": {"metadata": {"labels": {"app": "gc-api"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}})
    wait_until(lambda: len(names(cluster, "pods", "app=gc-api")) == 2,
               timeout=30.0, message="the deployment's pods")
    # kctl waits for the deployment itself, which the collector removes last
    cluster.kctl("delete", "deployment", "api", "-n", NS, "--cascade=foreground", timeout=90)
    assert get(cluster, "deployment", "api") is None
    assert not names(cluster, "replicasets,pods", "app=gc-api")
