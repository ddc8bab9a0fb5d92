"""What the pod worker (podworker.py) does before it asks the runtime for a pod's sandbox.

``wait_for_pod_network`` holds a pod back until the node has its podCIDR (hostNetwork
pods do not wait), for at most ``pod_cidr_wait_seconds``; ``sandbox_spec`` is the
pod's :class:`~.runtime.SandboxSpec`: hostname, DNS (resolved by resolvconf.py),
hostNetwork, annotations and hostAliases.
"""

from __future__ import annotations

import logging

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.runtime import wait_for

from .context import NodeContext
from .resolvconf import DNSSettings
from .runtime import PodRef, SandboxSpec

__all__ = ["sandbox_spec", "wait_for_pod_network"]

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
    ``<subdomain>.<namespace>.svc.<cluster domain>``)."""
    spec, md = pod["spec"], pod["metadata"]
    subdomain = spec.get("subdomain")
    return SandboxSpec(
        domain=(f"{subdomain}.{ref.namespace}.svc.{cluster_domain}"
                if isinstance(subdomain, str) and subdomain else ""),
        pod=ref, hostname=spec.get("hostname") or ref.name[:63],
        dns_servers=dns.servers, dns_search=dns.searches, dns_options=dns.options,
        host_network=bool(spec.get("hostNetwork")),
        annotations=dict(md.get("annotations") or {}),
        host_aliases=[(str(a.get("ip")), list(a.get("hostnames") or ()))
                      for a in spec.get("hostAliases") or ()])
