"""``jetkube-controller-manager``: kube-controller-manager's flags, then run."""

from __future__ import annotations

import argparse
import ipaddress

from ..machinery.runtime import Runtime, run_service
from ..machinery.settings import Settings
from . import manager
from .context import ControllerContext, Options

LEASE = "kube-controller-manager"


def parse_args(argv: list[str] | None = None) -> tuple[Options, Settings, str | None, bool]:
    p = argparse.ArgumentParser(prog="jetkube-controller-manager",
                                description="jetkube controller-manager (leader-elected)")
    p.add_argument("--controllers", default="*",
                   help="comma-separated: '*' for all, 'name' to enable, '-name' to disable "
                        f"(known: {', '.join(manager.CONTROLLERS)})")
    p.add_argument("--node-monitor-period", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--node-monitor-grace-period", type=float, default=50.0, metavar="SECONDS")
    p.add_argument("--default-toleration-seconds", type=float, default=300.0, metavar="SECONDS",
                   help="eviction delay for pods without their own taint tolerations")
    p.add_argument("--node-startup-grace-period", type=float, default=60.0, metavar="SECONDS")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16")
    p.add_argument("--node-cidr-mask-size", type=int, default=24)
    p.add_argument("--allocate-node-cidrs", default="true", choices=("true", "false"))
    p.add_argument("--nats-url", help="default: $JETKUBE_NATS_URL or nats://127.0.0.1:4222")
    p.add_argument("--token", help="bearer token (default: $JETKUBE_TOKEN or the kubeconfig's)")
    p.add_argument("--leader-elect", default="true", choices=("true", "false"))
    p.add_argument("--leader-elect-lease-duration", type=float, default=None)
    p.add_argument("--leader-elect-renew-deadline", type=float, default=None)
    p.add_argument("--leader-elect-retry-period", type=float, default=None)
    a = p.parse_args(argv)
    try:
        names = tuple(x.strip() for x in a.controllers.split(",") if x.strip())
        manager.select(names)
        ipaddress.IPv4Network(a.cluster_cidr)
    except ValueError as err:
        p.error(str(err))
    if not 8 <= a.node_cidr_mask_size <= 30:
        p.error("--node-cidr-mask-size must be between 8 and 30")
    opts = Options(controllers=names, node_monitor_period=a.node_monitor_period,
                   node_monitor_grace_period=a.node_monitor_grace_period,
                   default_toleration_seconds=a.default_toleration_seconds,
                   node_startup_grace_period=a.node_startup_grace_period,
                   cluster_cidr=a.cluster_cidr, node_cidr_mask_size=a.node_cidr_mask_size,
                   allocate_node_cidrs=a.allocate_node_cidrs == "true")
    overrides: dict[str, object] = {}
    if a.nats_url:
        overrides["nats_url"] = a.nats_url
    le = {k: v for k, v in (("lease_duration_seconds", a.leader_elect_lease_duration),
                            ("renew_deadline_seconds", a.leader_elect_renew_deadline),
                            ("retry_period_seconds", a.leader_elect_retry_period))
          if v is not None}
    if le:
        overrides["leader_election"] = le
    try:
        settings = Settings.from_env(**overrides)
    except ValueError as err:
        p.error(str(err))
    return opts, settings, a.token, a.leader_elect == "true"


def main(argv: list[str] | None = None) -> None:
    opts, settings, token, elect = parse_args(argv)

    async def body(rt: Runtime) -> None:
        await manager.run(ControllerContext(rt, opts))

    run_service("jetkube-controller-manager", body, settings=settings, token=token,
                lease=LEASE if elect else None)


if __name__ == "__main__":
    main()
