"""WatchList against a `kctl up` cluster, as the official clients use it: a watch with
``sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true``
streams the existing objects (those the selector matches) as ADDED, then a BOOKMARK
annotated ``k8s.io/initial-events-end: "true"`` with the state's resourceVersion, then the
changes after it.  The official Python client reads the raw stream; kubectl (client-go,
whose informers list this way) waits on a condition and returns once synced instead of
timing out; options that do not go together are 422."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest
from cluster_e2e import BIN, Cluster

pytestmark = pytest.mark.e2e

NS = "e2e-watchlist"
END = "k8s.io/initial-events-end"


def _cm(client: Any, name: str, labels: dict[str, str]) -> Any:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels),
                              data={"k": "v"})


def _is_end(ev: dict[str, Any]) -> bool:
    annotations = ev["object"]["metadata"].get("annotations") or {}
    return ev["type"] == "BOOKMARK" and annotations.get(END) == "true"


@pytest.fixture(scope="module")
def v1(k8s: Any) -> Any:
    client, api_client = k8s
    v1 = client.CoreV1Api(api_client)
    v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
    for name, labels in (("one", {"e2e": "watchlist"}), ("two", {"e2e": "watchlist"}),
                         ("unrelated", {"e2e": "other"})):
        v1.create_namespaced_config_map(NS, _cm(client, name, labels))
    return v1


def test_existing_config_maps_then_the_bookmark_then_a_new_one(k8s: Any, v1: Any) -> None:
    client, _ = k8s
    resp = v1.list_namespaced_config_map(
        NS, watch=True, send_initial_events=True, resource_version_match="NotOlderThan",
        allow_watch_bookmarks=True, label_selector="e2e=watchlist", timeout_seconds=30,
        _preload_content=False)
    events: list[dict[str, Any]] = []
    created = None
    try:
        for line in resp:  # urllib3 yields the chunked body line by line, as it arrives
            if not line.strip():
                continue
            ev = json.loads(line)
            events.append(ev)
            if _is_end(ev):  # the state is complete: a write from now on is a live event
                created = v1.create_namespaced_config_map(
                    NS, _cm(client, "three", {"e2e": "watchlist"}))
            if ev["type"] == "ADDED" and ev["object"]["metadata"]["name"] == "three":
                break
    finally:
        resp.release_conn()
    assert resp.status == 200
    got = [(e["type"], e["object"]["metadata"].get("name")) for e in events]
    assert got == [("ADDED", "one"), ("ADDED", "two"), ("BOOKMARK", None), ("ADDED", "three")]
    end = events[2]["object"]
    assert end["kind"] == "ConfigMap" and end["metadata"]["annotations"] == {END: "true"}
    state_rv = int(end["metadata"]["resourceVersion"])
    assert all(int(e["object"]["metadata"]["resourceVersion"]) <= state_rv for e in events[:2])
    assert created is not None
    assert int(created.metadata.resource_version) > state_rv
    assert events[3]["object"]["metadata"]["resourceVersion"] == created.metadata.resource_version


def test_a_watch_list_without_resource_version_match_is_422(k8s: Any, v1: Any) -> None:
    client, _ = k8s
    with pytest.raises(client.ApiException) as err:
        v1.list_namespaced_config_map(NS, watch=True, send_initial_events=True,
                                      allow_watch_bookmarks=True, timeout_seconds=5)
    assert err.value.status == 422
    status = json.loads(err.value.body)
    assert status["reason"] == "Invalid"
    assert "resourceVersionMatch: Forbidden: sendInitialEvents requires setting " \
           "resourceVersionMatch to NotOlderThan" in status["message"]


def test_kubectl_wait_returns_once_its_informer_is_synced(cluster: Cluster, v1: Any) -> None:
    """kubectl's wait lists with a WatchList: without the end bookmark it would wait out its
    timeout (and fail); with it, a condition that already holds returns at once."""
    p = subprocess.run(
        [str(BIN / "kubectl"), "--kubeconfig", str(cluster.kubeconfig), "-n", NS, "wait",
         "--for=jsonpath={.data.k}=v", "configmap/one", "--timeout=60s"],
        capture_output=True, text=True, timeout=90)
    assert p.returncode == 0, p.stderr
    assert "configmap/one condition met" in p.stdout
