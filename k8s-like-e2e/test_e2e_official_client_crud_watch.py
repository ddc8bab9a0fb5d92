"""The official kubernetes Python client against a `kctl up` cluster: create,
list with selectors, get, patch, stale update -> 409, watch from a list's
resourceVersion, delete."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def _pod(client: Any, name: str, labels: dict[str, str]) -> Any:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        # a scheduler nobody runs: no scheduler or node touches these pods, so the watch
        # below sees exactly the test's own changes
        spec=client.V1PodSpec(scheduler_name="e2e-nobody",
                              containers=[client.V1Container(name="c", image="busybox:1.36")]))


def test_crud_selectors_conflict_watch_delete(k8s: Any) -> None:
    client, api_client = k8s
    v1 = client.CoreV1Api(api_client)
    ns = "e2e-client"
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
    for name, tier in (("web-1", "front"), ("web-2", "front"), ("db-1", "back")):
        created = v1.create_namespaced_pod(ns, _pod(client, name, {"tier": tier, "e2e": "yes"}))
        assert created.metadata.uid and created.spec.restart_policy == "Always"

    front = v1.list_namespaced_pod(ns, label_selector="tier=front")
    assert sorted(p.metadata.name for p in front.items) == ["web-1", "web-2"]
    notfront = v1.list_namespaced_pod(ns, label_selector="tier notin (front),e2e")
    assert [p.metadata.name for p in notfront.items] == ["db-1"]
    by_name = v1.list_namespaced_pod(ns, field_selector="metadata.name=web-2")
    assert [p.metadata.name for p in by_name.items] == ["web-2"]

    got = v1.read_namespaced_pod("web-1", ns)
    assert got.metadata.labels == {"tier": "front", "e2e": "yes"}

    patched = v1.patch_namespaced_pod("web-1", ns, {"metadata": {"labels": {"owner": "me"}}})
    assert patched.metadata.labels["owner"] == "me"
    assert int(patched.metadata.resource_version) > int(got.metadata.resource_version)

    got.metadata.labels["stale"] = "yes"  # got holds the revision before the patch
    with pytest.raises(client.ApiException) as err:
        v1.replace_namespaced_pod("web-1", ns, got)
    assert err.value.status == 409 and "Conflict" in err.value.body
    assert "stale" not in v1.read_namespaced_pod("web-1", ns).metadata.labels

    listed = v1.list_namespaced_pod(ns)
    events: list[tuple[str, str]] = []

    def writer() -> None:
        time.sleep(0.3)  # scenario: write once the watch below is (very likely) open; it resumes from
        # the list's resourceVersion, so a slow start would still see every change
        v1.create_namespaced_pod(ns, _pod(client, "late", {"e2e": "yes"}))
        v1.patch_namespaced_pod("late", ns, {"metadata": {"annotations": {"a": "b"}}})
        v1.delete_namespaced_pod("late", ns)

    t = threading.Thread(target=writer)
    t.start()
    w = client.Watch() if hasattr(client, "Watch") else __import__(
        "kubernetes.watch", fromlist=["Watch"]).Watch()
    for ev in w.stream(v1.list_namespaced_pod, ns, resource_version=listed.metadata.resource_version,
                       timeout_seconds=20):
        events.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
    t.join()
    assert events == [("ADDED", "late"), ("MODIFIED", "late"), ("DELETED", "late")]

    v1.delete_namespaced_pod("web-2", ns)
    with pytest.raises(client.ApiException) as err:
        v1.read_namespaced_pod("web-2", ns)
    assert err.value.status == 404


def test_deployment_scale_subresource_and_discovery(k8s: Any) -> None:
    client, api_client = k8s
    apps = client.AppsV1Api(api_client)
    d = apps.create_namespaced_deployment("default", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "e2e-web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "e2e-web"}},
                 "template": {"metadata": {"labels": {"app": "e2e-web"}},
                              "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}}})
    assert d.spec.strategy.type == "RollingUpdate" and d.spec.revision_history_limit == 10
    scale = apps.patch_namespaced_deployment_scale("e2e-web", "default", {"spec": {"replicas": 5}})
    assert scale.spec.replicas == 5
    assert apps.read_namespaced_deployment("e2e-web", "default").metadata.generation == 2
    groups = {g.name for g in client.ApisApi(api_client).get_api_versions().groups}
    assert {"apps", "batch", "coordination.k8s.io", "rbac.authorization.k8s.io"} <= groups
    assert client.VersionApi(api_client).get_code().major == "1"
