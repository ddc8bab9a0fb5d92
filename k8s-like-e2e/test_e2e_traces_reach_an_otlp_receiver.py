"""Every component exports its spans over OTLP/HTTP: with ``OTEL_EXPORTER_OTLP_ENDPOINT``
in the environment of ``kctl up`` (which hands its environment to every process it starts,
the supervisor's restarts included) and of ``kctl apply``, one apply of a Deployment is
ONE trace at a plain OTLP receiver, connecting kctl (its root span), the API server, the
controller manager, the scheduler and the node agent, with no orphan (every span but the
root has its parent in the trace), and each resource names its host and process (the
node agent: its node too).

The receiver is what a collector or Jaeger's OTLP port is to the cluster: POST /v1/traces,
``application/x-protobuf``, an ``ExportTraceServiceRequest`` in, an empty
``ExportTraceServiceResponse`` out.  test_e2e_one_apply_one_trace.py checks the same trace
through the cluster's own span stream.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_e2e import BIN, Cluster, running_cluster
from otlpreceiver import OtlpReceiver, ReceivedSpan
from polling import wait_until

pytestmark = pytest.mark.e2e

NODE = "node-1"
SERVICES = {"kctl": None, "jetkube-apiserver": "apiserver",
            "jetkube-controller-manager": "controller-manager", "jetkube-scheduler": "scheduler",
            "jetkube-kubelet": f"kubelet-{NODE}"}  # service name -> its process in cluster.json

MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: otlp-traced, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: otlp-traced}}
  template:
    metadata: {labels: {app: otlp-traced}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
"""


@pytest.fixture(scope="module")
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as r:
        yield r


@pytest.fixture(scope="module")
def otlp_cluster(tmp_path_factory: pytest.TempPathFactory,
                 receiver: OtlpReceiver) -> Iterator[Cluster]:
    data_dir = tmp_path_factory.mktemp("e2e-otlp") / "jetkube"
    with running_cluster(data_dir, nodes=1, runtime="sim",
                         env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url}) as c:
        yield c


def _items(c: Cluster, *args: str) -> list[dict[str, Any]]:
    return list(json.loads(c.kctl("get", *args, "-o", "json").stdout)["items"])


def _pids(data_dir: Path) -> dict[str, int]:
    state = json.loads((data_dir / "cluster.json").read_text())
    return {str(p["name"]): int(p["pid"]) for p in state["processes"]}


def test_one_apply_is_one_trace_at_an_otlp_receiver(otlp_cluster: Cluster,
                                                     receiver: OtlpReceiver) -> None:
    c = otlp_cluster
    wait_until(lambda: any(cond["type"] == "Ready" and cond["status"] == "True"
                           for n in _items(c, "nodes") if n["metadata"]["name"] == NODE
                           for cond in n["status"].get("conditions", [])),
               timeout=60, message=f"{NODE} Ready")
    # kctl apply with the endpoint too: it exports its own span, the trace's root
    kctl = subprocess.Popen([str(BIN / "kctl"), "apply", "-f", "-"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**c.env(), "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
    out, err = kctl.communicate(MANIFEST, timeout=60)
    assert kctl.returncode == 0, f"kctl apply failed:\n{out}\n{err}"
    assert "Failed to export" not in err, err

    def running() -> list[dict[str, Any]]:
        return [p for p in _items(c, "pods", "-l", "app=otlp-traced")
                if p["status"].get("phase") == "Running" and p["spec"].get("nodeName") == NODE]

    wait_until(lambda: len(running()) == 2, timeout=90, interval=0.5,
               message="the deployment's 2 pods Running on the sim node")
    d = json.loads(c.kctl("get", "deploy", "otlp-traced", "-o", "json").stdout)
    trace_id = d["metadata"]["annotations"]["jetkube.io/traceparent"].split("-")[1]

    def orphans(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
        ids = {s.span_id for s in spans}
        return [s for s in spans if s.parent_id is not None and s.parent_id not in ids]

    def complete(spans: list[ReceivedSpan]) -> bool:
        return (set(SERVICES) <= {s.service for s in spans} and not orphans(spans)
                and any(s.name.startswith("create pods") for s in spans))

    # span processors export in batches (every ~5 s): poll until every service's spans are in
    spans = wait_until(lambda: receiver.trace(trace_id), accept=complete, timeout=60,
                       interval=0.5, message=f"trace {trace_id}: spans of "
                       f"{sorted(SERVICES)} with every parent in the trace")

    assert not receiver.refused, receiver.refused
    roots = [s for s in spans if s.parent_id is None]
    assert [(r.service, r.name) for r in roots] == [("kctl", "kctl apply")], roots
    assert not orphans(spans), [(s.service, s.name, s.parent_id) for s in orphans(spans)]
    names = {s.name for s in spans}
    assert any("deployment" in n for n in names) and any("replicaset" in n for n in names), names
    assert "kubelet.sync_pod" in names, names

    host = socket.gethostname()
    pids = _pids(c.data_dir)
    for service, process in SERVICES.items():
        mine = [s for s in spans if s.service == service]
        resources = {json.dumps(s.resource, sort_keys=True) for s in mine}
        assert len(resources) == 1, (service, resources)  # one process each here
        resource = mine[0].resource
        assert resource["host.name"] == host, (service, resource)
        want_pid = kctl.pid if process is None else pids[process]
        assert resource["process.pid"] == want_pid, (service, resource, pids)
        if service == "jetkube-kubelet":
            assert resource["k8s.node.name"] == NODE, resource
        else:
            assert "k8s.node.name" not in resource, (service, resource)
    assert len({s.resource["process.pid"] for s in spans}) == len(SERVICES)
    assert os.getpid() not in {s.resource["process.pid"] for s in spans}
