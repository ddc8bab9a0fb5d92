"""A pod's DNS settings, as kubelet derives them (pkg/kubelet/network/dns).

- ``ClusterFirst`` (the default; for hostNetwork pods only ``ClusterFirstWithHostNet``):
  ``nameserver <cluster DNS>``, ``search <ns>.svc.<domain> svc.<domain> <domain>``
  followed by the host's search domains, ``options ndots:5``.  Without a cluster DNS
  (``--cluster-dns``) it falls back to ``Default``, with a warning (MissingClusterDNS).
- ``Default``: the host's resolv.conf (the runtime's default; with a dnsConfig, the
  host's file parsed here, loopback nameservers left out since a pod cannot reach them).
- ``None``: only the pod's dnsConfig.

The pod's ``spec.dnsConfig`` is merged last: nameservers and searches appended without
duplicates, options merged by name (the pod's win).  Limits as kubelet's: 3
nameservers, 32 search domains of at most 2048 characters together.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from jetkube.schemas.objects import Obj

from .config import AgentConfig

MAX_NAMESERVERS = 3
MAX_SEARCHES = 32
MAX_SEARCH_CHARS = 2048
CLUSTER_OPTIONS = ("ndots:5",)
MISSING_CLUSTER_DNS = ("kubelet does not have ClusterDNS IP configured and cannot create Pod "
                       'using "ClusterFirst" policy. Falling back to "Default" policy.')


@dataclass(frozen=True)
class DNSSettings:
    servers: list[str] = field(default_factory=list)
    searches: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)


def parse_resolv_conf(text: str) -> DNSSettings:
    """nameserver / search / domain / options lines of a resolv.conf."""
    servers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split(";", 1)[0].split()
        if not words:
            continue
        if words[0] == "nameserver" and len(words) > 1:
            servers.append(words[1])
        elif words[0] in ("search", "domain"):  # the last of them wins, as in glibc
            searches = [w for w in words[1:] if w != "."]
        elif words[0] == "options":
            options += words[1:]
    return DNSSettings(servers, searches, options)


def render(dns: DNSSettings) -> str:
    """The resolv.conf of ``dns`` (nameservers, then search, then options: dockershim's order)."""
    lines = [f"nameserver {s}" for s in dns.servers]
    if dns.searches:
        lines.append("search " + " ".join(dns.searches))
    if dns.options:
        lines.append("options " + " ".join(dns.options))
    return "\n".join(lines) + "\n"


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(i for i in items if i))


def merge_options(base: list[str], extra: list[Obj] | list[str]) -> list[str]:
    """Options by name, in first-seen order; a later value replaces an earlier one."""
    merged: dict[str, str | None] = {}
    for opt in [*base, *extra]:
        if isinstance(opt, dict):
            name, value = str(opt.get("name") or ""), opt.get("value")
        else:
            name, _, v = str(opt).partition(":")
            value = v if ":" in str(opt) else None
        if name:
            merged[name] = None if value is None else str(value)
    return [k if v is None else f"{k}:{v}" for k, v in merged.items()]


def _fit(dns: DNSSettings) -> tuple[DNSSettings, list[str]]:
    notes = []
    servers, searches = dns.servers, dns.searches
    if len(servers) > MAX_NAMESERVERS:
        notes.append(f"Nameserver limits were exceeded, some nameservers have been omitted, "
                     f"the applied nameserver line is: {' '.join(servers[:MAX_NAMESERVERS])}")
        servers = servers[:MAX_NAMESERVERS]
    kept: list[str] = []
    for s in searches[:MAX_SEARCHES]:
        if len(" ".join([*kept, s])) > MAX_SEARCH_CHARS:
            break
        kept.append(s)
    if kept != searches:
        notes.append(f"Search Line limits were exceeded, some search paths have been omitted, "
                     f"the applied search line is: {' '.join(kept)}")
    return DNSSettings(servers, kept, dns.options), notes


_host_files: dict[Path, tuple[tuple[int, int, int], DNSSettings]] = {}
"""Each resolv.conf read, by path: its (mtime, size, inode) then, and what it said."""


def host_settings(resolv_conf: Path | None) -> DNSSettings:
    """The host's resolv.conf (``--resolv-conf``; None or unreadable: empty), read again only
    when it changed (its mtime, size or inode): a stat per pod, not a read and a parse (3-4 %
    of a hollow-nodes process's CPU in bench/density.py).  Shared: not to be mutated."""
    if resolv_conf is None:
        return DNSSettings()
    try:
        st = resolv_conf.stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        known = _host_files.get(resolv_conf)
        if known is not None and known[0] == stamp:
            return known[1]
        settings = parse_resolv_conf(resolv_conf.read_text())
    except OSError:
        return DNSSettings()
    _host_files[resolv_conf] = (stamp, settings)
    return settings


def _reachable_from_a_pod(server: str) -> bool:
    try:
        return not ipaddress.ip_address(server).is_loopback
    except ValueError:
        return False


def pod_dns(pod: Obj, *, cluster_dns: list[str] | tuple[str, ...], cluster_domain: str,
            host: DNSSettings) -> tuple[DNSSettings | None, list[str], bool]:
    """(the pod's DNS, or None for the runtime's default; warnings; whether it fell back
    from ClusterFirst for want of a cluster DNS)."""
    spec = pod.get("spec") or {}
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    config = spec.get("dnsConfig")
    kind = {"None": "none", "Default": "host", "ClusterFirstWithHostNet": "cluster"}.get(
        policy, "host" if spec.get("hostNetwork") else "cluster")
    fell_back = kind == "cluster" and not cluster_dns
    if fell_back:
        kind = "host"
    if kind == "host" and not config:
        return None, [], fell_back  # the runtime's default: the host's resolv.conf
    if kind == "none":
        base = DNSSettings()
    elif kind == "cluster":
        d = cluster_domain.strip(".")
        base = DNSSettings(list(cluster_dns),
                           _unique([f"{ns}.svc.{d}", f"svc.{d}", d, *host.searches]),
                           list(CLUSTER_OPTIONS))
    else:
        base = DNSSettings([s for s in host.servers if _reachable_from_a_pod(s)],
                           list(host.searches), list(host.options))
    if config:
        base = DNSSettings(_unique([*base.servers, *(config.get("nameservers") or ())]),
                           _unique([*base.searches, *(config.get("searches") or ())]),
                           merge_options(base.options, list(config.get("options") or ())))
    fitted, notes = _fit(base)
    return fitted, notes, fell_back


def dns_for_pod(pod: Obj, config: AgentConfig) -> tuple[DNSSettings, list[tuple[str, str]]]:
    """The DNS of a pod's SandboxSpec (all empty: the runtime's default) and the warning
    events (reason, message) to record about it, from the agent's configuration."""
    dns, notes, fell_back = pod_dns(pod, cluster_dns=config.cluster_dns,
                                    cluster_domain=config.cluster_domain,
                                    host=host_settings(config.resolv_conf))
    events = [("DNSConfigForming", n) for n in notes]
    if fell_back and config.missing_dns_events:
        md = pod.get("metadata") or {}
        events.insert(0, ("MissingClusterDNS", f'pod: "{md.get("name")}_{md.get("namespace")}'
                                               f'({md.get("uid")})". {MISSING_CLUSTER_DNS}'))
    return dns or DNSSettings(), events


__all__ = ["MISSING_CLUSTER_DNS", "DNSSettings", "dns_for_pod", "host_settings", "merge_options",
           "parse_resolv_conf", "pod_dns", "render"]
