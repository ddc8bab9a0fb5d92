"""``kctl describe`` prints, byte for byte, what the real kubectl (v1.37) prints for the same
objects (issue 16): a Node (a hollow node of this module's own pool, with its lease,
conditions and the pods it runs), a Pod, its Deployment and ReplicaSet, a Service (its
endpoints from EndpointSlices), a ConfigMap, a Secret and their Namespace.  Both read the
live cluster, so a lease renewal or a second ticking over between the two commands can
make them differ: each pair is read again until they agree (or the time is up, and the
last diff is shown)."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

import pytest
from cluster_e2e import Cluster
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl

pytestmark = pytest.mark.e2e

NS = "e2e-describe"
NODE = "describe-1"
POOL = {"e2e-pool": "describe"}
MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}, labels: {{team: docs}}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: cfg, namespace: {NS}}}
data: {{key: value, multi: "line1\\nline2\\n"}}
---
apiVersion: v1
kind: Secret
metadata: {{name: sec, namespace: {NS}}}
stringData: {{password: hunter2}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NS}, labels: {{app: web}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      nodeSelector: {{e2e-pool: describe}}
      terminationGracePeriodSeconds: 1
      containers:
      - name: c
        image: "busybox:1.36"
        ports: [{{containerPort: 8080, name: http}}]
        env: [{{name: PASS, valueFrom: {{secretKeyRef: {{name: sec, key: password}}}}}}]
        resources:
          requests: {{cpu: 100m, memory: 64Mi}}
          limits: {{cpu: 200m, memory: 128Mi}}
        volumeMounts: [{{name: conf, mountPath: /etc/conf}}]
      volumes: [{{name: conf, configMap: {{name: cfg}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NS}}}
spec:
  selector: {{app: web}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def _pod_name(cluster: Cluster) -> str:
    out = cluster.kctl("get", "pods", "-n", NS, "-l", "app=web", "-o",
                       "jsonpath={.items[0].metadata.name}").stdout
    return out.strip()


@pytest.fixture(scope="module")
def objects(cluster: Cluster) -> Iterator[None]:
    with cluster.hollow_nodes([NODE], labels=POOL):
        cluster.kctl("apply", "-f", "-", input=MANIFEST)

        def ready() -> bool:
            out = cluster.kctl("get", "deployment", "web", "-n", NS, "-o",
                               "jsonpath={.status.availableReplicas}").stdout
            return out.strip() == "1"

        wait_until(ready, timeout=60, interval=0.2, message="web's pod ready")
        yield
        cluster.kctl("delete", "namespace", NS, check=False)
        wait_until(lambda: cluster.kctl("get", "namespace", NS, check=False).returncode != 0,
                   timeout=30, interval=0.2, message=f"namespace {NS} gone")


def same_description(cluster: Cluster, *args: str) -> None:
    """``describe ARGS`` by kubectl and by kctl, until the bytes agree."""
    last: list[str] = []

    def agree() -> bool:
        real = kubectl(cluster.kubeconfig, "describe", *args).stdout
        ours = cluster.kctl("describe", *args).stdout
        last[:] = list(difflib.unified_diff(real.splitlines(True), ours.splitlines(True),
                                            "kubectl", "kctl"))
        return bool(real) and real == ours

    try:
        wait_until(agree, timeout=20, interval=0.5, message="the same description")
    except Exception as e:
        raise AssertionError(f"describe {' '.join(args)} differs:\n{''.join(last)}") from e


@pytest.mark.usefixtures("objects")
def test_describe_node_is_kubectls(cluster: Cluster) -> None:
    same_description(cluster, "node", NODE)


@pytest.mark.usefixtures("objects")
def test_describe_pod_is_kubectls(cluster: Cluster) -> None:
    same_description(cluster, "pod", _pod_name(cluster), "-n", NS)


@pytest.mark.usefixtures("objects")
@pytest.mark.parametrize("kind", ["deployment/web", "service/web", "configmap/cfg",
                                  "secret/sec"])
def test_describe_workloads_and_config_are_kubectls(cluster: Cluster, kind: str) -> None:
    same_description(cluster, kind, "-n", NS)


@pytest.mark.usefixtures("objects")
def test_describe_replicasets_and_namespace_are_kubectls(cluster: Cluster) -> None:
    same_description(cluster, "replicasets", "-n", NS)
    same_description(cluster, "namespace", NS)
