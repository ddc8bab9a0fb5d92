"""kctl describe statefulset: kubectl's describeStatefulSet lines, with Volume Claims."""

from __future__ import annotations

from typing import Any

from jetkube.cli.describe import Writer
from jetkube.cli.describe_workloads import statefulset

STS = {"metadata": {"name": "web", "namespace": "default", "uid": "u1",
                    "creationTimestamp": "2024-01-01T00:00:00Z"},
       "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "nginx"}},
                "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
                "template": {"metadata": {"labels": {"app": "nginx"}},
                             "spec": {"containers": [{"name": "nginx", "image": "httpd"}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}}}}]},
       "status": {"replicas": 2}}


def fetch(path: str, params: dict[str, str]) -> dict[str, Any]:
    assert path == "/api/v1/namespaces/default/pods" and params == {"labelSelector": "app=nginx"}
    pod = {"metadata": {"ownerReferences": [{"controller": True, "uid": "u1"}]},
           "status": {"phase": "Running"}}
    return {"items": [pod, {**pod, "status": {"phase": "Pending"}}]}


def test_describe_prints_replicas_strategy_pods_and_claims() -> None:
    w = Writer()
    statefulset(w, STS, fetch)
    lines = [ln.rstrip() for ln in w.render().splitlines()]
    text = "\n".join(lines)
    assert any(ln.split() == ["Replicas:", "3", "desired", "|", "2", "total"] for ln in lines)
    assert any(ln.split() == ["Update", "Strategy:", "RollingUpdate"] for ln in lines)
    assert any(ln.split() == ["Partition:", "2"] and ln.startswith("  ") for ln in lines)
    assert "1 Running / 1 Waiting / 0 Succeeded / 0 Failed" in text
    assert "Pod Template:" in text and "Volume Claims:" in lines
    assert any(ln.split() == ["Capacity:", "1Gi"] for ln in lines)
    assert any(ln.split() == ["Access", "Modes:", "[ReadWriteOnce]"] for ln in lines)
