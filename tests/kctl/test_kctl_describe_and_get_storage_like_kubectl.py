"""kctl get and describe for persistent storage, as kubectl's printers and describers:
the default class marked ``(default)``; a volume with its claim, reclaim policy, node
affinity and source; a claim with its volume, capacity, access modes and the pods that
use it (``Used By``)."""

from __future__ import annotations

from kctl_localcluster import NS, LocalCluster


def rows(out: str) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if value.strip():
            got.setdefault(key.strip(), []).append(" ".join(value.split()))
    return got


def test_get_and_describe_volume_claim_and_class(cluster: LocalCluster) -> None:
    cluster.ok("POST", "/api/v1/persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "disk"},
        "spec": {"capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"],
                 "storageClassName": "", "local": {"path": "/mnt/disk"},
                 "claimRef": {"namespace": "default", "name": "data"},
                 "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                     {"key": "kubernetes.io/hostname", "operator": "In",
                      "values": ["node-1"]}]}]}}}})
    claim = cluster.ok("POST", f"{NS}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "volumeName": "disk", "resources": {"requests": {"storage": "1Gi"}}}})
    cluster.ok("PUT", f"{NS}/persistentvolumeclaims/data/status", {**claim, "status": {
        "phase": "Bound", "capacity": {"storage": "2Gi"}, "accessModes": ["ReadWriteOnce"]}})
    cluster.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db"},
        "spec": {"containers": [{"name": "c", "image": "busybox"}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}})

    code, out, err = cluster.kctl("get", "storageclass")
    assert code == 0, err
    assert out.split()[:6] == ["NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                               "ALLOWVOLUMEEXPANSION", "AGE"]
    assert "standard (default)" in out

    code, out, err = cluster.kctl("describe", "pv", "disk")
    assert code == 0, err
    r = rows(out)
    assert r["Claim"] == ["default/data"] and r["Reclaim Policy"] == ["Retain"]
    assert r["Access Modes"] == ["RWO"] and r["Capacity"] == ["2Gi"]
    assert r["Term 0"] == ["kubernetes.io/hostname in [node-1]"]
    assert r["Type"] == ["LocalVolume (a persistent volume backed by local storage on a node)"]
    assert r["Path"] == ["/mnt/disk"]
    assert r["Finalizers"] == ["[kubernetes.io/pv-protection]"]

    code, out, err = cluster.kctl("describe", "pvc", "data")
    assert code == 0, err
    r = rows(out)
    assert r["Status"] == ["Bound"] and r["Volume"] == ["disk"]
    assert r["Capacity"] == ["2Gi"] and r["Access Modes"] == ["RWO"]
    assert r["Used By"] == ["db"]

    code, out, err = cluster.kctl("describe", "storageclass", "standard")
    assert code == 0, err
    r = rows(out)
    assert r["IsDefaultClass"] == ["Yes"] and r["Provisioner"] == ["jetkube.io/local-path"]
    assert r["VolumeBindingMode"] == ["WaitForFirstConsumer"]
