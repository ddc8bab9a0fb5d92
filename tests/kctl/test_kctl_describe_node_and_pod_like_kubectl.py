"""kctl describe node and pod print, byte for byte, what the real kubectl 1.37 printed for
the same objects on a jetkube cluster (the texts below are kubectl's output, captured; the
objects are those it described, with the fields no describer reads left out): one
tabwriter over the whole description, so a column is shared by every run of lines with a
cell in it (Events aligns with the Allocated resources table; the pods table's first
column with System Info's), kubectl's padded cells ("%v \\t"), its empty column after
the pod name, sorted capacity, ephemeral-storage, no Kube-Proxy Version, Host Port, the
events' order and ages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from kctl_fakeapi import FakeApi, Kctl

import jetkube.services.machinery.printers._timefmt as timefmt

IMAGE_ID = "sha256:ab512471e34f10e894cfa69eec441e1412a1c418f681cdb04b15c219c8b1dd67"
NODE_LINES = [
    'Name:               node-1',
    'Roles:              <none>',
    'Labels:             beta.kubernetes.io/arch=amd64',
    '                    beta.kubernetes.io/os=linux',
    '                    kubernetes.io/arch=amd64',
    '                    kubernetes.io/hostname=node-1',
    '                    kubernetes.io/os=linux',
    ('Annotations:        jetkube.io/traceparent: 00-cee4ca696ef31a1620723c09a2f072c2-'
     '35bb8af6a916a3ed-03'),
    '                    node.alpha.kubernetes.io/ttl: 0',
    'CreationTimestamp:  Thu, 03 Dec 2026 23:40:05 +0000',
    'Taints:             <none>',
    'Unschedulable:      false',
    'Lease:',
    '  HolderIdentity:  node-1',
    '  AcquireTime:     <unset>',
    '  RenewTime:       Thu, 03 Dec 2026 23:46:08 +0000',
    'Conditions:',
    ('  Type             Status  LastHeartbeatTime                 LastTransitionTime '
     '               Reason                       Message'),
    ('  ----             ------  -----------------                 ------------------ '
     '               ------                       -------'),
    ('  MemoryPressure   False   Thu, 03 Dec 2026 23:45:46 +0000   Thu, 03 Dec 2026 23'
     ':45:46 +0000   KubeletHasSufficientMemory   kubelet has sufficient memory availa'
     'ble'),
    ('  DiskPressure     False   Thu, 03 Dec 2026 23:45:46 +0000   Thu, 03 Dec 2026 23'
     ':45:46 +0000   KubeletHasNoDiskPressure     kubelet has no disk pressure'),
    ('  PIDPressure      False   Thu, 03 Dec 2026 23:45:46 +0000   Thu, 03 Dec 2026 23'
     ':45:46 +0000   KubeletHasSufficientPID      kubelet has sufficient PID available'),
    ('  Ready            True    Thu, 03 Dec 2026 23:45:46 +0000   Thu, 03 Dec 2026 23'
     ':45:46 +0000   KubeletReady                 kubelet is posting ready status'),
    'Addresses:',
    '  InternalIP:  127.0.0.1',
    '  Hostname:    node-1',
    'Capacity:',
    '  cpu:                2',
    '  ephemeral-storage:  20Gi',
    '  memory:             24683664Ki',
    '  pods:               110',
    'Allocatable:',
    '  cpu:                2',
    '  ephemeral-storage:  20Gi',
    '  memory:             24683664Ki',
    '  pods:               110',
    'System Info:',
    '  Machine ID:                 node-1',
    '  System UUID:                node-1',
    '  Boot ID:                    node-1',
    '  Kernel Version:             6.18.44-fc-v1147',
    '  OS Image:                   Linux-6.18.44-fc-v1147-x86_64-with-glibc2.36',
    '  Operating System:           linux',
    '  Architecture:               amd64',
    '  Container Runtime Version:  sim://0.1.0',
    '  Kubelet Version:            v1.31.0-jetkube.0.1.0',
    'PodCIDR:                      10.244.0.0/24',
    'PodCIDRs:                     10.244.0.0/24',
    'Non-terminated Pods:          (5 in total)',
    ('  Namespace                   Name                    CPU Requests  CPU Limits  '
     'Memory Requests  Memory Limits  Age'),
    ('  ---------                   ----                    ------------  ----------  '
     '---------------  -------------  ---'),
    ('  d                           agent-gxwmb             0 (0%)        0 (0%)      '
     '0 (0%)           0 (0%)         6m4s'),
    ('  d                           once-gxghm              0 (0%)        0 (0%)      '
     '0 (0%)           0 (0%)         6m4s'),
    ('  d                           rc-gc2l7                0 (0%)        0 (0%)      '
     '0 (0%)           0 (0%)         22s'),
    ('  d                           rich                    50m (2%)      50m (2%)    '
     '32Mi (0%)        32Mi (0%)      22s'),
    ('  d                           web-749554774c-x72fz    100m (5%)     200m (10%)  '
     '64Mi (0%)        128Mi (0%)     6m4s'),
    'Allocated resources:',
    '  (Total limits may be over 100 percent, i.e., overcommitted.)',
    '  Resource           Requests   Limits',
    '  --------           --------   ------',
    '  cpu                150m (7%)  250m (12%)',
    '  memory             96Mi (0%)  160Mi (0%)',
    '  ephemeral-storage  0 (0%)     0 (0%)',
    'Events:              <none>',
]
POD_LINES = [
    'Name:             web-749554774c-hfw6b',
    'Namespace:        d',
    'Service Account:  default',
    'Node:             node-2/127.0.0.1',
    'Start Time:       Thu, 03 Dec 2026 23:40:05 +0000',
    'Labels:           app=web',
    '                  pod-template-hash=749554774c',
    ('Annotations:      jetkube.io/traceparent: 00-6080653b2d726714b35dc3280680c387-c4'
     'a7acb2f1701679-01'),
    'Status:           Running',
    'IP:               10.244.1.2',
    'IPs:',
    '  IP:           10.244.1.2',
    'Controlled By:  ReplicaSet/web-749554774c',
    'Containers:',
    '  c:',
    '    Container ID:  sim://c0000000002',
    '    Image:         busybox:1.36',
    '    Image ID:      sha256:ab512471e34f10e894cfa69eec441e1412a1c418f681cdb04b15c219c8b1dd67',
    '    Port:          8080/TCP (http)',
    '    Host Port:     0/TCP (http)',
    '    Command:',
    '      sh',
    '      -c',
    '    Args:',
    '      sleep 3600',
    '    State:          Running',
    '      Started:      Thu, 03 Dec 2026 23:40:05 +0000',
    '    Ready:          True',
    '    Restart Count:  0',
    '    Limits:',
    '      cpu:     200m',
    '      memory:  128Mi',
    '    Requests:',
    '      cpu:     100m',
    '      memory:  64Mi',
    '    Environment:',
    '      MODE:  prod',
    "      PASS:  <set to the key 'password' in secret 'sec'>  Optional: false",
    '    Mounts:',
    '      /etc/conf from conf (ro)',
    '      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-gp7zm (ro)',
    '  side:',
    '    Container ID:   sim://c0000000004',
    '    Image:          busybox:1.36',
    '    Image ID:       sha256:ab512471e34f10e894cfa69eec441e1412a1c418f681cdb04b15c219c8b1dd67',
    '    Port:           <none>',
    '    Host Port:      <none>',
    '    State:          Running',
    '      Started:      Thu, 03 Dec 2026 23:40:06 +0000',
    '    Ready:          True',
    '    Restart Count:  0',
    '    Environment:    <none>',
    '    Mounts:',
    '      /var/run/secrets/kubernetes.io/serviceaccount from kube-api-access-gp7zm (ro)',
    'Conditions:',
    '  Type                        Status',
    '  PodReadyToStartContainers   True ',
    '  Initialized                 True ',
    '  Ready                       True ',
    '  ContainersReady             True ',
    '  PodScheduled                True ',
    'Volumes:',
    '  conf:',
    '    Type:      ConfigMap (a volume populated by a ConfigMap)',
    '    Name:      cfg',
    '    Optional:  false',
    '  kube-api-access-gp7zm:',
    ('    Type:                    Projected (a volume that contains injected data fro'
     'm multiple sources)'),
    '    TokenExpirationSeconds:  3607',
    '    ConfigMapName:           kube-root-ca.crt',
    '    Optional:                false',
    '    DownwardAPI:             true',
    'QoS Class:                   Burstable',
    'Node-Selectors:              <none>',
    'Tolerations:                 node.kubernetes.io/not-ready:NoExecute op=Exists for 300s',
    '                             node.kubernetes.io/unreachable:NoExecute op=Exists for 300s',
    'Events:',
    '  Type    Reason     Age                From               Message',
    '  ----    ------     ----               ----               -------',
    ('  Normal  Pulled     22s (x2 over 22s)  kubelet            Container image "busy'
     'box:1.36" already present on machine'),
    '  Normal  Started    22s                kubelet            Started container c',
    ('  Normal  Scheduled  22s                jetkube-scheduler  Successfully assigned'
     ' d/web-749554774c-hfw6b to node-2'),
    '  Normal  Created    22s                kubelet            Created container c',
    '  Normal  Created    21s                kubelet            Created container side',
    '  Normal  Started    21s                kubelet            Started container side',
]


def frozen(monkeypatch: pytest.MonkeyPatch, when: str) -> None:
    at = datetime.fromisoformat(when).replace(tzinfo=UTC)
    monkeypatch.setattr(timefmt, "now", lambda: at)


def condition(kind: str, status: str, reason: str, message: str) -> dict[str, str]:
    at = "2026-12-03T23:45:46Z"
    return {"type": kind, "status": status, "lastHeartbeatTime": at, "lastTransitionTime": at,
            "reason": reason, "message": message}


def node_pod(name: str, created: str, *containers: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "d", "creationTimestamp": created},
            "spec": {"nodeName": "node-1", "containers": list(containers)},
            "status": {"phase": "Running"}}


def resources(cpu: tuple[str, str], memory: tuple[str, str]) -> dict[str, Any]:
    return {"requests": {"cpu": cpu[0], "memory": memory[0]},
            "limits": {"cpu": cpu[1], "memory": memory[1]}}


def seed_node(api: FakeApi) -> None:
    quantities = {"cpu": "2", "memory": "24683664Ki", "pods": "110", "ephemeral-storage": "20Gi"}
    api.add("nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {
        "name": "node-1", "uid": "524a1ad1-b132-446e-b29c-e3972e113495",
        "creationTimestamp": "2026-12-03T23:40:05Z",
        "labels": {"kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux",
                   "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                   "beta.kubernetes.io/arch": "amd64"},
        "annotations": {"node.alpha.kubernetes.io/ttl": "0", "jetkube.io/traceparent":
                        "00-cee4ca696ef31a1620723c09a2f072c2-35bb8af6a916a3ed-03"}},
        "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
        "status": {
            "capacity": dict(quantities), "allocatable": dict(quantities),
            "conditions": [
                condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                          "kubelet has sufficient memory available"),
                condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                          "kubelet has no disk pressure"),
                condition("PIDPressure", "False", "KubeletHasSufficientPID",
                          "kubelet has sufficient PID available"),
                condition("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": "node-1"}],
            "nodeInfo": {"machineID": "node-1", "systemUUID": "node-1", "bootID": "node-1",
                         "kernelVersion": "6.18.44-fc-v1147",
                         "osImage": "Linux-6.18.44-fc-v1147-x86_64-with-glibc2.36",
                         "containerRuntimeVersion": "sim://0.1.0",
                         "kubeletVersion": "v1.31.0-jetkube.0.1.0", "kubeProxyVersion": "",
                         "operatingSystem": "linux", "architecture": "amd64"}}})
    api.add("leases", {"metadata": {"name": "node-1", "namespace": "kube-node-lease"},
                       "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40,
                                "renewTime": "2026-12-03T23:46:08.107344Z"}})
    before, after = "2026-12-03T23:40:05Z", "2026-12-03T23:45:47Z"
    for p in (node_pod("agent-gxwmb", before, {"name": "c"}),
              node_pod("once-gxghm", before, {"name": "c"}),
              node_pod("rc-gc2l7", after, {"name": "c"}),
              node_pod("rich", after, {"name": "main", "resources": resources(
                  ("50m", "50m"), ("32Mi", "32Mi"))}),
              node_pod("web-749554774c-x72fz", before, {"name": "c", "resources": resources(
                  ("100m", "200m"), ("64Mi", "128Mi"))}, {"name": "side"})):
        api.add("pods", p)


def test_describe_node_is_kubectls_text(api: FakeApi, kctl: Kctl,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    seed_node(api)
    frozen(monkeypatch, "2026-12-03T23:46:09.3")
    code, out, err = kctl("describe", "node", "node-1")
    assert code == 0, err
    assert out == "\n".join(NODE_LINES) + "\n"


def web_pod() -> dict[str, Any]:
    mounts = {"name": "kube-api-access-gp7zm", "readOnly": True,
              "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
    running = [{"name": name, "state": {"running": {"startedAt": started}}, "ready": True,
                "restartCount": 0, "imageID": IMAGE_ID, "containerID": f"sim://c000000000{n}"}
               for name, started, n in (("c", "2026-12-03T23:40:05Z", 2),
                                        ("side", "2026-12-03T23:40:06Z", 4))]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "web-749554774c-hfw6b", "namespace": "d",
        "labels": {"app": "web", "pod-template-hash": "749554774c"},
        "annotations": {"jetkube.io/traceparent":
                        "00-6080653b2d726714b35dc3280680c387-c4a7acb2f1701679-01"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-749554774c",
                             "controller": True}],
        "creationTimestamp": "2026-12-03T23:40:05Z"},
        "spec": {
            "volumes": [{"name": "conf", "configMap": {"name": "cfg", "defaultMode": 420}},
                        {"name": "kube-api-access-gp7zm", "projected": {"sources": [
                            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                            {"configMap": {"name": "kube-root-ca.crt",
                                           "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                                "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}],
            "containers": [
                {"name": "c", "image": "busybox:1.36", "command": ["sh", "-c"],
                 "args": ["sleep 3600"],
                 "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
                 "env": [{"name": "MODE", "value": "prod"},
                         {"name": "PASS", "valueFrom": {"secretKeyRef": {
                             "name": "sec", "key": "password"}}}],
                 "resources": resources(("100m", "200m"), ("64Mi", "128Mi")),
                 "volumeMounts": [{"name": "conf", "readOnly": True, "mountPath": "/etc/conf"},
                                  mounts]},
                {"name": "side", "image": "busybox:1.36", "resources": {},
                 "volumeMounts": [mounts]}],
            "serviceAccountName": "default", "nodeName": "node-2",
            "tolerations": [{"key": f"node.kubernetes.io/{key}", "operator": "Exists",
                             "effect": "NoExecute", "tolerationSeconds": 300}
                            for key in ("not-ready", "unreachable")]},
        "status": {
            "phase": "Running",
            "conditions": [{"type": t, "status": "True"} for t in (
                "PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                "PodScheduled")],
            "hostIP": "127.0.0.1", "podIP": "10.244.1.2", "podIPs": [{"ip": "10.244.1.2"}],
            "startTime": "2026-12-03T23:40:05Z", "containerStatuses": running,
            "qosClass": "Burstable"}}


def seed_pod_events(api: FakeApi) -> None:
    """The pod's events in the order the server listed them (kubectl sorts them, stably,
    by last timestamp)."""
    kubelet = {"component": "kubelet", "host": "node-2"}
    for i, (reason, message, at, count, source) in enumerate((
            ("Pulled", 'Container image "busybox:1.36" already present on machine', 5, 2,
             kubelet),
            ("Started", "Started container c", 5, 1, kubelet),
            ("Scheduled", "Successfully assigned d/web-749554774c-hfw6b to node-2", 5, 1,
             {"component": "jetkube-scheduler"}),
            ("Created", "Created container side", 6, 1, kubelet),
            ("Created", "Created container c", 5, 1, kubelet),
            ("Started", "Started container side", 6, 1, kubelet))):
        when = f"2026-12-03T23:40:0{at}Z"
        api.add("events", {"metadata": {"name": f"e{i}", "namespace": "d"}, "type": "Normal",
                           "reason": reason, "message": message, "count": count,
                           "firstTimestamp": when, "lastTimestamp": when, "source": source,
                           "involvedObject": {"kind": "Pod", "namespace": "d",
                                              "name": "web-749554774c-hfw6b"}})


def test_describe_pod_is_kubectls_text(api: FakeApi, kctl: Kctl,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    api.add("pods", web_pod())
    seed_pod_events(api)
    frozen(monkeypatch, "2026-12-03T23:40:27.9")
    code, out, err = kctl("describe", "pod", "web-749554774c-hfw6b", "-n", "d")
    assert code == 0, err
    assert out == "\n".join(POD_LINES) + "\n"


def test_two_descriptions_are_separated_as_kubectl_separates_them(
        api: FakeApi, kctl: Kctl, monkeypatch: pytest.MonkeyPatch) -> None:
    """kubectl prints the first description, then "\\n\\n" and each next one."""
    seed_node(api)
    api.add("pods", web_pod())
    frozen(monkeypatch, "2026-12-03T23:46:09.3")
    code, out, err = kctl("describe", "pods", "-n", "d")
    assert code == 0, err
    descriptions = out.split("\n\n\nName:")
    assert len(descriptions) == 6 and out.endswith("\n") and not out.endswith("\n\n")
