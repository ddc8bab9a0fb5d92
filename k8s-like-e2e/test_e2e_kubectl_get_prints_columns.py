"""The real kubectl (v1.37) prints ``get``'s columns from jetkube's server-side Tables
(issue 13, Deliver 4): it asks ``Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…``
and lays out what the API server answers, so ``kubectl get pods`` shows NAME READY STATUS
RESTARTS AGE where it showed NAME AGE.  Each case checks the headers and the cells, and that
they are kctl's for the same objects (the AGE column aside: a second may pass between the
two commands).  Objects are created with kctl (``kubectl create`` sends protobuf bodies),
on a hollow node of this module's own pool, so the Deployment's pods run and are ready."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_e2e import Cluster
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl, kubectl_bin

pytestmark = pytest.mark.e2e

NS = "e2e-tables"
NODE = "tables-1"
POOL = {"e2e-pool": "tables"}
MANIFEST = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: {NS}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      nodeSelector: {{e2e-pool: tables}}
      terminationGracePeriodSeconds: 1
      containers: [{{name: c, image: "busybox:1.36"}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: lonely, namespace: {NS}}}
spec:
  nodeSelector: {{e2e-pool: nowhere}}
  containers: [{{name: c, image: "busybox:1.36"}}]
---
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: {NS}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"""

Rows = list[list[str]]


def columns(text: str) -> Rows:
    """kubectl's (and kctl's) plain table as rows of cells (columns are 3+ spaces apart;
    a cell holds at most single spaces)."""
    return [re.split(r" {2,}", line.strip()) for line in text.splitlines() if line.strip()]


def without_age(rows: Rows) -> Rows:
    at = rows[0].index("AGE")
    return [r[:at] + r[at + 1:] for r in rows]


def both(cluster: Cluster, *args: str) -> tuple[Rows, Rows]:
    """``get ARGS`` by the real kubectl and by kctl, as rows."""
    real = columns(kubectl(cluster.kubeconfig, "get", *args).stdout)
    ours = columns(cluster.kctl("get", *args).stdout)
    return real, ours


@pytest.fixture(scope="module")
def objects(cluster: Cluster) -> Iterator[None]:
    with cluster.hollow_nodes([NODE], labels=POOL):
        cluster.kctl("apply", "-f", "-", input=MANIFEST)

        def ready() -> bool:
            rows = columns(cluster.kctl("get", "deployment", "web", "-n", NS).stdout)
            return len(rows) == 2 and rows[1][1] == "2/2" and rows[1][3] == "2"

        wait_until(ready, timeout=60, interval=0.2, message="web's 2 pods ready")
        yield
        cluster.kctl("delete", "namespace", NS, check=False)
        wait_until(lambda: cluster.kctl("get", "namespace", NS, check=False).returncode != 0,
                   timeout=30, interval=0.2, message=f"namespace {NS} gone")


@pytest.mark.usefixtures("objects")
def test_get_pods_prints_ready_status_restarts(cluster: Cluster) -> None:
    real, ours = both(cluster, "pods", "-n", NS)
    assert real[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    cells = {r[0]: r[1:4] for r in real[1:]}
    assert cells.pop("lonely") == ["0/1", "Pending", "0"]
    assert list(cells.values()) == [["1/1", "Running", "0"]] * 2, cells
    assert all(re.fullmatch(r"\d+[smhd]\S*", r[4]) for r in real[1:]), real
    assert without_age(real) == without_age(ours)
    wide, ours_wide = both(cluster, "pods", "-n", NS, "-o", "wide")
    assert wide[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE",
                       "NOMINATED NODE", "READINESS GATES"]
    assert {r[6] for r in wide[1:] if r[0] != "lonely"} == {NODE}
    assert without_age(wide) == without_age(ours_wide)


@pytest.mark.usefixtures("objects")
def test_get_deployments_prints_ready_up_to_date_available(cluster: Cluster) -> None:
    real, ours = both(cluster, "deployments", "-n", NS)
    assert real[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert real[1][:4] == ["web", "2/2", "2", "2"]
    assert without_age(real) == without_age(ours)
    wide, ours_wide = both(cluster, "deployments", "-n", NS, "-o", "wide")
    assert wide[0][5:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1][5:] == ["c", "busybox:1.36", "app=web"]
    assert without_age(wide) == without_age(ours_wide)


@pytest.mark.usefixtures("objects")
def test_get_services_prints_type_cluster_ip_and_ports(cluster: Cluster) -> None:
    real, ours = both(cluster, "services", "-n", NS)
    assert real[0] == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    name, typ, ip, external, ports = real[1][:5]
    assert (name, typ, external, ports) == ("web", "ClusterIP", "<none>", "80/TCP")
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", ip), ip
    assert without_age(real) == without_age(ours)
    wide, _ = both(cluster, "services", "-n", NS, "-o", "wide")
    assert wide[0][-1] == "SELECTOR" and wide[1][-1] == "app=web"


@pytest.mark.usefixtures("objects")
def test_get_nodes_wide_prints_addresses_and_versions(cluster: Cluster) -> None:
    real, ours = both(cluster, "nodes", "-o", "wide")
    assert real[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP",
                       "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    [mine] = [r for r in real if r[0] == NODE]
    assert mine[:3] == [NODE, "Ready", "<none>"]
    assert mine[4:] == ["v1.31.0-hollow", "127.0.0.1", "<none>", "hollow", "<unknown>",
                        "hollow://0"]
    [kctls] = [r for r in ours if r[0] == NODE]
    assert mine[:3] + mine[4:] == kctls[:3] + kctls[4:]


@pytest.mark.usefixtures("objects")
def test_a_kind_without_a_printer_prints_name_and_created_at(cluster: Cluster) -> None:
    cluster.kctl("apply", "-f", "-", input=f"""
apiVersion: v1
kind: ResourceQuota
metadata: {{name: q, namespace: {NS}}}
spec: {{hard: {{pods: "50"}}}}
""")
    real = columns(kubectl(cluster.kubeconfig, "get", "resourcequotas", "-n", NS).stdout)
    assert real[0] == ["NAME", "CREATED AT"]
    assert real[1][0] == "q" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", real[1][1])


@pytest.mark.usefixtures("objects")
def test_get_all_namespaces_and_sort_by_use_the_rows_objects(cluster: Cluster) -> None:
    """``-A`` takes NAMESPACE from each row's PartialObjectMetadata; ``--sort-by`` asks for
    ``includeObject=Object`` and sorts on the objects."""
    real = columns(kubectl(cluster.kubeconfig, "get", "pods", "-A").stdout)
    assert real[0][:2] == ["NAMESPACE", "NAME"]
    assert {r[1] for r in real[1:] if r[0] == NS} >= {"lonely"}
    names = [r[0] for r in columns(kubectl(cluster.kubeconfig, "get", "pods", "-n", NS,
                                           "--sort-by", "{.metadata.name}").stdout)[1:]]
    assert names == sorted(names) and "lonely" in names


@pytest.mark.usefixtures("objects")
def test_get_watch_prints_a_row_per_change(cluster: Cluster, tmp_path: Path) -> None:
    """``kubectl get -w`` reads Table events: the header and rows first, then a row for
    a pod created after it started (no header again)."""
    out = tmp_path / "watch.txt"
    with out.open("w") as f:
        proc = subprocess.Popen([kubectl_bin(), "--kubeconfig", str(cluster.kubeconfig), "get",
                                 "pods", "-n", NS, "-w"], stdout=f, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: "lonely" in out.read_text(), timeout=30, interval=0.1,
                   message="the initial rows")
        cluster.kctl("apply", "-f", "-", input=f"""
apiVersion: v1
kind: Pod
metadata: {{name: late, namespace: {NS}}}
spec:
  nodeSelector: {{e2e-pool: nowhere}}
  containers: [{{name: c, image: "busybox:1.36"}}]
""")
        wait_until(lambda: "late" in out.read_text(), timeout=30, interval=0.1,
                   message="a row for the new pod")
        time.sleep(0.2)  # any further line of the same event
    finally:
        proc.terminate()
        proc.wait(10)
    rows = columns(out.read_text())
    assert rows[0] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert sum(r == rows[0] for r in rows) == 1, "one header"
    late = [r for r in rows if r[0] == "late"]
    assert late and late[0][1:3] == ["0/1", "Pending"], rows
