"""Container runtimes behind kubelet.runtime.Runtime: docker (real containers) and sim (hollow)."""

from __future__ import annotations

from pathlib import Path

from jetkube.services.machinery.runtime import Clock

from ..config import MAX_PARALLEL_SANDBOX_STARTS
from ..podnet import PodNetworkMode
from ..runtime import Runtime

RUNTIMES = ("docker", "sim")


def make_runtime(name: str, *, node: str, clock: Clock, sim_start_delay: float = 0.0,
                 root_dir: Path | None = None,
                 pod_network: PodNetworkMode = "host-gw",
                 node_ip: str | None = None,
                 max_parallel_sandbox_starts: int = MAX_PARALLEL_SANDBOX_STARTS) -> Runtime:
    """The runtime called ``name`` for node ``node`` (imported only when chosen);
    ``root_dir``, ``pod_network``, ``node_ip`` (the vxlan tunnel's public IP) and
    ``max_parallel_sandbox_starts`` concern the docker runtime."""
    if name == "sim":
        from .sim import SimRuntime

        return SimRuntime(node, clock=clock, start_delay=sim_start_delay)
    if name == "docker":
        from .docker import DockerRuntime

        return DockerRuntime(node, root_dir=root_dir, pod_network=pod_network, node_ip=node_ip,
                             max_parallel_sandbox_starts=max_parallel_sandbox_starts)
    raise ValueError(f"unknown runtime {name!r} (known: {', '.join(RUNTIMES)})")
