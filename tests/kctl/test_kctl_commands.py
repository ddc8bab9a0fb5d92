"""kctl run/create generators, describe, api-resources, version, cluster-info, errors."""

from __future__ import annotations

import base64
import json
import socket

import yaml
from kctl_fakeapi import FakeApi, Kctl, pod

from jetkube.cli.main import run


def test_run_creates_a_pod_like_kubectl_run(api: FakeApi, kctl: Kctl) -> None:
    code, out, err = kctl("run", "box", "--image", "busybox", "--restart", "Never",
                          "--env", "A=1", "--port", "8080", "--", "sh", "-c", "echo hi")
    assert (code, out.strip()) == (0, "pod/box created"), err
    p = api.get("pods", "default", "box")
    assert p is not None
    assert p["metadata"]["labels"] == {"run": "box"}
    c = p["spec"]["containers"][0]
    assert c == {"name": "box", "image": "busybox", "args": ["sh", "-c", "echo hi"],
                 "ports": [{"containerPort": 8080}], "env": [{"name": "A", "value": "1"}]}
    assert p["spec"]["restartPolicy"] == "Never"


def test_run_dry_run_prints_yaml(api: FakeApi, kctl: Kctl) -> None:
    code, out, _ = kctl("run", "box", "--image", "busybox", "--command", "--dry-run=client",
                        "-o", "yaml", "--", "sleep", "5")
    assert code == 0 and not api.sent("POST")
    assert yaml.safe_load(out)["spec"]["containers"][0]["command"] == ["sleep", "5"]


def test_create_namespace_configmap_secret(api: FakeApi, kctl: Kctl) -> None:
    assert kctl("create", "namespace", "team")[1].strip() == "namespace/team created"
    assert kctl("create", "configmap", "cfg", "--from-literal", "a=1",
                "-n", "team")[1].strip() == "configmap/cfg created"
    assert kctl("create", "secret", "generic", "s", "--from-literal",
                "password=hunter2")[1].strip() == "secret/s created"
    cm = api.get("configmaps", "team", "cfg")
    assert cm is not None and cm["data"] == {"a": "1"}
    sec = api.get("secrets", "default", "s")
    assert sec is not None and base64.b64decode(sec["data"]["password"]) == b"hunter2"


def test_describe_pod_has_sections_and_events(api: FakeApi, kctl: Kctl) -> None:
    p = pod("web-1")
    p["spec"]["nodeName"] = "node-1"
    p["status"] = {"phase": "Running", "podIP": "10.244.0.5", "hostIP": "10.0.0.1",
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "containerStatuses": [{"name": "c", "ready": True, "restartCount": 2,
                                          "state": {"running": {
                                              "startedAt": "2024-01-01T00:00:00Z"}}}]}
    api.add("pods", p)
    api.add("events", {"metadata": {"name": "e", "namespace": "default"}, "type": "Normal",
                       "reason": "Scheduled", "message": "Successfully assigned default/web-1",
                       "source": {"component": "default-scheduler"},
                       "involvedObject": {"kind": "Pod", "name": "web-1",
                                          "namespace": "default"}})
    code, out, err = kctl("describe", "pod", "web-1")
    assert code == 0, err
    assert "Name:" in out and out.splitlines()[0].split() == ["Name:", "web-1"]
    assert "Node:         node-1/10.0.0.1" in out
    assert "Restart Count:  2" in out
    assert "Events:" in out and "default-scheduler" in out and "Scheduled" in out
    ev_req = next(r for r in api.requests if r.url.path.endswith("/events"))
    assert "involvedObject.name=web-1" in ev_req.url.params["fieldSelector"]


def test_describe_unknown_kind_is_generic_and_prefix_matches(api: FakeApi, kctl: Kctl) -> None:
    api.add("widgets", {"apiVersion": "example.com/v1", "kind": "Widget",
                        "metadata": {"name": "gizmo-1", "namespace": "default"},
                        "spec": {"sizeLimit": 3}})
    code, out, _ = kctl("describe", "wd", "gizmo")
    assert code == 0
    rows = [ln.split() for ln in out.splitlines()]
    assert ["Size", "Limit:", "3"] in rows and ["Events:", "<none>"] in rows


def test_api_resources_from_discovery(api: FakeApi, kctl: Kctl) -> None:
    code, out, _ = kctl("api-resources")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["pods", "po", "v1", "true", "Pod"] in [ln.split() for ln in lines]
    assert ["deployments", "deploy", "apps/v1", "true", "Deployment"] in [
        ln.split() for ln in lines]
    assert kctl("api-resources", "--namespaced=false", "-o", "name")[1].split() == [
        "namespaces", "nodes"]


def test_version_prints_client_and_server(api: FakeApi, kctl: Kctl) -> None:
    code, out, _ = kctl("version")
    assert code == 0
    assert out.splitlines()[0].startswith("Client Version: v")
    assert out.splitlines()[1] == "Server Version: v1.30.0-jetkube"
    assert json.loads(kctl("version", "-o", "json")[1])["serverVersion"]["major"] == "1"


def test_cluster_info_lists_health(api: FakeApi, kctl: Kctl) -> None:
    code, out, _ = kctl("cluster-info")
    assert code == 0
    assert out.splitlines()[0] == "Kubernetes control plane is running at http://127.0.0.1:6443"
    assert "apiserver/readyz/store" in out


def test_status_errors_print_the_message_without_traceback(api: FakeApi, kctl: Kctl) -> None:
    api.token = "other"
    code, out, err = kctl("get", "pods")
    assert code == 1 and out == ""
    assert err.strip() == "Error from server (Unauthorized): Unauthorized"


def test_connection_refused_suggests_kctl_up(tmp_path: object, capsys: object) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound but not listening: refused
        code = run(["--server", f"http://127.0.0.1:{port}", "--kubeconfig", "/dev/null",
                    "get", "pods"])
    _, err = capsys.readouterr()  # type: ignore[attr-defined]
    assert code == 1
    assert err.strip() == (f"The connection to the server 127.0.0.1:{port} was refused - did "
                           "you specify the right host or port? (start a cluster with: kctl up)")


def test_usage_errors_exit_non_zero(api: FakeApi, kctl: Kctl) -> None:
    assert kctl("get")[0] == 1
    assert kctl("frobnicate")[0] == 2
    assert kctl("get", "pods", "-o", "table")[0] == 1
