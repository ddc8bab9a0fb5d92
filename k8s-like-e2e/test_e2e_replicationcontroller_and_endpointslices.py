"""ReplicationControllers and EndpointSlices on a real `kctl up` cluster, driven by the real
kubectl v1.37 and the official Python client, on hollow nodes of this module's own pool
(in zone ``z1``).

- The Kubernetes docs' ReplicationController (nginx replaced by busybox) applies, its
  selector defaults to the template's labels, its 3 pods run; ``kubectl get rc`` prints
  NAME DESIRED CURRENT READY AGE (``-o wide`` adds CONTAINERS IMAGES SELECTOR),
  ``kubectl scale rc`` resizes it through the scale subresource, ``describe`` shows it.
- A Service selecting those pods gets an EndpointSlice (managed by the endpointslice
  controller) listing them ready, with node, zone and pod; ``kubectl get endpointslices``
  prints NAME ADDRESSTYPE PORTS ENDPOINTS AGE; deleting the RC leaves the placeholder.
- A Service without a selector gets its hand-written Endpoints mirrored into a slice, and
  so does the ``kubernetes`` Service whose Endpoints the API servers keep.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from cluster_e2e import Cluster
from deployment_e2e import Api, live, namespace, ready
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl
from test_e2e_kubectl_get_prints_columns import both, columns, without_age

pytestmark = pytest.mark.e2e

NS = "e2e-rc-slices"
POOL = {"e2e-pool": "rc-slices"}
SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
RC = f"""
apiVersion: v1
kind: ReplicationController
metadata: {{name: nginx, namespace: {NS}}}
spec:
  replicas: 3
  template:
    metadata:
      labels: {{app: nginx}}
    spec:
      nodeSelector: {{e2e-pool: rc-slices}}
      terminationGracePeriodSeconds: 1
      containers:
      - name: nginx
        image: busybox:1.36
        ports: [{{containerPort: 80, name: http}}]
---
apiVersion: v1
kind: Service
metadata: {{name: nginx, namespace: {NS}}}
spec:
  selector: {{app: nginx}}
  ports: [{{port: 8080, targetPort: http}}]
"""


@pytest.fixture(scope="module")
def api(cluster: Cluster, k8s: Any) -> Iterator[Api]:
    with cluster.hollow_nodes(["rcs-1", "rcs-2"], labels={
            **POOL, "topology.kubernetes.io/zone": "z1"}), namespace(k8s, NS) as a:
        yield a


def discovery(api: Api) -> Any:
    return api.client.DiscoveryV1Api(api.core.api_client)


def slices(api: Api, service: str, namespace: str = NS) -> list[Any]:
    return list(discovery(api).list_namespaced_endpoint_slice(
        namespace, label_selector=f"{SERVICE_NAME}={service}").items)


def ready_pods(api: Api, n: int) -> bool:
    ps = [p for p in api.pods("app=nginx") if live(p)]
    return len(ps) == n and all(ready(p) for p in ps)


def test_a_replication_controller_runs_scales_and_prints(cluster: Cluster, api: Api) -> None:
    kubectl(cluster.kubeconfig, "apply", "-f", "-", input=RC)
    rc = api.core.read_namespaced_replication_controller("nginx", NS)
    assert rc.spec.selector == {"app": "nginx"} and rc.metadata.labels == {"app": "nginx"}
    wait_until(lambda: ready_pods(api, 3), timeout=60, interval=0.1, message="3 ready pods")
    for p in api.pods("app=nginx"):
        [ref] = p.metadata.owner_references
        assert (ref.api_version, ref.kind, ref.name, ref.controller) == (
            "v1", "ReplicationController", "nginx", True)

    def printed() -> list[list[str]]:
        return columns(kubectl(cluster.kubeconfig, "get", "rc", "-n", NS).stdout)

    rows = wait_until(printed, accept=lambda r: r[1][1:4] == ["3", "3", "3"], timeout=30,
                      message="rc status counts 3 ready")
    assert rows[0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    real, ours = both(cluster, "rc", "-n", NS)
    assert without_age(ours) == without_age(real)
    wide = columns(kubectl(cluster.kubeconfig, "get", "rc", "nginx", "-n", NS, "-o",
                           "wide").stdout)
    assert wide[0][5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1][5:] == ["nginx", "busybox:1.36", "app=nginx"]

    out = kubectl(cluster.kubeconfig, "scale", "rc", "nginx", "-n", NS, "--replicas=5").stdout
    assert out == "replicationcontroller/nginx scaled\n"
    wait_until(lambda: ready_pods(api, 5), timeout=60, interval=0.1, message="5 ready pods")
    desc = wait_until(lambda: kubectl(cluster.kubeconfig, "describe", "rc", "nginx", "-n",
                                      NS).stdout,
                      accept=lambda d: "5 current / 5 desired" in d, timeout=30,
                      message="describe shows 5 replicas")
    assert "Selector:" in desc and "app=nginx" in desc
    assert "5 Running / 0 Waiting / 0 Succeeded / 0 Failed" in desc
    assert "5 current / 5 desired" in cluster.kctl("describe", "rc", "nginx", "-n", NS).stdout


def test_the_service_of_the_rc_pods_gets_an_endpointslice(cluster: Cluster, api: Api) -> None:
    wait_until(lambda: ready_pods(api, 5), timeout=60, interval=0.1, message="5 ready pods")
    pods = {p.metadata.name: p for p in api.pods("app=nginx")}

    def complete() -> list[Any]:
        got = slices(api, "nginx")
        eps = [e for s in got for e in s.endpoints or ()]
        return got if len(eps) == 5 and all(e.conditions.ready for e in eps) else []

    [s] = wait_until(complete, timeout=30, interval=0.1, message="a slice of 5 ready pods")
    assert s.metadata.name.startswith("nginx-") and s.address_type == "IPv4"
    assert s.metadata.labels[MANAGED_BY] == "endpointslice-controller.k8s.io"
    assert [(p.name, p.port, p.protocol) for p in s.ports] == [("", 80, "TCP")]
    for e in s.endpoints:
        pod = pods[e.target_ref.name]
        assert e.addresses == [pod.status.pod_ip] and e.node_name == pod.spec.node_name
        assert e.zone == "z1" and e.conditions.serving and not e.conditions.terminating

    rows = columns(kubectl(cluster.kubeconfig, "get", "endpointslices", "-n", NS, "-l",
                           f"{SERVICE_NAME}=nginx").stdout)
    assert rows[0] == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert rows[1][:3] == [s.metadata.name, "IPv4", "80"]
    assert rows[1][3].endswith(" + 2 more...")
    real, ours = both(cluster, "endpointslices", "-n", NS, "-l", f"{SERVICE_NAME}=nginx")
    assert without_age(ours) == without_age(real)

    kubectl(cluster.kubeconfig, "delete", "rc", "nginx", "-n", NS)
    [placeholder] = wait_until(lambda: slices(api, "nginx"),
                               accept=lambda ss: len(ss) == 1 and not ss[0].endpoints,
                               timeout=60, interval=0.1, message="the placeholder slice")
    rows = columns(kubectl(cluster.kubeconfig, "get", "endpointslices", "-n", NS,
                           placeholder.metadata.name).stdout)
    assert rows[1][2:4] == ["<unset>", "<unset>"]


def test_endpoints_of_selectorless_services_are_mirrored(cluster: Cluster, api: Api) -> None:
    kubectl(cluster.kubeconfig, "apply", "-f", "-", input=f"""
apiVersion: v1
kind: Service
metadata: {{name: external, namespace: {NS}}}
spec:
  ports: [{{name: db, port: 5432}}]
---
apiVersion: v1
kind: Endpoints
metadata: {{name: external, namespace: {NS}}}
subsets:
- addresses: [{{ip: 127.0.0.10}}, {{ip: 127.0.0.11}}]
  ports: [{{name: db, port: 5432}}]
""")
    [s] = wait_until(lambda: slices(api, "external"), timeout=30, interval=0.1,
                     message="the mirrored slice")
    assert s.metadata.labels[MANAGED_BY] == "endpointslicemirroring-controller.k8s.io"
    assert sorted(a for e in s.endpoints for a in e.addresses) == ["127.0.0.10", "127.0.0.11"]
    assert [(p.name, p.port) for p in s.ports] == [("db", 5432)]

    endpoints = api.core.read_namespaced_endpoints("kubernetes", "default")
    want = sorted(a.ip for sub in endpoints.subsets or () for a in sub.addresses or ())
    assert want, "the API servers keep the kubernetes Endpoints"
    kube = wait_until(lambda: slices(api, "kubernetes", "default"), timeout=30, interval=0.1,
                      message="a slice for the kubernetes service")
    assert sorted(a for s in kube for e in s.endpoints or () for a in e.addresses) == want
    assert kube[0].metadata.labels[MANAGED_BY] == "endpointslicemirroring-controller.k8s.io"
