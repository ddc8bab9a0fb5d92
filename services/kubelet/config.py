"""The node agent's configuration, as data (kubelet's KubeletConfiguration, trimmed).

Durations are fields here, not constants in code, so tests and the hollow-node
process change them without touching the code that uses them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

EventLevel = Literal["normal", "warning", "none"]


def machine_memory() -> str:
    """MemTotal of this machine as a Kubernetes quantity (``8029852Ki``)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1])}Ki"
    except OSError:
        pass
    return "4Gi"


def machine_cpus() -> str:
    return str(os.cpu_count() or 1)


MAX_PARALLEL_SANDBOX_STARTS = max(2, os.cpu_count() or 1)
"""The Docker runtime's default bound on sandboxes being created and started at once: one
per CPU of this machine (2 at least).  The daemon starts containers faster a few at a
time than all at once (its shims and runc compete for the same cores): on a 2-core
machine (dockerd 20.10, 2026-12-05) 50 raw sandbox + container pairs sent at 10/s were
all running at p50 1.56-1.64 s with 4 in flight, 1.64-1.73 s with 8, 2.29-2.53 s with 16
and 2.69-3.08 s with 64; one pair alone takes ~0.26 s.  bench/pod_startup.py's three
agents on one daemon, 50 pods at 10/s: jetkube's p50 2.08-2.21 s with 1 sandbox start
per agent, 2.56-2.60 s with 2, 2.81-3.47 s unbounded (docs/architecture.md)."""


@dataclass(frozen=True)
class AgentConfig:
    node_name: str
    """The Node this agent registers and runs pods for."""
    cpu: str = field(default_factory=machine_cpus)
    """The Node's cpu capacity (default: this machine's CPUs)."""
    memory: str = field(default_factory=machine_memory)
    """The Node's memory capacity (default: this machine's MemTotal)."""
    pods: str = "110"
    """The Node's pod capacity."""
    ephemeral_storage: str = "20Gi"
    """The Node's ephemeral-storage capacity."""
    labels: dict[str, str] = field(default_factory=dict)
    """Labels of the Node, over the well-known hostname/os/arch ones."""
    root_dir: Path = Path("/tmp/jetkube-kubelet")
    """Where the agent keeps pod directories (volumes, logs, resolv.conf)."""
    pod_manifest_path: Path | None = None
    """The static pods' manifest directory (kubelet's ``--pod-manifest-path``); None: none."""
    host_ip: str = "127.0.0.1"
    """The Node's InternalIP, and the pods' ``status.hostIP``."""

    lease_duration_seconds: int = 40
    """``leaseDurationSeconds`` of the node's Lease in ``kube-node-lease``."""
    lease_renew_seconds: float = 10.0
    """The node's Lease is renewed this often."""
    node_status_update_seconds: float = 10.0
    """The Node's status is recomputed this often, and posted when it changed."""
    node_status_report_seconds: float = 300.0
    """The Node's status is posted at least this often, changed or not (kubelet's
    ``nodeStatusReportFrequency``)."""
    watch_pod_cidr: bool = True
    """Read the Node until the IPAM controller gave it a podCIDR (runtimes that use one)."""
    pod_cidr_wait_seconds: float = 10.0
    """A new sandbox waits at most this long for the podCIDR, then uses the runtime's own
    addresses."""
    pod_network: Literal["host-gw", "vxlan", "none"] = "host-gw"
    """The Docker runtime's pod network: a bridge on the podCIDR and a forward chain, with
    host routes to other nodes' podCIDRs via their InternalIP (``host-gw``, alias
    ``host-routes``: the nodes share an L2 segment), or a kernel VXLAN device and its
    FDB/neighbour/route entries per other node, the pods' MTU lowered by 50 (``vxlan``:
    any routed network; ``host_ip`` is the tunnel's public IP); or Docker's default
    bridge (``none``)."""

    cluster_dns: tuple[str, ...] = ()
    """Nameservers of ClusterFirst pods (kubelet's ``--cluster-dns``); empty: ClusterFirst
    falls back to Default."""
    cluster_domain: str = "cluster.local"
    """The cluster's DNS domain, in pods' search paths (kubelet's ``--cluster-domain``)."""
    resolv_conf: Path | None = Path("/etc/resolv.conf")
    """The host's resolver configuration, which Default pods get (kubelet's ``--resolv-conf``)."""
    missing_dns_events: bool = True
    """Warn with a MissingClusterDNS event when ClusterFirst falls back for lack of a cluster
    DNS (False e.g. for hollow nodes, whose runtime has no DNS)."""

    max_parallel_sandbox_starts: int = MAX_PARALLEL_SANDBOX_STARTS
    """Docker runtime: pod sandboxes created and started on the daemon at once (0: no
    bound); more wait their turn on the agent's loop, as the kubelet's
    ``maxParallelImagePulls`` bounds pulls.  Agents sharing one daemon share its budget:
    each should get its part.  bench/pod_startup.py: see docs/architecture.md."""

    pod_resync_seconds: float = 300.0
    """Pods are listed and compared against the API this often (heals a missed stream message)."""
    file_check_seconds: float = 20.0
    """The static pods' manifest directory is re-read this often (kubelet's ``fileCheckFrequency``)."""

    backoff_initial_seconds: float = 10.0
    """A crashed container is restarted after this long, doubling with each further crash."""
    backoff_max_seconds: float = 300.0
    """The longest restart backoff."""
    backoff_reset_seconds: float = 600.0
    """A container that ran this long starts over at the initial backoff."""
    pull_backoff_initial_seconds: float = 10.0
    """A failed image pull is retried after this long, doubling with each further failure."""
    pull_backoff_max_seconds: float = 300.0
    """The longest image pull backoff."""
    retry_seconds: float = 2.0
    """A failed sync (runtime error) is retried after this long."""

    events: EventLevel = "normal"
    """Which events to write: every one, warnings only (hollow nodes at scale), or none."""
