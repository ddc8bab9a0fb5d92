"""One `kctl apply` of a Deployment yields one trace: API server -> deployment
controller -> ReplicaSet controller -> pods -> scheduler binds, each pod's bind (the two
usually in one batched request) served as a child of its own scheduling cycle.

Every service of the e2e cluster publishes its finished spans as JSON on
`jetkube.traces.<service>` (JETKUBE_TRACE_PUBLISH=1); the test collects them.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

import pytest
from cluster_e2e import Cluster
from polling import wait_until

from jetkube.services.machinery.store import connect

pytestmark = pytest.mark.e2e

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: traced, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: traced}}
  template:
    metadata: {labels: {app: traced}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
"""


class SpanCollector:
    def __init__(self, nats_url: str, options: dict[str, Any]) -> None:
        self.options = options  # connect() keywords: the admin identity (reads every span)
        self.spans: list[dict[str, Any]] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._done: asyncio.Event | None = None
        self._t = threading.Thread(target=self._loop.run_until_complete,
                                   args=(self._run(nats_url),), daemon=True)
        self._t.start()
        assert self._ready.wait(10)

    async def _run(self, url: str) -> None:
        self._done = asyncio.Event()
        nc = await connect(url, **self.options)

        async def cb(msg: Any) -> None:
            self.spans.append(json.loads(msg.data))

        await nc.subscribe("jetkube.traces.>", cb=cb)
        await nc.flush()
        self._ready.set()
        await self._done.wait()
        await nc.close()

    def close(self) -> None:
        assert self._done is not None
        self._loop.call_soon_threadsafe(self._done.set)
        self._t.join(10)


def test_one_apply_yields_one_trace_across_services(cluster: Cluster) -> None:
    collector = SpanCollector(cluster.nats_url, cluster.nats_options())
    try:
        with cluster.hollow_nodes(["trace-n1"]):
            cluster.kctl("apply", "-f", "-", input=MANIFEST)
            wait_until(lambda: (pods := json.loads(cluster.kctl(
                "get", "pods", "-l", "app=traced", "-o", "json").stdout)["items"]) and len(pods) == 2
                and all(p["spec"].get("nodeName") for p in pods),
                timeout=60, interval=0.3, message="the deployment's pods created and bound")
            d = json.loads(cluster.kctl("get", "deploy", "traced", "-o", "json").stdout)
            trace_id = d["metadata"]["annotations"]["jetkube.io/traceparent"].split("-")[1]

            def seen() -> tuple[set[str | None], set[str], set[str]]:
                mine = [s for s in list(collector.spans) if s.get("trace_id") == trace_id]
                cycles = {s.get("span_id") for s in mine if s.get("service") == "jetkube-scheduler"
                          and s.get("name") == "schedule"}
                bound = {str((s.get("attributes") or {}).get("k8s.name")) for s in mine
                         if s.get("name") == "create pods/binding" and s.get("parent_id") in cycles}
                return {s.get("service") for s in mine}, {str(s.get("name")) for s in mine}, bound

            def complete(got: tuple[set[str | None], set[str], set[str]]) -> bool:
                services, names, bound = got
                return ({"jetkube-apiserver", "jetkube-controller-manager", "jetkube-scheduler"} <= services
                        and any("deployment" in n for n in names) and any("replicaset" in n for n in names)
                        and any(n.startswith("create pods") for n in names) and len(bound) == 2)
            # span processors export in batches (every ~5 s): poll until every expected span is in
            services, names, bound = wait_until(seen, accept=complete, timeout=30, interval=0.5,
                                                message="the trace's spans from all three services")
        assert {"jetkube-apiserver", "jetkube-controller-manager", "jetkube-scheduler"} <= services, \
            (services, names)
        assert any("deployment" in n for n in names) and any("replicaset" in n for n in names), names
        assert any(n.startswith("create pods") for n in names), names
        pods = json.loads(cluster.kctl("get", "pods", "-l", "app=traced", "-o", "json").stdout)
        assert bound == {p["metadata"]["name"] for p in pods["items"]}, (bound, names)
    finally:
        collector.close()
