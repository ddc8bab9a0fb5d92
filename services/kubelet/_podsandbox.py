"""What the pod worker (podworker.py) does before it asks the runtime for a pod's sandbox.

``wait_for_pod_network`` holds a pod back until the node has its podCIDR (hostNetwork
pods do not wait), for at most ``pod_cidr_wait_seconds``; ``sandbox_spec`` is the
pod's :class:`~.runtime.SandboxSpec`: hostname and domain (with ``setHostnameAsFQDN``,
the FQDN as the kernel's hostname, at most 64 characters), DNS (resolved by
resolvconf.py), hostNetwork, annotations and hostAliases.
"""

from __future__ import annotations

import logging

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.runtime import wait_for

from .context import NodeContext
from .resolvconf import DNSSettings
from .runtime import PodRef, RuntimeError_, SandboxSpec

__all__ = ["MAX_HOSTNAME", "sandbox_spec", "wait_for_pod_network"]

MAX_HOSTNAME = 64
"""The longest kernel hostname (Linux's HOST_NAME_MAX): a longer FQDN is refused."""

log = logging.getLogger(__name__)


async def wait_for_pod_network(ctx: NodeContext, pod: Obj) -> None:
    """Wait for the node's pod network, unless it is ready or the pod is on the host's."""
    if not ctx.network_ready.is_set() and not pod["spec"].get("hostNetwork"):
        try:
            await wait_for(ctx.clock, ctx.network_ready.wait(), ctx.config.pod_cidr_wait_seconds)
        except TimeoutError:  # the runtime picks the address; later pods do not wait
            if not ctx.network_ready.is_set():
                log.warning("node %s has no podCIDR after %gs (is node IPAM running?): "
                            "pods start on the runtime's default network until it has one",
                            ctx.config.node_name, ctx.config.pod_cidr_wait_seconds)
                ctx.network_ready.set()


def sandbox_spec(pod: Obj, ref: PodRef, dns: DNSSettings, cluster_domain: str = "cluster.local"
                 ) -> SandboxSpec:
    """The sandbox the runtime is to make for ``pod`` (``ref``), with the DNS of dns_for_pod;
    with ``spec.subdomain``, the domain the kubelet gives it (GeneratePodHostNameAndDomain:
    ``<subdomain>.<namespace>.svc.<cluster domain>``).  RuntimeError_ when
    ``setHostnameAsFQDN`` asks for an FQDN longer than a hostname may be (the kubelet's
    message; the pod worker records it as FailedCreatePodSandBox and tries again)."""
    spec, md = pod["spec"], pod["metadata"]
    subdomain = spec.get("subdomain")
    domain = (f"{subdomain}.{ref.namespace}.svc.{cluster_domain}"
              if isinstance(subdomain, str) and subdomain else "")
    hostname = spec.get("hostname") or ref.name[:63]
    fqdn = f"{hostname}.{domain}"
    if spec.get("setHostnameAsFQDN") is True and domain and len(fqdn) > MAX_HOSTNAME:
        raise RuntimeError_(
            "FailedCreatePodSandBox", "failed to construct FQDN from pod hostname and cluster domain, FQDN "
            f"{fqdn} is too long ({MAX_HOSTNAME} characters is the max, {len(fqdn)} "
            "characters requested)")
    return SandboxSpec(
        domain=domain, fqdn_hostname=spec.get("setHostnameAsFQDN") is True,
        pod=ref, hostname=hostname,
        dns_servers=dns.servers, dns_search=dns.searches, dns_options=dns.options,
        host_network=bool(spec.get("hostNetwork")),
        annotations=dict(md.get("annotations") or {}),
        host_aliases=[(str(a.get("ip")), list(a.get("hostnames") or ()))
                      for a in spec.get("hostAliases") or ()])
