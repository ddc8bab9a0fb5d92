"""``jetkube-kubelet``: one node agent (kubelet's flags, trimmed), then run.

``jetkube-kubelet --node-name node-1 --runtime docker|sim [--cpu 4 --memory 8Gi
--pods 110 --pod-manifest-path DIR --root-dir DIR --sim-start-delay S
--node-labels k=v,... --node-ip IP --pod-network host-gw|vxlan|none
--cluster-dns IP[,IP] --cluster-domain cluster.local --resolv-conf FILE]``.
Capacity defaults to this machine's; the root dir to
``$JETKUBE_DATA_DIR/nodes/<node>`` (``kctl up`` sets it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import os
import sys
import tempfile
from pathlib import Path

from jetkube.schemas.quantity import parse_quantity
from jetkube.services.machinery.apimachinery import node_identity
from jetkube.services.machinery.runtime import Settings, tune_gc
from jetkube.services.machinery.runtime.telemetry import setup_telemetry
from jetkube.services.machinery.service import ServiceRuntime, run_service
from jetkube.services.machinery.store import NodePodStream

from .build import Shared, new_agent, with_retries
from .config import MAX_PARALLEL_SANDBOX_STARTS, AgentConfig, machine_cpus, machine_memory
from .logstream import serve_node_requests
from .node import NodesAware, machine_pressure
from .podnet import POD_NETWORK_ALIASES, POD_NETWORK_MODES, pod_network_mode
from .podsource import NodePodSource
from .runtimes import RUNTIMES, make_runtime
from .stats import NodeStats


def parse_labels(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in filter(None, (i.strip() for i in text.split(","))):
        k, sep, v = item.partition("=")
        if not sep or not k:
            raise ValueError(f"--node-labels: {item!r} is not key=value")
        out[k] = v
    return out


def default_root(node: str) -> Path:
    base = os.environ.get("JETKUBE_DATA_DIR")
    return (Path(base) if base else Path(tempfile.gettempdir()) / "jetkube") / "nodes" / node


def parser(prog: str = "jetkube-kubelet") -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description="jetkube node agent")
    p.add_argument("--runtime", choices=RUNTIMES, default="docker")
    p.add_argument("--cpu", default=None, help="allocatable CPUs (default: this machine's)")
    p.add_argument("--memory", default=None, help="allocatable memory (default: this machine's)")
    p.add_argument("--pods", default="110", help="how many pods fit (default 110)")
    p.add_argument("--node-labels", default="", help="k=v,... added to the Node's labels")
    p.add_argument("--sim-start-delay", type=float, default=0.0, metavar="SECONDS",
                   help="sim runtime: how long a container start takes")
    p.add_argument("--lease-renew-seconds", type=float, default=10.0)
    p.add_argument("--node-status-update-seconds", type=float, default=10.0)
    p.add_argument("--pod-resync-seconds", type=float, default=300.0)
    p.add_argument("--events", choices=("normal", "warning", "none"), default=None,
                   help="which pod events to write (default: normal; warning for hollow nodes)")
    p.add_argument("--nats-url", help="default: $JETKUBE_NATS_URL or nats://127.0.0.1:4222")
    p.add_argument("--nats-creds", help="nkey seed file (default: $JETKUBE_NATS_CREDS_FILE)")
    p.add_argument("--nats-ca", help="cluster CA for NATS TLS (default: $JETKUBE_NATS_CA_FILE)")
    return p


def check_quantities(p: argparse.ArgumentParser, a: argparse.Namespace) -> None:
    for flag in ("cpu", "memory", "pods"):
        v = getattr(a, flag)
        if v is not None:
            try:
                parse_quantity(v)
            except ValueError as err:
                p.error(f"--{flag}: {err}")


def settings_from(p: argparse.ArgumentParser, a: argparse.Namespace) -> Settings:
    try:
        given = {"nats_url": a.nats_url, "nats_creds_file": a.nats_creds, "nats_ca_file": a.nats_ca}
        return Settings.from_env(**{k: v for k, v in given.items() if v})
    except ValueError as err:
        p.error(str(err))


def parse_ips(text: str) -> tuple[str, ...]:
    ips = tuple(i.strip() for i in text.split(",") if i.strip())
    for ip in ips:
        ipaddress.ip_address(ip)  # ValueError names it
    return ips


def add_network_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--node-ip", default="127.0.0.1",
                   help="the Node's InternalIP (other nodes route to its pods through it; "
                        "with vxlan, the tunnel's public IP)")
    p.add_argument("--pod-network", choices=(*POD_NETWORK_MODES, *POD_NETWORK_ALIASES),
                   default="host-gw", metavar="|".join(POD_NETWORK_MODES),
                   help="docker runtime: pods on a bridge of the node's podCIDR, with routes "
                        "to the other nodes' podCIDRs via their node IP (host-gw, the "
                        "default; alias host-routes; nodes on one L2 segment), or through a "
                        "VXLAN device (vxlan: any routed network, MTU 50 lower); or on "
                        "Docker's default bridge (none)")
    p.add_argument("--cluster-dns", default="", metavar="IP[,IP]",
                   help="nameservers of ClusterFirst pods (default: none; such pods then "
                        "use the host's DNS)")
    p.add_argument("--cluster-domain", default="cluster.local")
    p.add_argument("--resolv-conf", default="/etc/resolv.conf",
                   help="the host's resolver file that Default pods follow ('' for none)")


def parse_args(argv: list[str] | None = None) -> tuple[AgentConfig, str, float, Settings]:
    p = parser()
    p.add_argument("--node-name", required=True)
    p.add_argument("--pod-manifest-path", type=Path, default=None)
    p.add_argument("--root-dir", type=Path, default=None)
    p.add_argument("--max-parallel-sandbox-starts", type=int,
                   default=MAX_PARALLEL_SANDBOX_STARTS, metavar="N",
                   help="docker runtime: pod sandboxes started on the daemon at once "
                        f"(default {MAX_PARALLEL_SANDBOX_STARTS}; 0: no bound; agents sharing "
                        "one daemon should share this)")
    add_network_flags(p)
    a = p.parse_args(argv)
    if a.max_parallel_sandbox_starts < 0:
        p.error("--max-parallel-sandbox-starts must be 0 (no bound) or more")
    check_quantities(p, a)
    try:
        labels = parse_labels(a.node_labels)
        cluster_dns = parse_ips(a.cluster_dns)
        ipaddress.ip_address(a.node_ip)
    except ValueError as err:
        p.error(str(err))
    mode = pod_network_mode(a.pod_network)
    cfg = AgentConfig(
        node_name=a.node_name, cpu=a.cpu or machine_cpus(), memory=a.memory or machine_memory(),
        pods=a.pods, labels=labels, root_dir=a.root_dir or default_root(a.node_name),
        pod_manifest_path=a.pod_manifest_path, lease_renew_seconds=a.lease_renew_seconds,
        node_status_update_seconds=a.node_status_update_seconds,
        pod_resync_seconds=a.pod_resync_seconds, events=a.events or "normal",
        host_ip=a.node_ip, pod_network=mode, cluster_dns=cluster_dns,
        cluster_domain=a.cluster_domain.strip(".") or "cluster.local",
        resolv_conf=Path(a.resolv_conf) if a.resolv_conf else None,
        max_parallel_sandbox_starts=a.max_parallel_sandbox_starts,
        # the docker runtime without a pod network has no use for the podCIDR
        watch_pod_cidr=not (a.runtime == "docker" and mode == "none"))
    return cfg, a.runtime, a.sim_start_delay, settings_from(p, a)


def cleanup(argv: list[str]) -> int:
    """``jetkube-kubelet --cleanup``: remove every pod container, pod network, forward
    chain, VXLAN device and route that this cluster's Docker node agents made on this machine (the
    scope of ``$JETKUBE_DATA_DIR``), like ``kubeadm reset``; what ``kctl down --purge`` runs."""
    p = argparse.ArgumentParser(prog="jetkube-kubelet --cleanup")
    p.add_argument("--cleanup", action="store_true", required=True)
    p.add_argument("--scope", default=None, help="default: the scope of $JETKUBE_DATA_DIR")
    a = p.parse_args(argv)
    from jetkube.services.machinery.hostnet import default_scope

    from .runtimes.docker_purge import purge_scope

    scope = a.scope or default_scope()
    try:
        gone = purge_scope(scope)
    except Exception as err:  # docker unreachable, iptables refused: say so, no traceback
        print(f"cleanup of scope {scope} failed: {err}")
        return 1
    print(f"scope {scope}: removed " + ", ".join(f"{len(v)} {k}" for k, v in gone.items()))
    return 0


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--cleanup" in args:
        sys.exit(cleanup(args))
    cfg, runtime_name, start_delay, settings = parse_args(args)
    tune_gc()  # its pods are plain dicts: see runtime/_gc.py

    async def body(rt: ServiceRuntime) -> None:
        assert rt.nc is not None
        cfg.root_dir.mkdir(parents=True, exist_ok=True)
        runtime = make_runtime(runtime_name, node=cfg.node_name, clock=rt.clock,
                               sim_start_delay=start_delay, root_dir=cfg.root_dir,
                               pod_network=cfg.pod_network, node_ip=cfg.host_ip,
                               max_parallel_sandbox_starts=cfg.max_parallel_sandbox_starts)
        if isinstance(runtime, NodesAware) and cfg.pod_network != "none":
            runtime.watch_nodes(rt.informers.informer("nodes"))
        shared = Shared.create(rt.api, rt.clock, rt.informers.informer("services"))
        rt.informers.start()
        agent = new_agent(shared, cfg, runtime, pressure=machine_pressure(str(cfg.root_dir)))
        source = NodePodSource(NodePodStream(rt.nc), rt.api, rt.clock, agent,
                               on_object=shared.objects.changed,
                               resync_seconds=cfg.pod_resync_seconds)
        requests = await serve_node_requests(
            rt.nc, cfg.node_name, runtime, agent.find_container,
            stats=NodeStats(runtime, agent.running_containers, clock=rt.clock))
        try:
            await with_retries("node registration", agent.start, rt.clock)
            await with_retries("pod list", source.start, rt.clock)
            await asyncio.Event().wait()
        finally:
            with contextlib.suppress(Exception):
                await requests.unsubscribe()
            with contextlib.suppress(Exception):
                await source.stop()
            await agent.stop()
            await shared.status.stop()
            if agent.ctx.events.recorder is not None:
                await agent.ctx.events.recorder.flush()
            await runtime.close()

    # the resource names the node (run_service's own setup keeps a provider installed first)
    setup_telemetry("jetkube-kubelet", attributes={"k8s.node.name": cfg.node_name},
                    sample_ratio=settings.trace_sample_ratio)
    run_service("jetkube-kubelet", body, settings=settings,
                identity=node_identity(cfg.node_name))


if __name__ == "__main__":
    main()
