"""Deleting a namespace on a `kctl up` cluster: `kctl delete namespace` returns once
the namespace is gone, and everything that was in it is gone too (the namespace
controller empties it, then finalizes it); other namespaces are untouched.

The pods stay Pending (a nodeSelector no node has): nodes left by earlier scenarios on
this shared cluster may still look Ready for their grace period after their agents
stopped, and a pod bound to one would stay Terminating with no agent to confirm its
deletion, as it would in Kubernetes."""

from __future__ import annotations

import json
import time

import pytest
from cluster_e2e import Cluster
from polling import wait_until

pytestmark = pytest.mark.e2e

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata: {name: doomed}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: doomed}
data: {mode: fast}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: more, namespace: doomed}
data: {mode: slow}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: doomed}
stringData: {token: abc}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: doomed}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-1, namespace: doomed, labels: {app: web}}
spec:
  nodeSelector: {e2e-namespace-delete: nowhere}
  containers: [{name: c, image: busybox:1.36}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-2, namespace: doomed, labels: {app: web}}
spec:
  nodeSelector: {e2e-namespace-delete: nowhere}
  containers: [{name: c, image: busybox:1.36}]
"""


def in_namespace(cluster: Cluster, ns: str) -> list[str]:
    """What the namespace holds, less what every namespace gets (the root-CA publisher's
    ``kube-root-ca.crt``)."""
    out = cluster.kctl("get", "configmaps,secrets,services,endpoints,pods", "-n", ns,
                       "-o", "name").stdout
    return sorted(set(out.split()) - {"configmap/kube-root-ca.crt"})


def test_delete_namespace_returns_once_it_and_its_content_are_gone(cluster: Cluster) -> None:
    cluster.kctl("create", "namespace", "survivor", check=False)
    cluster.kctl("create", "configmap", "keep", "-n", "survivor", "--from-literal", "a=1")
    cluster.kctl("apply", "-f", "-", input=MANIFEST)
    # the endpoints controller writes the service's Endpoints: content the user never created
    wait_until(lambda: cluster.kctl(
        "get", "endpoints", "web", "-n", "doomed", check=False).returncode == 0,
               timeout=30.0, message="endpoints of the service")
    before = in_namespace(cluster, "doomed")
    assert {"configmap/settings", "configmap/more", "secret/token", "service/web",
            "endpoints/web", "pod/web-1", "pod/web-2"} <= set(before)

    started = time.monotonic()
    out = cluster.kctl("delete", "namespace", "doomed", timeout=120).stdout
    assert 'namespace "doomed" deleted' in out
    gone = cluster.kctl("get", "namespace", "doomed", check=False)
    assert gone.returncode == 1 and "NotFound" in gone.stderr
    assert time.monotonic() - started < 60
    assert in_namespace(cluster, "doomed") == []
    left = json.loads(cluster.kctl("get", "configmaps", "-n", "doomed", "-o", "json").stdout)
    assert left["items"] == []
    assert "configmap/keep" in in_namespace(cluster, "survivor")


def test_a_recreated_namespace_starts_empty(cluster: Cluster) -> None:
    cluster.kctl("create", "namespace", "phoenix")
    cluster.kctl("create", "configmap", "old", "-n", "phoenix", "--from-literal", "a=1")
    cluster.kctl("delete", "namespace", "phoenix", timeout=120)
    cluster.kctl("create", "namespace", "phoenix")
    assert in_namespace(cluster, "phoenix") == []
    cluster.kctl("delete", "namespace", "phoenix", timeout=120)
