"""kctl get / describe for the control loops' objects: kubectl's columns and sections."""

from __future__ import annotations

from datetime import timedelta

import pytest
from kctl_fakeapi import Kctl
from kctl_fakeapps import AppsFakeApi, deployment, replicaset
from kctl_tables import rows, ts

from jetkube.schemas.objects import Obj

# kctl's clock frozen at kctl_tables.NOW (ages never tick mid-test)
pytestmark = [pytest.mark.fake_api(cls=AppsFakeApi), pytest.mark.usefixtures("frozen_clock")]


def test_deployments_and_replicasets(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment(status={"readyReplicas": 2, "availableReplicas": 2}))
    api.add("replicasets", replicaset("web", "aaa", "nginx:1.25", 1, replicas=3))
    _, out, _ = kctl("get", "deploy", "-o", "wide")
    assert rows(out)[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS",
                            "IMAGES", "SELECTOR"]
    assert rows(out)[1][:4] == ["web", "2/3", "3", "2"]
    assert rows(out)[1][5:] == ["web", "nginx:1.25", "app=web"]
    _, out, _ = kctl("get", "rs")
    assert rows(out)[0] == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
    assert rows(out)[1][:4] == ["web-aaa", "3", "3", "0"]


def test_jobs_and_daemonsets(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("jobs", {"metadata": {"name": "pi", "namespace": "default"},
                     "spec": {"completions": 3, "parallelism": 2},
                     "status": {"succeeded": 3, "startTime": "2024-01-01T00:00:00Z",
                                "completionTime": "2024-01-01T00:01:05Z",
                                "conditions": [{"type": "Complete", "status": "True"}]}})
    api.add("jobs", {"metadata": {"name": "loop", "namespace": "default"},
                     "spec": {"parallelism": 2}, "status": {"active": 2}})
    _, out, _ = kctl("get", "jobs")
    assert rows(out)[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert rows(out)[1][:3] == ["loop", "Running", "0/1"] and rows(out)[1][3:5] == ["of", "2"]
    assert rows(out)[2][:4] == ["pi", "Complete", "3/3", "65s"]
    api.add("daemonsets", {"metadata": {"name": "agent", "namespace": "default"},
                           "spec": {"template": {"spec": {"nodeSelector": {"disk": "ssd"}}}},
                           "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2,
                                      "numberReady": 1, "updatedNumberScheduled": 2,
                                      "numberAvailable": 1}})
    _, out, _ = kctl("get", "ds")
    assert rows(out)[0] == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                            "NODE", "SELECTOR", "AGE"]
    assert rows(out)[1][:7] == ["agent", "2", "2", "1", "2", "1", "disk=ssd"]


def node(name: str, ready: str | None = "True") -> Obj:
    conds = [] if ready is None else [
        {"type": "Ready", "status": ready, "reason": "KubeletReady", "message": "posting",
         "lastHeartbeatTime": "2024-01-01T00:00:00Z",
         "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"],
                     "taints": [{"key": "dedicated", "value": "db", "effect": "NoSchedule"}]},
            "status": {"conditions": conds,
                       "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                       "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       "nodeInfo": {"kubeletVersion": "v1.31.0-hollow", "osImage": "hollow",
                                    "kernelVersion": "6.1", "containerRuntimeVersion": "sim://1"}}}


def test_nodes_status_and_wide(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("nodes", node("n1"))
    api.add("nodes", node("n2", "Unknown"))
    api.add("nodes", node("n3", None))
    _, out, _ = kctl("get", "nodes", "-o", "wide")
    r = rows(out)
    assert r[0] == ["NAME", "STATUS", "ROLES", "AGE", "VERSION", "INTERNAL-IP", "EXTERNAL-IP",
                    "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"]
    assert [x[1] for x in r[1:]] == ["Ready", "NotReady", "Unknown"]
    assert r[1][4:] == ["v1.31.0-hollow", "127.0.0.1", "<none>", "hollow", "6.1", "sim://1"]


def test_events_count_and_wide(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("events", {"metadata": {"name": "web.1", "namespace": "default"}, "type": "Normal",
                       "reason": "ScalingReplicaSet", "message": "Scaled up  ",
                       "count": 3, "firstTimestamp": ts(timedelta(minutes=10)),
                       "lastTimestamp": ts(timedelta(minutes=2)),
                       "source": {"component": "deployment-controller"},
                       "involvedObject": {"kind": "Deployment", "name": "web"}})
    _, out, _ = kctl("get", "events")
    assert rows(out)[1] == ["2m", "(x3", "over", "10m)", "Normal", "ScalingReplicaSet",
                            "deployment/web", "Scaled", "up"]
    _, out, _ = kctl("get", "events", "-o", "wide")
    header = out.splitlines()[0]
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE",
                              "MESSAGE", "FIRST", "SEEN", "COUNT", "NAME"]
    assert rows(out)[1][-3:] == ["10m", "3", "web.1"]
    assert "deployment-controller" in out


def test_describe_deployment(api: AppsFakeApi, kctl: Kctl) -> None:
    d = deployment(image="nginx:1.26", revision=2, status={
        "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3, "unavailableReplicas": 1,
        "conditions": [{"type": "Available", "status": "True",
                        "reason": "MinimumReplicasAvailable"},
                       {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated"}]},
        strategy={"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%",
                                                             "maxSurge": 1}})
    api.add("deployments", d)
    api.add("replicasets", replicaset("web", "old", "nginx:1.25", 1, replicas=1,
                                      created="2024-01-01T00:00:00Z"))
    api.add("replicasets", replicaset("web", "new", "nginx:1.26", 2, replicas=3,
                                      created="2024-01-02T00:00:00Z"))
    api.add("replicasets", replicaset("web", "older", "nginx:1.24", 0, replicas=0))
    api.add("events", {"metadata": {"name": "e", "namespace": "default"}, "type": "Normal",
                       "reason": "ScalingReplicaSet", "message": "Scaled up replica set web-new",
                       "source": {"component": "deployment-controller"},
                       "involvedObject": {"kind": "Deployment", "name": "web",
                                          "namespace": "default"}})
    code, out, err = kctl("describe", "deployment", "web")
    assert code == 0, err
    r = rows(out)
    assert ["Replicas:", "3", "desired", "|", "3", "updated", "|", "4", "total", "|", "3",
            "available", "|", "1", "unavailable"] in r
    assert ["StrategyType:", "RollingUpdate"] in r
    assert ["RollingUpdateStrategy:", "25%", "max", "unavailable,", "1", "max", "surge"] in r
    assert ["Progressing", "True", "ReplicaSetUpdated"] in r
    # every old ReplicaSet, also those scaled to 0 (kubectl 1.37)
    assert ["OldReplicaSets:", "web-old", "(1/1", "replicas", "created),", "web-older", "(0/0",
            "replicas", "created)"] in r
    assert ["NewReplicaSet:", "web-new", "(3/3", "replicas", "created)"] in r
    assert ["Image:", "nginx:1.26"] in r
    assert "deployment-controller" in out and "Scaled up replica set web-new" in out
    names = [ln.split(":")[0] for ln in out.splitlines() if ln and not ln.startswith(" ")]
    assert names[:3] == ["Name", "Namespace", "CreationTimestamp"]
    assert names.index("Conditions") < names.index("OldReplicaSets") < names.index("Events")


def test_describe_node(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("nodes", node("n1"))
    p = {"metadata": {"name": "web-1", "namespace": "default"},
         "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "i", "resources": {
             "requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}}]},
         "status": {"phase": "Running"}}
    api.add("pods", p)
    api.add("leases", {"metadata": {"name": "n1", "namespace": "kube-node-lease"},
                       "spec": {"holderIdentity": "n1", "renewTime": "2024-01-01T00:00:00Z"}})
    code, out, err = kctl("describe", "node", "n1")
    assert code == 0, err
    r = rows(out)
    assert ["Taints:", "dedicated=db:NoSchedule"] in r
    assert ["HolderIdentity:", "n1"] in r
    cond = next(x for x in r if x and x[0] == "Ready")
    assert cond[1] == "True" and "KubeletReady" in cond
    assert ["Capacity:"] in r and ["Allocatable:"] in r and ["memory:", "8Gi"] in r
    assert ["PodCIDR:", "10.244.1.0/24"] in r and ["PodCIDRs:", "10.244.1.0/24"] in r
    assert ["Non-terminated", "Pods:", "(1", "in", "total)"] in r
    pod_row = next(x for x in r if x and x[0] == "default")
    assert pod_row[:8] == ["default", "web-1", "500m", "(12%)", "0", "(0%)", "256Mi", "(3%)"]
    assert ["cpu", "500m", "(12%)", "0", "(0%)"] in r
    assert ["Kubelet", "Version:", "v1.31.0-hollow"] in r


def test_describe_job_and_daemonset(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("jobs", {"apiVersion": "batch/v1", "kind": "Job",
                     "metadata": {"name": "pi", "namespace": "default"},
                     "spec": {"parallelism": 2, "completions": 4, "backoffLimit": 6,
                              "template": {"spec": {"containers": [{"name": "pi",
                                                                    "image": "perl"}]}}},
                     "status": {"active": 2, "ready": 1, "succeeded": 1,
                                "startTime": "2024-01-01T00:00:00Z"}})
    code, out, _ = kctl("describe", "job", "pi")
    assert code == 0
    r = rows(out)
    assert ["Parallelism:", "2"] in r and ["Completions:", "4"] in r
    assert ["Pods", "Statuses:", "2", "Active", "(1", "Ready)", "/", "1", "Succeeded", "/", "0",
            "Failed"] in r
    api.add("daemonsets", {"apiVersion": "apps/v1", "kind": "DaemonSet",
                           "metadata": {"name": "agent", "namespace": "default"},
                           "spec": {"template": {"spec": {"containers": []}}},
                           "status": {"desiredNumberScheduled": 2, "numberAvailable": 2}})
    code, out, _ = kctl("describe", "ds", "agent")
    assert code == 0
    assert ["Desired", "Number", "of", "Nodes", "Scheduled:", "2"] in rows(out)
    assert "Pod Template:" in out
