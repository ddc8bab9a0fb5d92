"""What every controller gets: the runtime (informers, API client, events,
clock) and the controller-manager's options."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..machinery.service import ServiceRuntime


@dataclass(frozen=True)
class Options:
    """kube-controller-manager's flags (defaults as Kubernetes sets them)."""

    controllers: tuple[str, ...] = ("*",)
    node_monitor_period: float = 5.0
    node_monitor_grace_period: float = 50.0
    # taint-based eviction: pods without their own not-ready/unreachable tolerations
    # are evicted this long after the taint (the API server's admission adds 300 s)
    default_toleration_seconds: float = 300.0
    node_startup_grace_period: float = 60.0
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    allocate_node_cidrs: bool = True
    concurrent_syncs: dict[str, int] = field(default_factory=dict)

    def workers(self, controller: str, default: int = 5) -> int:
        return self.concurrent_syncs.get(controller, default)


@dataclass
class ControllerContext:
    rt: ServiceRuntime
    options: Options
