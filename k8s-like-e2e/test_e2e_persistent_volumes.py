"""Persistent volumes on real containers: a `kctl up` cluster with two node agents on the
Docker runtime, driven with the real kubectl (v1.37).

In order, on one cluster:

- the default StorageClass ``standard`` (the built-in ``jetkube.io/local-path``
  provisioner, WaitForFirstConsumer) is listed as ``standard (default)``; a claim with no
  class gets it and stays Pending, waiting for its first consumer;
- a pod using the claim is scheduled, the claim is provisioned on the pod's node (a
  directory under that node agent's data dir, where the pod's file really is), and bound;
  kubectl prints the PV and PVC columns and describes the claim with the pod in ``Used
  By``;
- the pod is deleted and created again: it lands on the same node (the volume's node
  affinity) and reads what the first pod wrote; the data survived;
- deleting the claim while the pod runs leaves it Terminating (pvc-protection) until the
  pod is gone; then the volume is deleted (reclaim policy Delete) and its directory is
  removed by the node agent;
- with a class of ``Immediate`` binding, a claim is provisioned and bound before any pod
  uses it, and the pod that does goes to the volume's node;
- a static hostPath volume with reclaim policy Retain binds a claim of no class and is
  Released, not deleted, when the claim goes;
- a claim with an unknown access mode is refused with the field named.

Traffic goes only to 127.0.0.1; containers are this cluster's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker_e2e import IMAGE, DockerCluster, docker_cluster, running
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl

pytestmark = pytest.mark.e2e

PV_COLUMNS = ("NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS "
              "VOLUMEATTRIBUTESCLASS REASON AGE")
PVC_COLUMNS = "NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE"


@pytest.fixture(scope="module")
def dc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockerCluster]:
    yield from docker_cluster(tmp_path_factory, ["node-a", "node-b"])


def k(dc: DockerCluster, *args: str, check: bool = True, input: str | None = None) -> str:
    return kubectl(dc.kubeconfig, *args, check=check, input=input).stdout


def apply(dc: DockerCluster, obj: dict[str, Any]) -> None:
    k(dc, "apply", "-f", "-", input=json.dumps(obj))


def get(dc: DockerCluster, kind: str, name: str) -> dict[str, Any] | None:
    p = kubectl(dc.kubeconfig, "get", kind, name, "-o", "json", check=False)
    return json.loads(p.stdout) if p.returncode == 0 else None


def header(text: str) -> str:
    return " ".join(text.splitlines()[0].split())


def claim(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
            "spec": {"accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "64Mi"}}, **spec}}


def app(name: str, claim_name: str) -> dict[str, Any]:
    """Writes a random token into the claim on its first run only, then prints it."""
    script = ("[ -f /data/first ] || cat /proc/sys/kernel/random/uuid > /data/first; "
              "echo first=$(cat /data/first); exec sleep 3600")
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "terminationGracePeriodSeconds": 1,
        "containers": [{"name": "app", "image": IMAGE, "command": ["sh", "-c", script],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]}}


def logged_first(dc: DockerCluster, pod: str) -> str:
    def line() -> str | None:
        out = dc.kctl("logs", pod, check=False).stdout
        m = re.search(r"first=([0-9a-f-]{36})", out)
        return m.group(1) if m else None
    return str(wait_until(line, timeout=60.0, message=f"{pod}'s first line"))


def test_default_class_and_a_claim_waiting_for_its_first_consumer(dc: DockerCluster) -> None:
    out = k(dc, "get", "storageclass")
    assert header(out) == ("NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE "
                           "ALLOWVOLUMEEXPANSION AGE")
    assert re.search(r"^standard \(default\)\s+jetkube\.io/local-path\s+Delete\s+"
                     r"WaitForFirstConsumer\s+false", out, re.M), out
    apply(dc, claim("data"))
    c = get(dc, "pvc", "data")
    assert c is not None and c["spec"]["storageClassName"] == "standard"
    assert c["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]

    def waiting() -> bool:
        events = k(dc, "get", "events", "--field-selector",
                   "involvedObject.name=data", "-o", "json")
        return any(e["reason"] == "WaitForFirstConsumer" for e in json.loads(events)["items"])
    wait_until(waiting, timeout=30.0, message="the WaitForFirstConsumer event")
    assert (get(dc, "pvc", "data") or {})["status"]["phase"] == "Pending"


def test_data_written_into_a_claim_survives_the_pod(dc: DockerCluster) -> None:
    apply(dc, app("app", "data"))
    wait_until(lambda: running(dc.pod_or_none("app")), timeout=90.0, message="app Running")
    first = logged_first(dc, "app")
    node = dc.pod("app")["spec"]["nodeName"]
    c = get(dc, "pvc", "data")
    assert c is not None and c["status"]["phase"] == "Bound"
    assert c["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    volume = c["spec"]["volumeName"]
    pv = get(dc, "pv", volume)
    assert pv is not None
    assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"] == [node]
    on_disk = Path(dc.data_dir) / "nodes" / node / "local-path" / volume / "first"
    assert on_disk.read_text().strip() == first  # a real file in the node agent's data dir

    pvs = k(dc, "get", "pv")
    assert header(pvs) == PV_COLUMNS
    assert re.search(rf"^{volume}\s+64Mi\s+RWO\s+Delete\s+Bound\s+default/data\s+standard\s+"
                     r"<unset>\s+", pvs, re.M), pvs
    pvcs = k(dc, "get", "pvc")
    assert header(pvcs) == PVC_COLUMNS
    assert re.search(rf"^data\s+Bound\s+{volume}\s+64Mi\s+RWO\s+standard\s+<unset>\s+",
                     pvcs, re.M), pvcs
    described = k(dc, "describe", "pvc", "data")
    assert re.search(r"^Used By:\s+app$", described, re.M), described

    k(dc, "delete", "pod", "app", "--wait=true")
    apply(dc, app("app", "data"))
    wait_until(lambda: running(dc.pod_or_none("app")), timeout=90.0,
               message="the new app Running")
    assert dc.pod("app")["spec"]["nodeName"] == node  # where its volume is
    assert logged_first(dc, "app") == first  # what the first pod wrote


def test_claim_in_use_stays_until_its_pod_is_gone_then_its_volume_goes(
        dc: DockerCluster) -> None:
    volume = (get(dc, "pvc", "data") or {})["spec"]["volumeName"]
    node = dc.pod("app")["spec"]["nodeName"]
    directory = Path(dc.data_dir) / "nodes" / node / "local-path" / volume
    assert directory.is_dir()
    k(dc, "delete", "pvc", "data", "--wait=false")
    pvcs = k(dc, "get", "pvc", "data")
    assert re.search(r"^data\s+Terminating\s+", pvcs, re.M), pvcs
    assert running(dc.pod_or_none("app"))
    k(dc, "delete", "pod", "app", "--wait=true")
    wait_until(lambda: get(dc, "pvc", "data") is None, timeout=30.0,
               message="the claim gone once no pod uses it")
    wait_until(lambda: get(dc, "pv", volume) is None, timeout=60.0,
               message="the released volume deleted")
    assert not directory.exists()  # its node agent removed the data before the finalizer


def test_immediate_class_provisions_at_once_and_the_pod_follows_the_volume(
        dc: DockerCluster) -> None:
    apply(dc, {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
               "metadata": {"name": "now"}, "provisioner": "jetkube.io/local-path",
               "volumeBindingMode": "Immediate"})
    apply(dc, claim("early", storageClassName="now"))
    wait_until(lambda: ((get(dc, "pvc", "early") or {}).get("status") or {}).get(
        "phase") == "Bound", timeout=30.0, message="the Immediate claim bound with no pod")
    volume = get(dc, "pv", (get(dc, "pvc", "early") or {})["spec"]["volumeName"]) or {}
    node = volume["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0][
        "matchExpressions"][0]["values"][0]
    apply(dc, app("early-user", "early"))
    wait_until(lambda: running(dc.pod_or_none("early-user")), timeout=90.0,
               message="early-user Running")
    assert dc.pod("early-user")["spec"]["nodeName"] == node
    logged_first(dc, "early-user")
    k(dc, "delete", "pod", "early-user", "--wait=true")
    k(dc, "delete", "pvc", "early")


def test_static_volume_with_retain_is_released_not_deleted(
        dc: DockerCluster, tmp_path: Path) -> None:
    exported = tmp_path / "exported"
    apply(dc, {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "manual"},
               "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
                        "hostPath": {"path": str(exported), "type": "DirectoryOrCreate"}}})
    apply(dc, claim("manual-claim", storageClassName=""))
    wait_until(lambda: ((get(dc, "pvc", "manual-claim") or {}).get("status") or {}).get(
        "phase") == "Bound", timeout=30.0, message="the static claim bound")
    assert (get(dc, "pvc", "manual-claim") or {})["spec"]["volumeName"] == "manual"
    k(dc, "delete", "pvc", "manual-claim")
    wait_until(lambda: ((get(dc, "pv", "manual") or {}).get("status") or {}).get(
        "phase") == "Released", timeout=30.0, message="the volume Released")
    assert re.search(r"^manual\s+1Gi\s+RWO\s+Retain\s+Released\s+default/manual-claim\s+",
                     k(dc, "get", "pv", "manual"), re.M)


def test_claim_with_a_bad_access_mode_is_refused(dc: DockerCluster) -> None:
    p = kubectl(dc.kubeconfig, "apply", "-f", "-", check=False,
                input=json.dumps(claim("bad", accessModes=["ReadWriteSometimes"])))
    assert p.returncode != 0
    assert 'spec.accessModes: Unsupported value: "ReadWriteSometimes"' in p.stderr, p.stderr
    assert get(dc, "pvc", "bad") is None
