"""Server-side dry run against a `kctl up` cluster: the official kubernetes client's
``dry_run="All"`` on create, patch and delete of a ConfigMap and a Service answers what
would happen and changes nothing (no object, no change, no ClusterIP or NodePort taken:
the real create afterwards gets what it would have got without the dry run), and
`kctl create configmap --dry-run=server` creates nothing."""

from __future__ import annotations

from typing import Any

import pytest
from cluster_e2e import Cluster

pytestmark = pytest.mark.e2e

NS = "e2e-dry-run"


def _service(client: Any, name: str, node_port: int | None = None) -> Any:
    return client.V1Service(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1ServiceSpec(type="NodePort", selector={"app": name}, ports=[
            client.V1ServicePort(port=80, node_port=node_port)]))


def _status(client: Any, call: Any) -> int:
    with pytest.raises(client.ApiException) as err:
        call()
    return int(err.value.status)


def test_dry_run_creates_patches_and_deletes_nothing(cluster: Cluster, k8s: Any) -> None:
    client, api_client = k8s
    v1 = client.CoreV1Api(api_client)
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))

    cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="cfg"), data={"a": "1"})
    dry = v1.create_namespaced_config_map(NS, cm, dry_run="All")
    assert dry.metadata.uid and dry.metadata.creation_timestamp
    assert not dry.metadata.resource_version
    assert _status(client, lambda: v1.read_namespaced_config_map("cfg", NS)) == 404

    real = v1.create_namespaced_config_map(NS, cm)
    patched = v1.patch_namespaced_config_map("cfg", NS, {"data": {"a": "2"}}, dry_run="All")
    assert patched.data == {"a": "2"}
    v1.delete_namespaced_config_map("cfg", NS, dry_run="All")
    now = v1.read_namespaced_config_map("cfg", NS)
    assert now.data == {"a": "1"}
    assert now.metadata.resource_version == real.metadata.resource_version

    with pytest.raises(client.ApiException) as err:
        v1.create_namespaced_config_map(NS, cm, dry_run="Bogus")
    assert err.value.status == 422 and "Bogus" in err.value.body

    out = cluster.kctl("create", "configmap", "by-kctl", "-n", NS, "--from-literal=k=v",
                       "--dry-run=server").stdout
    assert "configmap/by-kctl created (server dry run)" in out
    assert cluster.kctl("get", "configmap", "by-kctl", "-n", NS, check=False).returncode != 0

    # a Service: the dry run shows the ClusterIP and NodePorts it would get and takes none
    first = v1.create_namespaced_service(NS, _service(client, "web"), dry_run="All")
    again = v1.create_namespaced_service(NS, _service(client, "web"), dry_run="All")
    assert first.spec.cluster_ip == again.spec.cluster_ip
    assert first.spec.ports[0].node_port == again.spec.ports[0].node_port
    pinned = v1.create_namespaced_service(NS, _service(client, "pinned", 31234), dry_run="All")
    assert pinned.spec.ports[0].node_port == 31234
    assert _status(client, lambda: v1.read_namespaced_service("web", NS)) == 404

    web = v1.create_namespaced_service(NS, _service(client, "web"))
    assert web.spec.cluster_ip == first.spec.cluster_ip  # as if the dry runs never happened
    assert web.spec.ports[0].node_port == first.spec.ports[0].node_port
    assert v1.create_namespaced_service(
        NS, _service(client, "pinned", 31234)).spec.ports[0].node_port == 31234

    # a dry patch that adds a port shows its NodePort and takes it not; a dry delete keeps
    # the Service, its address and its port
    port = web.spec.ports[0].node_port
    grown = v1.patch_namespaced_service(  # a JSON merge patch: the list of ports replaced
        "web", NS, {"spec": {"ports": [{"name": "a", "port": 80, "nodePort": port},
                                       {"name": "b", "port": 81}]}},
        dry_run="All", _content_type="application/merge-patch+json")
    extra = grown.spec.ports[1].node_port
    assert extra and extra != port
    assert len(v1.read_namespaced_service("web", NS).spec.ports) == 1
    assert v1.create_namespaced_service(
        NS, _service(client, "extra", extra)).spec.ports[0].node_port == extra

    v1.delete_namespaced_service("web", NS, dry_run="All")
    still = v1.read_namespaced_service("web", NS)
    assert still.spec.cluster_ip == web.spec.cluster_ip and still.spec.ports[0].node_port == port
    taken = _service(client, "thief", port)
    assert _status(client, lambda: v1.create_namespaced_service(NS, taken)) == 422

    v1.delete_namespace(NS)
