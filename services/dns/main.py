"""``jetkube-dns``: the cluster DNS server's flags, then run.

``jetkube-dns [--cluster-dns-ip 10.96.0.10] [--cluster-domain cluster.local]
[--listen ADDR:PORT ...] [--upstream ADDR:PORT] [--ttl 5]`` plus the service
flags every jetkube service takes (``--nats-url``, ``--token``).  Without
``--listen`` it serves ``<cluster-dns-ip>:53`` (UDP and TCP), bound with
FREEBIND so it may start before the service proxy puts that address on its
interface.  Every instance serves: the leader-election flags are accepted and
ignored.
"""

from __future__ import annotations

import argparse
import ipaddress

from ..machinery.apimachinery import DNS
from ..machinery.runtime import Settings
from ..machinery.service import ServiceRuntime, add_service_flags, run_service, settings_from_flags
from .names import absolute
from .server import parse_hostport
from .service import DnsConfig, DnsService


class DnsFlags(argparse.Namespace):
    cluster_dns_ip: str
    cluster_domain: str
    listen: list[str] | None
    upstream: str | None
    upstream_timeout: float
    ttl: int
    no_kube_dns_service: bool
    nats_url: str | None
    nats_creds: str | None
    nats_ca: str | None
    leader_elect: str
    leader_elect_lease_duration: float | None
    leader_elect_renew_deadline: float | None
    leader_elect_retry_period: float | None


def parse_args(argv: list[str] | None = None) -> tuple[DnsConfig, DnsFlags, Settings]:
    p = argparse.ArgumentParser(prog="jetkube-dns", description="jetkube cluster DNS")
    p.add_argument("--cluster-dns-ip", default="10.96.0.10",
                   help="the kube-dns Service's clusterIP, and where to listen by default")
    p.add_argument("--cluster-domain", default="cluster.local")
    p.add_argument("--listen", action="append", metavar="ADDR:PORT",
                   help="UDP+TCP address to serve (repeatable; default <cluster-dns-ip>:53)")
    p.add_argument("--upstream", metavar="ADDR:PORT",
                   help="where names outside the cluster domain go (default: REFUSED)")
    p.add_argument("--upstream-timeout", type=float, default=2.0, metavar="SECONDS")
    p.add_argument("--ttl", type=int, default=5, help="TTL of every answer, seconds")
    p.add_argument("--no-kube-dns-service", action="store_true",
                   help="do not create Service kube-system/kube-dns")
    add_service_flags(p)
    p.set_defaults(leader_elect="false")
    a = p.parse_args(argv, namespace=DnsFlags())
    try:
        listens = [parse_hostport(x) for x in a.listen or []]
        upstream = parse_hostport(a.upstream) if a.upstream else None
        dns_ip = str(ipaddress.ip_address(a.cluster_dns_ip))
    except ValueError as err:
        p.error(str(err))
    if not 0 <= a.ttl <= 2**31 - 1:
        p.error("--ttl must be between 0 and 2147483647")
    if a.upstream_timeout <= 0:
        p.error("--upstream-timeout must be positive")
    domain = absolute(a.cluster_domain).rstrip(".")
    if not domain or any(not label for label in domain.split(".")):
        p.error(f"--cluster-domain {a.cluster_domain!r} is not a domain name")
    cfg = DnsConfig(cluster_dns_ip=dns_ip, cluster_domain=domain, listen=listens,
                    upstream=upstream, ttl=a.ttl, upstream_timeout=a.upstream_timeout,
                    ensure_service=not a.no_kube_dns_service)
    try:
        settings = settings_from_flags(a)
    except ValueError as err:
        p.error(str(err))
    return cfg, a, settings


def main(argv: list[str] | None = None) -> None:
    cfg, _opts, settings = parse_args(argv)

    async def body(rt: ServiceRuntime) -> None:
        await DnsService(rt, cfg).run()

    run_service("jetkube-dns", body, settings=settings, identity=DNS)

