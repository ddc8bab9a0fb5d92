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


@dataclass(frozen=True)
class AgentConfig:
    node_name: str
    cpu: str = field(default_factory=machine_cpus)
    memory: str = field(default_factory=machine_memory)
    pods: str = "110"
    ephemeral_storage: str = "20Gi"
    labels: dict[str, str] = field(default_factory=dict)
    root_dir: Path = Path("/tmp/jetkube-kubelet")
    pod_manifest_path: Path | None = None
    host_ip: str = "127.0.0.1"

    # node heartbeat: the Lease is renewed every lease_renew_seconds; the Node's status is
    # recomputed every node_status_update_seconds and posted when it changed, or at least
    # every node_status_report_seconds (kubelet's nodeStatusReportFrequency)
    lease_duration_seconds: int = 40
    lease_renew_seconds: float = 10.0
    node_status_update_seconds: float = 10.0
    node_status_report_seconds: float = 300.0
    # read the Node until the IPAM controller gave it a podCIDR (runtimes that use one);
    # a new sandbox waits for it at most this long, then uses the runtime's own addresses
    watch_pod_cidr: bool = True
    pod_cidr_wait_seconds: float = 10.0
    # the Docker runtime's pod network: a bridge on the podCIDR, a forward chain and host
    # routes to other nodes' podCIDRs ("host-routes"), or Docker's default bridge ("none")
    pod_network: Literal["host-routes", "none"] = "host-routes"

    # DNS of pods (kubelet's --cluster-dns, --cluster-domain, --resolv-conf); without a
    # cluster DNS, ClusterFirst falls back to Default with a MissingClusterDNS warning
    # event (missing_dns_events=False: no event, e.g. hollow nodes, whose runtime has no DNS)
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    resolv_conf: Path | None = Path("/etc/resolv.conf")
    missing_dns_events: bool = True

    # pods: list-and-compare against the API this often (heals a missed stream message)
    pod_resync_seconds: float = 300.0
    # static pods: how often the manifest directory is re-read (kubelet: fileCheckFrequency)
    file_check_seconds: float = 20.0

    # restart backoff (kubelet: 10 s doubling to 5 min; reset after 10 min of running)
    backoff_initial_seconds: float = 10.0
    backoff_max_seconds: float = 300.0
    backoff_reset_seconds: float = 600.0
    # image pulls back off the same way
    pull_backoff_initial_seconds: float = 10.0
    pull_backoff_max_seconds: float = 300.0
    # a failed sync (runtime error) is retried after this long
    retry_seconds: float = 2.0

    # which events to write: every one, warnings only (hollow nodes at scale), or none
    events: EventLevel = "normal"
