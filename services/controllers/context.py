"""What every controller gets: the runtime (informers, API client, events,
clock) and the controller-manager's options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..machinery.service import ServiceRuntime


@dataclass(frozen=True)
class ControllerManagerOptions:
    """kube-controller-manager's flags (defaults as Kubernetes sets them)."""

    controllers: tuple[str, ...] = ("*",)
    """Which controllers run: ``*`` for all, ``name`` to enable, ``-name`` to disable."""
    node_monitor_period: float = 5.0
    """How often the node lifecycle controller checks each node's health, seconds."""
    node_monitor_grace_period: float = 50.0
    """A node whose kubelet has not reported for this long is marked Unknown (unreachable)."""
    node_startup_grace_period: float = 60.0
    """The grace period of a node that has never posted a Ready condition."""
    cluster_cidr: str = "10.244.0.0/16"
    """The pod network that node IPAM cuts node podCIDRs from."""
    node_cidr_mask_size: int = 24
    """The prefix length of each node's podCIDR."""
    allocate_node_cidrs: bool = True
    """Whether node IPAM gives nodes a podCIDR at all."""
    orphan_pod_quarantine_seconds: float = 40.0
    """How long a pod's node must be missing before podgc deletes the pod (Kubernetes'
    podgc quarantine, fixed at 40 s there; shorter here for tests)."""
    terminated_pod_gc_threshold: int = 12_500
    """Finished pods (Succeeded/Failed) kept before the oldest are deleted; 0: keep all."""
    root_ca_file: Path | None = None
    """The CA bundle the root-ca-cert-publisher puts in every namespace's
    ``kube-root-ca.crt`` (``--root-ca-file``; the controller-manager's default: the cluster
    CA of its bus, ``$JETKUBE_NATS_CA_FILE``)."""
    concurrent_syncs: dict[str, int] = field(default_factory=dict)
    """Workers per controller name (``workers``); a controller not listed has its default."""

    def workers(self, controller: str, default: int = 5) -> int:
        return self.concurrent_syncs.get(controller, default)


@dataclass
class ControllerContext:
    rt: ServiceRuntime
    options: ControllerManagerOptions
