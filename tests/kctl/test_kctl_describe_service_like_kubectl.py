"""kctl describe service, as kubectl's describeService: endpoints per port from the
Service's EndpointSlices (ready ones, the first 3, then "+ N more..."), the LoadBalancer
ingress, and the traffic policy of node ports."""

from __future__ import annotations

from kctl_localcluster import NS, LocalCluster


def rows(out: str) -> dict[str, list[str]]:
    got: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(":")
        if value.strip():
            got.setdefault(key.strip(), []).append(" ".join(value.split()))
    return got


def test_describe_service_lists_endpoints_per_port_and_the_ingress(cluster: LocalCluster) -> None:
    svc = cluster.ok("POST", f"{NS}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
        "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": 8080},
            {"name": "admin", "port": 9000}]}})
    cluster.ok("PUT", f"{NS}/services/web/status", {**svc, "status": {"loadBalancer": {
        "ingress": [{"ip": "127.0.0.1"}]}}})
    # kubectl reads the Service's EndpointSlices (kubernetes.io/service-name=web)
    cluster.ok("POST", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "web-abc", "labels": {"kubernetes.io/service-name": "web"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [f"10.244.1.{i}"], "conditions": {"ready": True}}
                      for i in range(2, 7)] + [
            {"addresses": ["10.244.1.99"], "conditions": {"ready": False}}],
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"},
                  {"name": "admin", "port": 9000, "protocol": "TCP"}]})

    code, out, err = cluster.kctl("describe", "service", "web")

    assert code == 0, err
    r = rows(out)
    assert r["Type"] == ["LoadBalancer"]
    assert r["LoadBalancer Ingress"] == ["127.0.0.1"]
    assert r["Port"] == ["http 80/TCP", "admin 9000/TCP"]
    assert r["Endpoints"] == [
        "10.244.1.2:8080,10.244.1.3:8080,10.244.1.4:8080 + 2 more...",
        "10.244.1.2:9000,10.244.1.3:9000,10.244.1.4:9000 + 2 more..."]
    assert len(r["NodePort"]) == 2 and r["External Traffic Policy"] == ["Cluster"]
    assert r["IPs"] == [svc["spec"]["clusterIP"]]
    # one tabwriter block: every value starts in the column of the longest key
    assert "External Traffic Policy:  Cluster\n" in out
    assert "Port:                     http  80/TCP\n" in out
