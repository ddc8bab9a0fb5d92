"""kctl get: kubectl's table columns, output formats, selectors, watch, errors."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml
from kctl_fakeapi import FakeApi, Kctl, pod
from kctl_tables import ts

# kctl's clock frozen at kctl_tables.NOW, so an age never ticks over a second between
# building the objects and printing them
pytestmark = pytest.mark.usefixtures("frozen_clock")


def running_pod(name: str, ns: str = "default") -> dict[str, object]:
    p = pod(name, ns)
    p["metadata"]["creationTimestamp"] = ts(timedelta(minutes=5, seconds=3))
    p["spec"]["nodeName"] = "node-1"
    p["status"] = {"phase": "Running", "podIP": "10.244.1.5",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                          "state": {"running": {"startedAt": ts(
                                              timedelta(minutes=5))}}}]}
    return p


def test_get_pods_prints_kubectls_columns(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", running_pod("web-1"))
    code, out, err = kctl("get", "pods")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    assert lines[1].split() == ["web-1", "1/1", "Running", "0", "5m3s"]
    # columns line up: each value starts where its header starts
    assert lines[1].index("1/1") == lines[0].index("READY")


def test_get_wide_adds_ip_and_node(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", running_pod("web-1"))
    _, out, _ = kctl("get", "po", "-o", "wide")
    header, row = out.splitlines()
    assert header.split()[5:] == ["IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"]
    assert row.split()[5:] == ["10.244.1.5", "node-1", "<none>", "<none>"]


def test_get_all_namespaces_puts_namespace_first(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", running_pod("a", "ns1"))
    api.add("pods", running_pod("b", "ns2"))
    _, out, _ = kctl("get", "pods", "-A")
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert [ln.split()[:2] for ln in lines[1:]] == [["ns1", "a"], ["ns2", "b"]]
    assert api.requests[-1].url.path == "/api/v1/pods"


def test_get_several_types_prefixes_names_with_the_kind(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", running_pod("web-1"))
    api.add("services", {"metadata": {"name": "web", "namespace": "default"},
                         "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
                                  "ports": [{"port": 80, "nodePort": 30080,
                                             "protocol": "TCP"}]}})
    code, out, _ = kctl("get", "pods,svc")
    assert code == 0
    blocks = out.strip().split("\n\n")
    assert blocks[0].splitlines()[1].startswith("pod/web-1")
    svc_header, svc_row = blocks[1].splitlines()
    assert svc_header.split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert svc_row.split()[:5] == ["service/web", "NodePort", "10.96.0.10", "<none>",
                                   "80:30080/TCP"]


def test_get_deployment_by_kind_dot_group(api: FakeApi, kctl: Kctl) -> None:
    api.add("deployments", {"metadata": {"name": "web", "namespace": "default"},
                            "spec": {"replicas": 3},
                            "status": {"readyReplicas": 2, "updatedReplicas": 3,
                                       "availableReplicas": 2}})
    code, out, _ = kctl("get", "deployment.apps", "web")
    assert code == 0
    assert out.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert out.splitlines()[1].split()[:4] == ["web", "2/3", "3", "2"]


def test_get_nodes_shows_status_roles_version(api: FakeApi, kctl: Kctl) -> None:
    api.add("nodes", {"metadata": {"name": "node-1", "labels": {
        "node-role.kubernetes.io/control-plane": ""}},
        "spec": {"unschedulable": True},
        "status": {"conditions": [{"type": "Ready", "status": "True"}],
                   "nodeInfo": {"kubeletVersion": "v1.30.0-jetkube"}}})
    _, out, _ = kctl("get", "nodes")
    row = out.splitlines()[1].split()
    assert row[:3] == ["node-1", "Ready,SchedulingDisabled", "control-plane"]
    assert row[-1] == "v1.30.0-jetkube"


def test_get_events_columns(api: FakeApi, kctl: Kctl) -> None:
    api.add("events", {"metadata": {"name": "e1", "namespace": "default"}, "type": "Normal",
                       "reason": "Scheduled", "message": "assigned to node-1",
                       "involvedObject": {"kind": "Pod", "name": "web-1"},
                       "lastTimestamp": ts(timedelta(seconds=10))})
    _, out, _ = kctl("get", "events")
    header, row = out.splitlines()
    assert header.split() == ["LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert row.split() == ["10s", "Normal", "Scheduled", "pod/web-1", "assigned", "to", "node-1"]


def test_unknown_kind_gets_name_age(api: FakeApi, kctl: Kctl) -> None:
    api.add("widgets", {"metadata": {"name": "w", "namespace": "default"}})
    _, out, _ = kctl("get", "widgets.example.com")
    assert out.splitlines()[0].split() == ["NAME", "AGE"]


def test_output_name_json_yaml(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", pod("a"))
    api.add("pods", pod("b"))
    assert kctl("get", "pods", "-o", "name")[1].split() == ["pod/a", "pod/b"]
    doc = json.loads(kctl("get", "pods", "-o", "json")[1])
    assert doc["kind"] == "List" and [i["metadata"]["name"] for i in doc["items"]] == ["a", "b"]
    assert doc["items"][0]["kind"] == "Pod"
    one = yaml.safe_load(kctl("get", "pod", "a", "-o", "yaml")[1])
    assert one["kind"] == "Pod" and one["metadata"]["name"] == "a"
    assert kctl("get", "pod", "a", "-o", "jsonpath={.metadata.name}")[1].strip() == "a"
    names = kctl("get", "pods", "-o", "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}")
    assert names[1].split() == ["a", "b"]


def test_selectors_are_sent_to_the_server(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", pod("a"))
    kctl("get", "pods", "-l", "app=web", "--field-selector", "metadata.name=a")
    params = api.requests[-1].url.params
    assert params["labelSelector"] == "app=web"
    assert params["fieldSelector"] == "metadata.name=a"


def test_no_resources_message(api: FakeApi, kctl: Kctl) -> None:
    code, out, err = kctl("get", "pods", "-n", "empty")
    assert code == 0 and out == ""
    assert "No resources found in empty namespace." in err


def test_not_found_prints_status_message_and_exits_1(api: FakeApi, kctl: Kctl) -> None:
    code, out, err = kctl("get", "pod", "nope")
    assert code == 1 and out == ""
    assert err.strip() == 'Error from server (NotFound): pods "nope" not found'
    assert "Traceback" not in err


def test_unknown_resource_type(api: FakeApi, kctl: Kctl) -> None:
    code, _, err = kctl("get", "foo")
    assert code == 1
    assert err.strip() == 'error: the server doesn\'t have a resource type "foo"'


def test_watch_lists_then_prints_a_row_per_change(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", running_pod("a"))
    changed = running_pod("b")
    changed["status"]["phase"] = "Pending"
    changed["status"]["containerStatuses"][0] = {
        "name": "c", "ready": False, "restartCount": 0,
        "state": {"waiting": {"reason": "ContainerCreating"}}}
    api.watch_events = [{"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "501"}}},
                        {"type": "ADDED", "object": changed},
                        {"type": "DELETED", "object": running_pod("a")}]
    code, out, _ = kctl("get", "pods", "-w")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("NAME")
    assert [ln.split()[:3] for ln in lines[1:]] == [
        ["a", "1/1", "Running"], ["b", "0/1", "ContainerCreating"], ["a", "1/1", "Running"]]
    watch_req = api.requests[-1]
    assert watch_req.url.params["watch"] == "true"
    assert watch_req.url.params["resourceVersion"] == "500"  # the list's


def test_watch_only_skips_the_initial_rows(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", running_pod("a"))
    api.watch_events = [{"type": "MODIFIED", "object": running_pod("a")}]
    _, out, _ = kctl("get", "pods", "--watch-only")
    assert len(out.splitlines()) == 2  # header + the one change


def test_watch_error_event_is_reported(api: FakeApi, kctl: Kctl) -> None:
    api.watch_events = [{"type": "ERROR", "object": {
        "kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}}]
    code, _, err = kctl("get", "pods", "-w")
    assert code == 1
    assert "Error from server (Expired): too old resource version" in err
