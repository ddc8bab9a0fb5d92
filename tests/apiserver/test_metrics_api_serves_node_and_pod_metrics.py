"""metrics.k8s.io/v1beta1 (``kubectl top``): NodeMetrics and PodMetrics made at each request
from the node agents' stats answers (``jetkube.kubelet.<node>.stats``, over a real
nats-server, answered by the node agent's real face on the sim runtime).

Discovery lists the group with verbs get and list; objects have Kubernetes' shapes
(quantities ``250m``/``128Mi``, a Go-duration window, the node's or pod's labels); lists
take the Nodes' / Pods' selectors; only Running pods are shown; a node whose agent does not
answer is left out of a list within the stats timeout and a get of it is 404, as
metrics-server answers; every other verb is 405; RBAC decides who reads them (``view``
holds the metrics rules, as Kubernetes aggregates metrics-server's reader into it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from apiharness import Api, make_api
from polling import until

from jetkube.services.apiserver import metrics
from jetkube.services.apiserver.bootstrap import METRICS_READER
from jetkube.services.apiserver.podproxy import use_connection
from jetkube.services.kubelet.logstream import NodeRequests, node_subject, serve_node_requests
from jetkube.services.kubelet.runtime import ContainerSpec, PodRef, SandboxSpec
from jetkube.services.kubelet.runtimes.sim import SimRuntime
from jetkube.services.kubelet.stats import SIM_NODE_CPU_NANOCORES, NodeStats
from jetkube.services.machinery.apimachinery import APISERVER
from jetkube.services.machinery.store import connect

pytestmark = pytest.mark.integration

MX = "/apis/metrics.k8s.io/v1beta1"
RBAC = "/apis/rbac.authorization.k8s.io/v1"
MI = 1024 * 1024


async def synced(nc: Any) -> None:
    """Subscribed at the server before anyone asks (nats-py's flush() may overtake a SUB
    still in its buffer: tests/security/securebus.py)."""
    await until(lambda: not nc._pending, timeout=3, message="nats-py flushed its buffer")
    await nc.flush(timeout=3)


class Cluster:
    """An API server (front door, in-memory store) that reaches sim node agents on NATS."""

    def __init__(self, api: Api, nats_url: str) -> None:
        self.api = api
        self.nats_url = nats_url
        self.runtimes: dict[str, SimRuntime] = {}
        self.faces: list[NodeRequests] = []
        self.conns: list[Any] = []

    async def node(self, name: str, labels: dict[str, str] | None = None, *,
                   agent: bool = True) -> SimRuntime:
        await self.api.ok("POST", "/api/v1/nodes", {
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels or {}}})
        rt = SimRuntime(name)
        if agent:
            nc = await connect(self.nats_url)
            self.conns.append(nc)
            self.faces.append(await serve_node_requests(
                nc, name, rt, lambda *_: None, stats=NodeStats(rt, min_window=0.05)))
            await synced(nc)
        self.runtimes[name] = rt
        return rt

    async def pod(self, name: str, node: str, containers: dict[str, str], *,
                  ns: str = "default", labels: dict[str, str] | None = None,
                  phase: str = "Running") -> None:
        """A pod bound to ``node`` whose containers (name: cpu request) run there."""
        made = await self.api.ok("POST", f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"nodeName": node, "containers": [
                {"name": c, "image": "busybox:1.36",
                 "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}
                for c, cpu in containers.items()]}})
        await self.api.ok("PATCH", f"/api/v1/namespaces/{ns}/pods/{name}/status",
                          {"status": {"phase": phase}},
                          content_type="application/merge-patch+json")
        rt = self.runtimes[node]
        sb = await rt.run_sandbox(SandboxSpec(PodRef(made["metadata"]["uid"], ns, name), name))
        for c, cpu in containers.items():
            await rt.create_and_start(sb, ContainerSpec(
                c, "busybox:1.36", cpu_request_millis=int(cpu.rstrip("m")),
                memory_request_bytes=64 * MI))

    async def close(self) -> None:
        for f in self.faces:
            await f.unsubscribe()
        for nc in self.conns:
            await nc.close()


@pytest.fixture
async def cluster(tmp_path: Path, nats_url: str) -> AsyncIterator[Cluster]:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text('admin-token,admin,admin,"system:masters"\n'
                      "alice-token,alice,alice-uid\n")
    api = await make_api(token_file=tokens)
    api.token = "admin-token"
    nc = await connect(nats_url, identity=APISERVER)  # the node agents answer only its inbox
    use_connection(api.front.handlers, nc)
    c = Cluster(api, nats_url)
    c.conns.append(nc)
    yield c
    await c.close()


def test_the_api_server_and_the_node_agent_name_one_subject() -> None:
    assert metrics.stats_subject("node-1.example") == node_subject("node-1.example", "stats")
    assert metrics.stats_subject("node-1.example") == "jetkube.kubelet.node-1_example.stats"


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (0.05, "50ms"), (1.0, "1s"), (1.5, "1.5s"), (10.0624, "10.062s"),
    (62.25, "1m2.25s"), (3600, "1h0m0s"), (3725.5, "1h2m5.5s")])
def test_windows_are_go_durations(seconds: float, text: str) -> None:
    assert metrics.go_duration(seconds) == text


async def test_discovery_lists_the_metrics_group_with_get_and_list(cluster: Cluster) -> None:
    api = cluster.api
    groups = {g["name"]: g for g in (await api.ok("GET", "/apis"))["groups"]}
    assert groups["metrics.k8s.io"]["preferredVersion"] == {
        "groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}
    resources = {r["name"]: r for r in (await api.ok("GET", MX))["resources"]}
    assert resources == {
        "nodes": {"name": "nodes", "singularName": "", "namespaced": False,
                  "kind": "NodeMetrics", "verbs": ["get", "list"]},
        "pods": {"name": "pods", "singularName": "", "namespaced": True,
                 "kind": "PodMetrics", "verbs": ["get", "list"]}}


async def test_node_metrics_get_and_list_with_selectors(cluster: Cluster) -> None:
    api = cluster.api
    await cluster.node("sim-a", {"zone": "z1"})
    await cluster.node("sim-b", {"zone": "z2"})
    await cluster.node("ghost", {"zone": "z1"}, agent=False)  # no agent answers for it
    await cluster.pod("web", "sim-a", {"app": "500m"})
    got = await api.ok("GET", f"{MX}/nodes")
    assert got["kind"] == "NodeMetricsList" and got["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert [m["metadata"]["name"] for m in got["items"]] == ["sim-a", "sim-b"]  # ghost: left out
    a = got["items"][0]
    assert a["kind"] == "NodeMetrics" and a["metadata"]["labels"]["zone"] == "z1"
    assert a["metadata"]["creationTimestamp"].endswith("Z") and a["timestamp"].endswith("Z")
    assert a["window"].endswith("s")
    # the sim node: its pod (half of 500m, half of 64Mi) plus the simulated overhead
    assert a["usage"]["cpu"] == "275m" and SIM_NODE_CPU_NANOCORES == 25_000_000
    assert a["usage"]["memory"] == "96Mi"  # 64Mi overhead + 32Mi
    assert got["items"][1]["usage"] == {"cpu": "25m", "memory": "64Mi"}  # no pods
    one = await api.ok("GET", f"{MX}/nodes/sim-b")
    assert one["metadata"]["name"] == "sim-b" and one["usage"]["memory"] == "64Mi"
    z1 = await api.ok("GET", f"{MX}/nodes", query={"labelSelector": "zone=z1"})
    assert [m["metadata"]["name"] for m in z1["items"]] == ["sim-a"]
    named = await api.ok("GET", f"{MX}/nodes", query={"fieldSelector": "metadata.name=sim-b"})
    assert [m["metadata"]["name"] for m in named["items"]] == ["sim-b"]
    code, st = await api.call("GET", f"{MX}/nodes/ghost")
    assert (code, st["reason"]) == (404, "NotFound")
    assert st["message"] == 'nodemetrics.metrics.k8s.io "ghost" not found'
    code, st = await api.call("GET", f"{MX}/nodes/absent")
    assert (code, st["message"]) == (404, 'nodes "absent" not found')
    code, st = await api.call("GET", f"{MX}/nodes", query={"labelSelector": "zone in (("})
    assert code == 400


async def test_pod_metrics_get_list_and_across_namespaces(cluster: Cluster) -> None:
    api = cluster.api
    await api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "team"}})
    await cluster.node("sim-a")
    await cluster.node("sim-b")
    await cluster.pod("web", "sim-a", {"app": "200m", "sidecar": "20m"}, labels={"app": "web"})
    await cluster.pod("db", "sim-b", {"db": "1000m"}, labels={"app": "db"})
    await cluster.pod("job", "sim-b", {"c": "100m"}, ns="team", labels={"app": "web"})
    await cluster.pod("waiting", "sim-a", {"c": "100m"}, phase="Pending")  # left out
    got = await api.ok("GET", f"{MX}/namespaces/default/pods")
    assert got["kind"] == "PodMetricsList"
    assert [p["metadata"]["name"] for p in got["items"]] == ["db", "web"]
    web = got["items"][1]
    assert web["kind"] == "PodMetrics" and web["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert web["metadata"]["namespace"] == "default" and web["metadata"]["labels"] == {
        "app": "web"}
    assert [c["name"] for c in web["containers"]] == ["app", "sidecar"]  # the spec's order
    assert [c["usage"]["cpu"] for c in web["containers"]] == ["100m", "10m"]
    assert {c["usage"]["memory"] for c in web["containers"]} == {"32Mi"}
    selected = await api.ok("GET", f"{MX}/pods", query={"labelSelector": "app=web"})
    assert [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in selected["items"]] == [
        ("default", "web"), ("team", "job")]
    every = await api.ok("GET", f"{MX}/pods")
    assert len(every["items"]) == 3
    one = await api.ok("GET", f"{MX}/namespaces/team/pods/job")
    assert one["metadata"]["name"] == "job" and one["containers"][0]["name"] == "c"
    code, st = await api.call("GET", f"{MX}/namespaces/default/pods/waiting")
    assert (code, st["message"]) == (404, 'podmetrics.metrics.k8s.io "default/waiting" not found')
    code, st = await api.call("GET", f"{MX}/namespaces/default/pods/nope")
    assert (code, st["message"]) == (404, 'pods "nope" not found')


async def test_a_node_that_does_not_answer_is_left_out_in_time(
        cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    api = cluster.api
    monkeypatch.setattr(metrics, "STATS_TIMEOUT", 0.5)
    await cluster.node("sim-a")
    await cluster.node("stuck", agent=False)
    heard: list[Any] = []

    async def never_answer(msg: Any) -> None:
        heard.append(msg)

    nc = await connect(cluster.nats_url)
    cluster.conns.append(nc)
    await nc.subscribe("jetkube.kubelet.stuck.stats", cb=never_answer)  # hung agent
    await synced(nc)
    await cluster.pod("web", "sim-a", {"app": "100m"})
    await cluster.pod("slow", "stuck", {"app": "100m"})
    t0 = time.monotonic()
    got = await api.ok("GET", f"{MX}/nodes")
    assert time.monotonic() - t0 < 2.0
    assert [m["metadata"]["name"] for m in got["items"]] == ["sim-a"] and heard
    pods = await api.ok("GET", f"{MX}/namespaces/default/pods")
    assert [p["metadata"]["name"] for p in pods["items"]] == ["web"]
    code, _ = await api.call("GET", f"{MX}/nodes/stuck")
    assert code == 404
    code, _ = await api.call("GET", f"{MX}/namespaces/default/pods/slow")
    assert code == 404


@pytest.mark.parametrize(("method", "path", "query"), [
    ("POST", "/nodes", {}),
    ("PUT", "/nodes/sim-a", {}),
    ("PATCH", "/nodes/sim-a", {}),
    ("DELETE", "/nodes/sim-a", {}),
    ("DELETE", "/namespaces/default/pods", {}),
    ("POST", "/namespaces/default/pods", {}),
    ("GET", "/nodes", {"watch": "true"}),
    ("GET", "/namespaces/default/pods", {"watch": "true"}),
])
async def test_metrics_are_read_only(cluster: Cluster, method: str, path: str,
                                     query: dict[str, str]) -> None:
    await cluster.node("sim-a")
    rev = await cluster.api.store.current_revision()
    body = {"apiVersion": "metrics.k8s.io/v1beta1", "kind": "NodeMetrics",
            "metadata": {"name": "sim-a"}, "timestamp": "2024-01-01T00:00:00Z",
            "window": "1s", "usage": {}}
    code, st = await cluster.api.call(
        method, f"{MX}{path}", None if method in ("GET", "DELETE") else body, query=query,
        content_type="application/merge-patch+json" if method == "PATCH" else
        "application/json")
    assert code == 405 and st["reason"] == "MethodNotAllowed", st
    assert await cluster.api.store.current_revision() == rev


async def test_view_reads_metrics_and_a_user_without_it_cannot(cluster: Cluster) -> None:
    api = cluster.api
    await cluster.node("sim-a")
    await cluster.pod("web", "sim-a", {"app": "100m"})
    for path in (f"{MX}/namespaces/default/pods", f"{MX}/namespaces/default/pods/web",
                 f"{MX}/nodes", f"{MX}/nodes/sim-a"):
        code, st = await api.call("GET", path, token="alice-token")
        assert code == 403, (path, st)
    reader = await api.ok("GET", f"{RBAC}/clusterroles/{METRICS_READER}")
    assert reader["rules"] == [{"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"],
                                "verbs": ["get", "list", "watch"]}]
    assert reader["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    binding = await api.ok("POST", f"{RBAC}/namespaces/default/rolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "view"},
        "subjects": [{"kind": "User", "name": "alice"}]})
    await api.cache.wait_for(int(binding["metadata"]["resourceVersion"]))
    got = await api.ok("GET", f"{MX}/namespaces/default/pods", token="alice-token")
    assert [p["metadata"]["name"] for p in got["items"]] == ["web"]
    await api.ok("GET", f"{MX}/namespaces/default/pods/web", token="alice-token")
    # view in one namespace: not the cluster's nodes, not another namespace
    code, _ = await api.call("GET", f"{MX}/nodes", token="alice-token")
    assert code == 403
    code, _ = await api.call("GET", f"{MX}/namespaces/kube-system/pods", token="alice-token")
    assert code == 403
    binding = await api.ok("POST", f"{RBAC}/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "alice-metrics"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": METRICS_READER},
        "subjects": [{"kind": "User", "name": "alice"}]})
    await api.cache.wait_for(int(binding["metadata"]["resourceVersion"]))
    got = await api.ok("GET", f"{MX}/nodes", token="alice-token")
    assert [m["metadata"]["name"] for m in got["items"]] == ["sim-a"]


async def test_without_a_bus_the_metrics_are_unavailable(tmp_path: Path) -> None:
    api = await make_api()  # no NATS connection: no node agent can be asked
    code, st = await api.call("GET", f"{MX}/nodes")
    assert (code, st["reason"]) == (503, "ServiceUnavailable")


async def test_many_pods_cost_one_request_per_node(cluster: Cluster) -> None:
    api = cluster.api
    await cluster.node("sim-a")
    await cluster.node("sim-b")
    await asyncio.gather(*(cluster.pod(f"p{i}", f"sim-{'ab'[i % 2]}", {"c": "10m"})
                           for i in range(30)))
    asked: list[dict[str, Any]] = []
    for face in cluster.faces:
        answer = face.stats.answer

        async def counted(req: dict[str, Any], answer: Any = answer) -> dict[str, Any]:
            asked.append(req)
            return dict(await answer(req))

        face.stats.answer = counted  # type: ignore[method-assign]
    got = await api.ok("GET", f"{MX}/namespaces/default/pods")
    assert len(got["items"]) == 30
    assert len(asked) == 2 and sorted(len(r["pods"]) for r in asked) == [15, 15]
    assert not any(r["node"] for r in asked)  # pods only: the nodes' usage is not read
