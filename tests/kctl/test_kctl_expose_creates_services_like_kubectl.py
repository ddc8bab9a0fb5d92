"""kctl expose against the real API server logic (in-memory store, no HTTP): the
Service kubectl would create for a Deployment, ReplicaSet, Pod or Service, NodePort
allocation, port introspection, flags, and kubectl's errors.

The ``cluster`` fixture (a :class:`kctl_localcluster.LocalCluster`) is in
tests/kctl/conftest.py.
"""

from __future__ import annotations

import orjson
import yaml
from kctl_localcluster import APPS, NS, LocalCluster, deployment, pod

from jetkube.schemas.objects import Obj


def service(cluster: LocalCluster, name: str = "web") -> Obj:
    svc = cluster.get(f"{NS}/services/{name}")
    assert svc is not None, f"service {name} was not created"
    return svc


def test_expose_deployment_uses_its_match_labels_port_and_labels(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments",
               deployment(ports=[{"containerPort": 8080}], labels={"app": "web", "team": "a"}))
    code, out, err = cluster.kctl("expose", "deployment", "web", "--port", "80",
                                  "--target-port", "8080")
    assert (code, out, err) == (0, "service/web exposed\n", "")
    svc = service(cluster)
    assert svc["metadata"]["labels"] == {"app": "web", "team": "a"}
    spec = svc["spec"]
    assert spec["selector"] == {"app": "web"}
    assert spec["type"] == "ClusterIP" and spec["clusterIP"].startswith("10.96.")
    assert spec["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 8080}]


def test_expose_introspects_the_single_container_port(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment(ports=[{"containerPort": 8080}]))
    code, out, err = cluster.kctl("expose", "deploy/web", "--name", "web-svc")
    assert code == 0, err
    assert out == "service/web-svc exposed\n"
    assert service(cluster, "web-svc")["spec"]["ports"] == [
        {"port": 8080, "protocol": "TCP", "targetPort": 8080}]


def test_several_container_ports_become_named_service_ports(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment(ports=[
        {"name": "http", "containerPort": 8080},
        {"name": "dns", "containerPort": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "containerPort": 53}]))
    code, _, err = cluster.kctl("expose", "deployment", "web")
    assert code == 0, err
    assert service(cluster)["spec"]["ports"] == [
        {"name": "port-1", "port": 8080, "protocol": "TCP", "targetPort": 8080},
        {"name": "port-2", "port": 53, "protocol": "UDP", "targetPort": 53},
        {"name": "port-3", "port": 53, "protocol": "TCP", "targetPort": 53}]


def test_port_flag_takes_the_protocol_the_object_serves_it_with(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment("dns", ports=[
        {"name": "dns", "containerPort": 53, "protocol": "UDP"}]))
    code, _, err = cluster.kctl("expose", "deployment", "dns", "--port", "53")
    assert code == 0, err
    assert service(cluster, "dns")["spec"]["ports"] == [
        {"port": 53, "protocol": "UDP", "targetPort": 53}]


def test_nodeport_type_gets_a_node_port_allocated(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment(ports=[{"containerPort": 80}]))
    code, out, err = cluster.kctl("expose", "deployment", "web", "--type", "NodePort",
                                  "-o", "json")
    assert code == 0, err
    printed = orjson.loads(out)
    port = printed["spec"]["ports"][0]
    assert printed["spec"]["type"] == "NodePort"
    assert 30000 <= port["nodePort"] <= 32767
    assert service(cluster)["spec"]["ports"][0]["nodePort"] == port["nodePort"]


def test_expose_replicaset(cluster: LocalCluster) -> None:
    rs = deployment("web-abc", ports=[{"containerPort": 9000}])
    rs["kind"] = "ReplicaSet"
    cluster.ok("POST", f"{APPS}/replicasets", rs)
    code, out, err = cluster.kctl("expose", "rs", "web-abc", "--port", "90", "--protocol", "UDP")
    assert (code, out) == (0, "service/web-abc exposed\n"), err
    spec = service(cluster, "web-abc")["spec"]
    assert spec["selector"] == {"app": "web-abc"}
    assert spec["ports"] == [{"port": 90, "protocol": "UDP", "targetPort": 90}]


def test_expose_pod_selects_by_its_labels(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{NS}/pods", pod("box", {"run": "box"},
                                        [{"name": "http", "containerPort": 8080}]))
    code, out, err = cluster.kctl("expose", "pod", "box", "--port", "80", "--target-port", "http",
                                  "--session-affinity", "ClientIP", "-l", "exposed=yes")
    assert (code, out) == (0, "service/box exposed\n"), err
    svc = service(cluster, "box")
    assert svc["metadata"]["labels"] == {"exposed": "yes"}
    assert svc["spec"]["selector"] == {"run": "box"}
    assert svc["spec"]["sessionAffinity"] == "ClientIP"
    assert svc["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": "http"}]


def test_expose_service_copies_its_selector_and_ports(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{NS}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}})
    code, out, err = cluster.kctl("expose", "svc", "web", "--name", "web-lb", "--type",
                                  "LoadBalancer")
    assert (code, out) == (0, "service/web-lb exposed\n"), err
    spec = service(cluster, "web-lb")["spec"]
    assert spec["type"] == "LoadBalancer" and spec["selector"] == {"app": "web"}
    assert spec["ports"][0]["port"] == 80 and spec["ports"][0]["targetPort"] == 80
    assert spec["ports"][0]["nodePort"] >= 30000


def test_headless_service_needs_no_port(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    code, out, err = cluster.kctl("expose", "deployment", "web", "--cluster-ip", "None")
    assert (code, out) == (0, "service/web exposed\n"), err
    spec = service(cluster)["spec"]
    assert spec["clusterIP"] == "None" and not spec.get("ports")


def test_selector_flag_overrides_and_dry_run_prints_without_creating(
        cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment(ports=[{"containerPort": 80}]))
    code, out, err = cluster.kctl("expose", "deployment", "web", "--selector", "tier=fe",
                                  "--dry-run=client", "-o", "yaml")
    assert code == 0, err
    printed = yaml.safe_load(out)
    assert printed["kind"] == "Service" and printed["spec"]["selector"] == {"tier": "fe"}
    assert cluster.get(f"{NS}/services/web") is None
    code, out, _ = cluster.kctl("expose", "deployment", "web", "--dry-run=client")
    assert (code, out) == (0, "service/web exposed (dry run)\n")


def test_expose_in_another_namespace(cluster: LocalCluster) -> None:
    cluster.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": "team"}})
    cluster.ok("POST", "/api/v1/namespaces/team/pods", pod("box", {"run": "box"}))
    code, out, err = cluster.kctl("expose", "pod", "box", "--port", "80", "-n", "team",
                                  "-o", "name")
    assert (code, out) == (0, "service/box\n"), err
    assert cluster.get("/api/v1/namespaces/team/services/box") is not None
