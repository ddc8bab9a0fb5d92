"""kctl against a `kctl up` cluster: apply / get / describe / label / annotate / delete."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
from cluster_e2e import BIN, Cluster
from polling import wait_until

pytestmark = pytest.mark.e2e

MANIFEST = """\
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  mode: fast
"""


def test_apply_is_created_then_unchanged_then_configured(cluster: Cluster) -> None:
    out = cluster.kctl("apply", "-f", "-", input=MANIFEST).stdout.splitlines()
    assert out == ["namespace/shop created", "deployment.apps/web created", "service/web created",
                   "configmap/settings created"]
    out = cluster.kctl("apply", "-f", "-", input=MANIFEST).stdout.splitlines()
    assert all(line.endswith(" unchanged") for line in out) and len(out) == 4
    changed = MANIFEST.replace("replicas: 3", "replicas: 5")
    out = cluster.kctl("apply", "-f", "-", input=changed).stdout.splitlines()
    assert "deployment.apps/web configured" in out and "configmap/settings unchanged" in out
    d = json.loads(cluster.kctl("get", "deployment", "web", "-n", "shop", "-o", "json").stdout)
    assert d["spec"]["replicas"] == 5 and d["metadata"]["generation"] == 2


def test_get_tables_formats_and_selectors(cluster: Cluster) -> None:
    cluster.kctl("apply", "-f", "-", input=MANIFEST)
    svc = cluster.kctl("get", "svc", "-n", "shop").stdout.splitlines()
    assert svc[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    row = svc[1].split()
    assert row[0] == "web" and row[1] == "NodePort" and row[2].startswith("10.96.")
    assert row[4].startswith("80:3") and row[4].endswith("/TCP")
    names = cluster.kctl("get", "deploy,cm", "-n", "shop", "-o", "name").stdout.split()
    assert "deployment.apps/web" in names and "configmap/settings" in names
    allns = cluster.kctl("get", "deployments", "-A").stdout.splitlines()
    assert allns[0].split()[0] == "NAMESPACE" and any(line.split()[:2] == ["shop", "web"]
                                                      for line in allns[1:])
    y = cluster.kctl("get", "cm", "settings", "-n", "shop", "-o", "yaml").stdout
    assert "mode: fast" in y and "kind: ConfigMap" in y
    cluster.kctl("run", "probe", "--image", "busybox:1.36", "-n", "shop", "--labels", "role=probe")
    sel = cluster.kctl("get", "pods", "-n", "shop", "-l", "role=probe", "-o", "name").stdout
    assert sel.split() == ["pod/probe"]


def test_label_annotate_describe_and_delete(cluster: Cluster) -> None:
    cluster.kctl("apply", "-f", "-", input=MANIFEST)
    cluster.kctl("label", "configmap", "settings", "-n", "shop", "tier=gold")
    cluster.kctl("annotate", "configmap", "settings", "-n", "shop", "owner=team-a")
    cm = json.loads(cluster.kctl("get", "cm", "settings", "-n", "shop", "-o", "json").stdout)
    assert cm["metadata"]["labels"]["tier"] == "gold"
    assert cm["metadata"]["annotations"]["owner"] == "team-a"
    again = cluster.kctl("label", "configmap", "settings", "-n", "shop", "tier=silver",
                         check=False)
    assert again.returncode != 0 and "--overwrite" in again.stderr
    cluster.kctl("label", "configmap", "settings", "-n", "shop", "tier-")
    cm = json.loads(cluster.kctl("get", "cm", "settings", "-n", "shop", "-o", "json").stdout)
    assert "tier" not in (cm["metadata"].get("labels") or {})
    desc = cluster.kctl("describe", "service", "web", "-n", "shop").stdout
    assert "Name:" in desc and "NodePort" in desc
    out = cluster.kctl("delete", "configmap", "settings", "-n", "shop").stdout
    assert 'configmap "settings" deleted' in out
    gone = cluster.kctl("get", "configmap", "settings", "-n", "shop", check=False)
    assert gone.returncode == 1
    assert 'Error from server (NotFound): configmaps "settings" not found' in gone.stderr


def test_get_watch_prints_a_row_per_change(cluster: Cluster) -> None:
    cluster.kctl("create", "namespace", "watched")
    # every namespace gets kube-root-ca.crt (the root-CA publisher): not a change to watch
    wait_until(lambda: cluster.kctl("get", "configmap", "kube-root-ca.crt", "-n", "watched",
                                    check=False).returncode == 0,
               timeout=30, message="kube-root-ca.crt published")
    p = subprocess.Popen([str(BIN / "kctl"), "get", "configmaps", "-n", "watched", "-w",
                          "--watch-only", "-o", "name"], stdout=subprocess.PIPE, text=True,
                         env=cluster.env())
    try:
        time.sleep(1.0)  # scenario: `--watch-only` prints nothing until a change, so no signal to poll
        cluster.kctl("create", "configmap", "w1", "-n", "watched", "--from-literal", "a=1")
        cluster.kctl("delete", "configmap", "w1", "-n", "watched")
        assert p.stdout is not None
        lines = [p.stdout.readline().strip() for _ in range(2)]
        assert lines == ["configmap/w1", "configmap/w1"]
    finally:
        p.terminate()
        p.wait(10)


def test_version_api_resources_and_cluster_info(cluster: Cluster) -> None:
    v = cluster.kctl("version").stdout
    assert "Server Version" in v and "jetkube" in v
    res = cluster.kctl("api-resources").stdout
    assert any(line.split()[:2] == ["deployments", "deploy"] for line in res.splitlines())
    info = cluster.kctl("cluster-info").stdout
    assert "apiserver" in info and "healthy" in info and "nats" in info
