"""A ``kctl up --ha`` cluster of sim nodes for the chaos benchmark (bench/_chaos.py,
bench/chaos.py, k8s-like-e2e/test_e2e_ha_cluster_survives_faults.py): started and
stopped with ``kctl``, on free loopback ports, its recorded processes killed or paused
by name, role or Lease; and :class:`Api`, HTTP to whichever of its API servers answers.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from jetkube.cli.localinfo import kv_stream_leader, leader_pid
from jetkube.cli.up import load_state
from jetkube.services.machinery.store import connect, free_ports

__all__ = ["BIN", "Api", "HaCluster"]

BIN = Path(sys.executable).parent


class HaCluster:
    """A ``kctl up --ha`` cluster of sim nodes in ``data_dir``, on free loopback ports."""

    def __init__(self, data_dir: Path, nodes: int = 2) -> None:
        self.data_dir = data_dir
        self.nodes = nodes
        self.api_port = free_ports(2)

    def up(self, *extra: str) -> None:
        argv = [str(BIN / "kctl"), "up", "--ha", "--data-dir", str(self.data_dir),
                "--runtime", "sim", "--nodes", str(self.nodes), "--port", str(self.api_port),
                "--nats-port", str(free_ports(3)), "--nats-monitor-port", str(free_ports(3)),
                "--nats-cluster-port", str(free_ports(3)), *extra]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=180,
                           env={**os.environ, "JETKUBE_TRACE_PUBLISH": "0"})
        if p.returncode != 0:
            raise RuntimeError(f"kctl up --ha failed:\n{p.stdout}\n{p.stderr}")

    def down(self) -> None:
        subprocess.run([str(BIN / "kctl"), "down", "--data-dir", str(self.data_dir)],
                       capture_output=True, timeout=120)

    @property
    def token(self) -> str:
        cfg = yaml.safe_load((self.data_dir / "kubeconfig").read_text())
        return str(cfg["users"][0]["user"]["token"])

    @property
    def api_urls(self) -> list[str]:
        return [f"https://127.0.0.1:{self.api_port + i}" for i in range(2)]

    def verify(self) -> ssl.SSLContext:
        """The API servers' certificates are checked against the cluster CA."""
        return ssl.create_default_context(cafile=str(self.data_dir / "pki" / "ca.crt"))

    def records(self) -> dict[str, Any]:
        state = load_state(self.data_dir)
        assert state is not None
        return {r.name: r for r in state.processes}

    async def connect(self) -> Any:
        """A NATS connection as ``admin`` (every node's URL, its seed, the cluster CA)."""
        state = load_state(self.data_dir)
        assert state is not None
        return await connect(state.plan.nats_url, **{
            k: v for k, v in state.plan.nats_client("admin").items() if v is not None})

    def kill(self, name: str) -> None:
        """SIGKILL the recorded process ``name`` (ours: recorded by our kctl up)."""
        os.kill(self.records()[name].pid, signal.SIGKILL)

    def supervisor(self, sig: signal.Signals) -> None:
        os.kill(self.records()["supervisor"].pid, sig)

    def all_alive(self) -> bool:
        from jetkube.cli.procs import alive, is_ours
        return all(alive(r.pid) and is_ours(r) for r in self.records().values())

    def kv_leader(self) -> str:
        state = load_state(self.data_dir)
        assert state is not None
        with httpx.Client(timeout=3) as http:
            server = kv_stream_leader(http, state.plan, list(range(state.plan.nats_nodes)))
        for i in range(state.plan.nats_nodes):
            if state.plan.nats_node_name(i) == server:
                return f"nats-{i + 1}"
        raise RuntimeError(f"no KV stream leader among the NATS nodes ({server})")

    async def lease_holder(self, api: Api, component: str) -> str:
        """The recorded name of the replica of ``component`` holding its Lease."""
        lease = await api.get(f"/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/"
                              f"kube-{component}")
        pid = leader_pid(lease)
        name = next((n for n, r in self.records().items() if r.pid == pid), None)
        if name is None:
            raise RuntimeError(f"the {component} Lease names pid {pid}: not one of ours")
        return name


class Api:
    """HTTP to whichever API server answers (a client-side load balancer)."""

    def __init__(self, urls: list[str], token: str, verify: ssl.SSLContext) -> None:
        self.urls = urls
        self.http = httpx.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10,
                                      verify=verify)
        self.turn = 0

    async def call(self, method: str, path: str, body: Any = None,
                   content_type: str = "application/json") -> httpx.Response:
        url = self.urls[self.turn % len(self.urls)]
        self.turn += 1
        return await self.http.request(method, url + path, content=None if body is None
                                        else json.dumps(body).encode(),
                                        headers={"Content-Type": content_type})

    async def get(self, path: str) -> Any:
        while True:
            try:
                r = await self.call("GET", path)
                if r.status_code == 200:
                    return r.json()
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)

    async def close(self) -> None:
        await self.http.aclose()
