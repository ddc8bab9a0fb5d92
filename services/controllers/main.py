"""``jetkube-controller-manager``: kube-controller-manager's flags, then run."""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
from pathlib import Path

from ..machinery.apimachinery import CONTROLLER_MANAGER
from ..machinery.runtime import Settings, tune_gc
from ..machinery.service import ServiceRuntime, add_service_flags, run_service, settings_from_flags
from . import manager
from .context import ControllerContext, ControllerManagerOptions

LEASE = "kube-controller-manager"


def parse_args(argv: list[str] | None = None) -> tuple[ControllerManagerOptions, Settings, bool]:
    p = argparse.ArgumentParser(prog="jetkube-controller-manager",
                                description="jetkube controller-manager (leader-elected)")
    p.add_argument("--controllers", default="*",
                   help="comma-separated: '*' for all, 'name' to enable, '-name' to disable "
                        f"(known: {', '.join(manager.CONTROLLERS)})")
    p.add_argument("--node-monitor-period", type=float, default=5.0, metavar="SECONDS")
    p.add_argument("--node-monitor-grace-period", type=float, default=50.0, metavar="SECONDS")
    # accepted as before, and ignored: the API server's --default-toleration-seconds gives
    # pods their not-ready/unreachable tolerations, which taint eviction obeys
    p.add_argument("--default-toleration-seconds", type=float, default=300.0, metavar="SECONDS",
                   help="ignored (the API server's flag of that name sets the tolerations)")
    p.add_argument("--node-startup-grace-period", type=float, default=60.0, metavar="SECONDS")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16")
    p.add_argument("--node-cidr-mask-size", type=int, default=24)
    p.add_argument("--allocate-node-cidrs", default="true", choices=("true", "false"))
    p.add_argument("--orphan-pod-quarantine-seconds", type=float, default=40.0,
                   metavar="SECONDS", help="how long a pod's node must be missing before "
                                           "podgc deletes the pod")
    p.add_argument("--terminated-pod-gc-threshold", type=int, default=12_500, metavar="N",
                   help="finished pods kept before podgc deletes the oldest (0: keep all)")
    p.add_argument("--root-ca-file", type=Path,
                   help="CA bundle published as kube-root-ca.crt in every namespace "
                        "(default: the cluster CA, $JETKUBE_NATS_CA_FILE)")
    add_service_flags(p)
    a = p.parse_args(argv)
    try:
        names = tuple(x.strip() for x in a.controllers.split(",") if x.strip())
        manager.select(names)
        ipaddress.IPv4Network(a.cluster_cidr)
    except ValueError as err:
        p.error(str(err))
    if not 8 <= a.node_cidr_mask_size <= 30:
        p.error("--node-cidr-mask-size must be between 8 and 30")
    opts = ControllerManagerOptions(controllers=names, node_monitor_period=a.node_monitor_period,
                   node_monitor_grace_period=a.node_monitor_grace_period,
                   node_startup_grace_period=a.node_startup_grace_period,
                   cluster_cidr=a.cluster_cidr, node_cidr_mask_size=a.node_cidr_mask_size,
                   allocate_node_cidrs=a.allocate_node_cidrs == "true",
                   terminated_pod_gc_threshold=max(0, a.terminated_pod_gc_threshold),
                   orphan_pod_quarantine_seconds=max(0.0, a.orphan_pod_quarantine_seconds))
    try:
        settings = settings_from_flags(a)
    except ValueError as err:
        p.error(str(err))
    root_ca = a.root_ca_file or (Path(settings.nats_ca_file) if settings.nats_ca_file else None)
    if root_ca is not None and not root_ca.is_file():
        p.error(f"--root-ca-file: {root_ca} does not exist")
    opts = dataclasses.replace(opts, root_ca_file=root_ca)
    return opts, settings, a.leader_elect == "true"


def main(argv: list[str] | None = None) -> None:
    opts, settings, elect = parse_args(argv)
    tune_gc()  # its informers hold every object as plain dicts: see runtime/_gc.py

    async def body(rt: ServiceRuntime) -> None:
        await manager.run(ControllerContext(rt, opts))

    run_service("jetkube-controller-manager", body, settings=settings, identity=CONTROLLER_MANAGER,
                lease=LEASE if elect else None)


if __name__ == "__main__":
    main()
