"""``jetkube-proxy``: kube-proxy's flags (iptables mode, trimmed), then run one node's proxy.

``jetkube-proxy --node-name node-1 [--service-cidr 10.96.0.0/16 --cluster-cidr
10.244.0.0/16 --nodeport-addresses 127.0.0.1,192.168.1.0/24 --min-sync-seconds 0.1
--sync-seconds 60]``; ``--cleanup`` removes this node's chains, the scope's
ClusterIP interface and its unreachable route, then exits (like ``kube-proxy
--cleanup``).  Needs root and ``ip``/``iptables``: without them it says why and
exits 2.  Not leader-elected: one per node.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import logging
import sys

from ..machinery.apimachinery import PROXY
from ..machinery.hostnet import HostNet, default_scope, missing_privileges
from ..machinery.runtime import Settings, setup_logging
from ..machinery.service import ServiceRuntime, add_service_flags, run_service, settings_from_flags
from .config import DEFAULT_CLUSTER_CIDR, DEFAULT_SERVICE_CIDR, ProxyConfig
from .model import address_list
from .proxier import Proxier, cleanup

log = logging.getLogger(__name__)
NAME = "jetkube-proxy"


def _cidr(text: str) -> str:
    try:
        return str(ipaddress.IPv4Network(text, strict=False))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _addresses(text: str) -> tuple[str, ...]:
    try:
        return address_list(text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=NAME, description="jetkube service proxy (iptables)")
    p.add_argument("--node-name", required=True, help="the Node this proxy serves")
    p.add_argument("--service-cidr", type=_cidr, default=DEFAULT_SERVICE_CIDR,
                   help=f"the ClusterIP range (default {DEFAULT_SERVICE_CIDR})")
    p.add_argument("--cluster-cidr", type=_cidr, default=DEFAULT_CLUSTER_CIDR,
                   help="pod addresses; traffic from elsewhere to a ClusterIP is masqueraded "
                        f"(default {DEFAULT_CLUSTER_CIDR})")
    p.add_argument("--nodeport-addresses", type=_addresses, default=(),
                   help="comma-separated IPs or CIDRs node ports answer on (default: the "
                        "Node's InternalIPs and 127.0.0.1)")
    p.add_argument("--min-sync-seconds", type=float, default=0.1,
                   help="apply changes at most this often (default 0.1)")
    p.add_argument("--sync-seconds", type=float, default=60.0,
                   help="full resync period (default 60)")
    p.add_argument("--masquerade-bit", type=int, default=14, help="fwmark bit (default 14: 0x4000)")
    p.add_argument("--cleanup", action="store_true",
                   help="remove this node's rules, the ClusterIP interface and route, then exit")
    add_service_flags(p)
    return p


def parse_args(argv: list[str] | None = None) -> tuple[ProxyConfig, argparse.Namespace, Settings]:
    p = parser()
    a = p.parse_args(argv)
    try:
        cfg = ProxyConfig(node_name=a.node_name, scope=default_scope(), service_cidr=a.service_cidr,
                          cluster_cidr=a.cluster_cidr or None, nodeport_addresses=a.nodeport_addresses,
                          min_sync_seconds=a.min_sync_seconds, sync_seconds=a.sync_seconds,
                          masquerade_bit=a.masquerade_bit)
        settings = settings_from_flags(a)
    except ValueError as err:
        p.error(str(err))
    return cfg, a, settings


async def run(rt: ServiceRuntime, cfg: ProxyConfig) -> None:
    """The service body: informers, the first sync, then follow changes until cancelled."""
    proxier = Proxier(cfg, rt.informers, HostNet(), clock=rt.clock)
    rt.informers.start()
    await rt.informers.wait_for_cache_sync()
    log.info("proxy for node %s: chains %s*, ClusterIPs on %s", cfg.node_name, cfg.prefix, cfg.interface)
    proxier.start()
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await proxier.stop()


def main(argv: list[str] | None = None) -> None:
    cfg, a, settings = parse_args(argv)
    why = missing_privileges()
    if why:
        print(f"{NAME}: {why}", file=sys.stderr)
        sys.exit(2)
    if a.cleanup:
        setup_logging(NAME, settings.log_level, settings.log_format)
        removed = asyncio.run(cleanup(HostNet(), cfg))
        log.info("removed %d chains, interface %s and the route of %s", len(removed), cfg.interface,
                 cfg.service_cidr)
        sys.exit(0)

    async def body(rt: ServiceRuntime) -> None:
        await run(rt, cfg)

    run_service(NAME, body, settings=settings, identity=PROXY)


if __name__ == "__main__":
    main()
