"""``kctl up``, ``kctl down`` and ``kctl node-credentials``: the command-line face of
:mod:`jetkube.cli.up` and :mod:`jetkube.cli.bussecurity`."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from ..console import echo, err, out
from ..context import Ctx
from ..errors import CliError
from ..kubeconfig import cluster_data_dir, default_data_dir
from ..progress import LiveProgress, for_terminal
from ..tables import render
from ..up import down, load_state, purge, running, up

DATA_DIR_HELP = ("the kctl up data dir (default: beside the kubeconfig in use when it holds a "
                 "cluster.json, else $JETKUBE_DATA_DIR or ~/.jetkube)")


def data_dir_arg(args: argparse.Namespace) -> Path:
    """``--data-dir``, else the data dir of the cluster the kubeconfig in use belongs to
    (:func:`~jetkube.cli.kubeconfig.cluster_data_dir`), for the commands that act on a
    running cluster (``down``, ``node-credentials``, ``trace``, ``store``)."""
    if args.data_dir:
        return Path(args.data_dir).expanduser().resolve()
    kubeconfig = getattr(args, "kubeconfig", None)
    return cluster_data_dir(kubeconfig if isinstance(kubeconfig, str) else None)


def up_data_dir_arg(args: argparse.Namespace) -> Path:
    """``kctl up``'s state directory: ``--data-dir``, else ``$JETKUBE_DATA_DIR`` or
    ``~/.jetkube`` (never guessed from a kubeconfig: ``up`` may create the cluster)."""
    return Path(args.data_dir).expanduser().resolve() if args.data_dir else default_data_dir()


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "up", help="Start a jetkube cluster on this machine (NATS, API server, ...)")
    p.add_argument("--data-dir", help="state directory (default $JETKUBE_DATA_DIR or ~/.jetkube)")
    p.add_argument("--nodes", type=int, help="node agents to run (default 1)")
    p.add_argument("--runtime", choices=["docker", "sim"], help="node agent runtime "
                   "(default docker)")
    p.add_argument("--port", type=int, help="API server port (default 6443)")
    p.add_argument("--nats-port", type=int, help="NATS client port (default 4222)")
    p.add_argument("--nats-monitor-port", type=int,
                   help="NATS monitoring (health) port (default 8222)")
    p.add_argument("--bucket", help="the KV bucket holding the objects (default jetkube)")
    p.add_argument("--cluster-cidr", help="IPv4 range of the pods; each node gets a /24 of it "
                   "(default 10.244.0.0/16)")
    p.add_argument("--service-cidr", help="IPv4 range of the Service ClusterIPs; the cluster DNS "
                   "is its 10th address (default 10.96.0.0/16)")
    p.add_argument("--cluster-domain", help="the cluster DNS domain (default cluster.local)")
    p.add_argument("--pod-network", choices=("host-gw", "vxlan", "none"),
                   help="how the node agents connect pods of different nodes: routes via "
                        "the node IPs (host-gw, the default), a VXLAN device per node "
                        "(vxlan), or not at all (none: Docker's default bridge)")
    p.add_argument("--ha", action="store_true", default=None,
                   help="high availability: three NATS nodes in one JetStream cluster (the "
                        "store at R3), two API servers, two controller-managers and two "
                        "schedulers; a data dir keeps it once it holds a store")
    p.add_argument("--kv-replicas", type=int, choices=(1, 3, 5),
                   help="replicas of the store and every stream (default 3 with --ha, else "
                        "1); an existing stream's replicas are never lowered")
    p.add_argument("--nats-cluster-port", type=int,
                   help="first NATS route port with --ha (default 6222; node i uses +i)")
    p.add_argument("--nats-sync", choices=("default", "always"),
                   help="when nats-server fsyncs: its default (every 2 minutes) or always "
                        "(before each acknowledgement); see docs/architecture.md, Durability")
    p.add_argument("--insecure-http", action="store_true", default=None,
                   help="serve the API over plain HTTP, not HTTPS (kubectl and the official "
                        "clients then send no token); kept by the data dir until given again "
                        "or --no-insecure-http")
    p.add_argument("--no-insecure-http", dest="insecure_http", action="store_false")
    p.add_argument("--bind-address", help="the address NATS and the API servers listen on "
                   "and are reached at (in their certificates); one address of this machine "
                   "that node agents elsewhere reach (default 127.0.0.1)")
    p.add_argument("--api-advertise-address", "--advertise-address",
                   help="the address pods reach the API servers on through the kubernetes "
                        "Service (listened on too; in the API certificate); default: Docker's "
                        "bridge gateway with --runtime docker, else the bind address")
    p.add_argument("--timeout", type=float, default=60.0,
                   help="seconds to wait for each component to become healthy")
    p.set_defaults(func=run_up, needs_cluster=False)

    d: argparse.ArgumentParser = sub.add_parser(
        "down", help="Stop the cluster kctl up started (its data stays)")
    d.add_argument("--data-dir", help=DATA_DIR_HELP)
    d.add_argument("--timeout", type=float, default=10.0,
                   help="seconds between SIGTERM and SIGKILL")
    d.add_argument("--purge", action="store_true",
                   help="also remove the pods' containers and this cluster's pod networks, "
                        "iptables chains, routes and ClusterIP link (the store data stays)")
    d.set_defaults(func=run_down, needs_cluster=False)

    n: argparse.ArgumentParser = sub.add_parser(
        "node-credentials", help="Admit one more node agent to the bus: its NATS seed file, "
                                 "and how to start it (here or on another machine)")
    n.add_argument("node", help="the node name (a DNS-1123 subdomain)")
    n.add_argument("--data-dir", help=DATA_DIR_HELP)
    n.set_defaults(func=run_node_credentials, needs_cluster=False)


def run_up(ctx: Ctx) -> int:
    a = ctx.args
    if a.nodes is not None and a.nodes < 0:
        raise CliError("--nodes must be 0 or more")
    overrides = {"api_port": a.port, "nats_port": a.nats_port,
                 "nats_monitor_port": a.nats_monitor_port, "bucket": a.bucket,
                 "nodes": a.nodes, "runtime": a.runtime, "cluster_cidr": a.cluster_cidr,
                 "service_cidr": a.service_cidr, "cluster_domain": a.cluster_domain,
                 "pod_network": a.pod_network, "ha": a.ha, "kv_replicas": a.kv_replicas,
                 "nats_cluster_port": a.nats_cluster_port, "nats_sync": a.nats_sync,
                 "insecure_http": a.insecure_http,
                 "api_advertise_address": a.api_advertise_address, "host": a.bind_address}
    progress = for_terminal()
    try:
        res = up(up_data_dir_arg(a), overrides, timeout=a.timeout, report=progress)
    finally:
        progress.close()
    st = res.state
    for gone in res.removed:
        echo(f"{gone.rec.name} (pid {gone.rec.pid}): {gone.outcome} (no longer planned: "
             f"--nodes {st.plan.nodes})")
    if res.already_up:
        echo(f"jetkube is already up (data dir {st.plan.data_dir}); nothing to do.")
    else:
        names = ", ".join(r.name for r in res.started)
        what = f"started {names}" if names else f"{len(res.removed)} stopped"
        echo(f"jetkube is up (data dir {st.plan.data_dir}); {what}.")
    rows = [[r.name, str(r.pid), r.endpoint or "-", r.log] for r in st.processes]
    for line in render(["COMPONENT", "PID", "ENDPOINT", "LOG"], rows):
        echo(line)
    for s in st.skipped:
        err().print(f"not started: {s['component']}: {s['reason']}", style="yellow")
    kc = st.plan.kubeconfig
    echo("")
    echo("To use it:")
    hint = path_hint(Path(sys.executable).parent, os.environ.get("PATH"))
    if hint:
        echo(f"  {hint}")
    echo(f"  export KUBECONFIG={kc}")
    echo("  kctl get nodes        # or the real kubectl, with the same kubeconfig:")
    echo("  kubectl get nodes")
    flag = "" if kc.parent == default_data_dir() else f" --data-dir {kc.parent}"
    echo(f"Stop it with: kctl down{flag}")
    return 0


def path_hint(bin_dir: Path, path: str | None) -> str | None:
    """The line that puts this kctl (and the venv's kubectl) on the shell's PATH, when
    ``kctl`` on ``path`` is not this one (scripts/up runs kctl with the caller's PATH);
    None when it is, or when there is no kctl script beside this Python."""
    ours = bin_dir / "kctl"
    if not ours.is_file():
        return None
    found = shutil.which("kctl", path=path)
    if found and Path(found).resolve() == ours.resolve():
        return None
    quoted = shlex.quote(str(bin_dir))
    line = (f'export PATH="{bin_dir}:$PATH"' if quoted == str(bin_dir)
            else f'export PATH={quoted}:"$PATH"')
    activate = bin_dir / "activate"
    also = f" (or: . {shlex.quote(str(activate))})" if activate.is_file() else ""
    return f"{line}   # puts kctl on your PATH{also}"


def run_down(ctx: Ctx) -> int:
    data_dir = data_dir_arg(ctx.args)
    progress = for_terminal()
    try:
        stopped = down(data_dir, timeout=ctx.args.timeout, report=progress)
    finally:
        progress.close()
    if stopped is None:
        echo(f"jetkube is not running (nothing recorded in {data_dir / 'cluster.json'}).")
    shown = isinstance(progress, LiveProgress) and sys.stdout.isatty()  # the table said it
    for s in [] if shown else stopped or []:
        style = "red" if s.outcome.startswith("left alone") else None
        out().print(f"{s.rec.name} (pid {s.rec.pid}): {s.outcome}", style=style)
    if ctx.args.purge:
        for line in purge(data_dir):
            echo(f"purge: {line}")
    if stopped is not None:
        echo(f"jetkube is down; its data stays in {data_dir} (kctl up starts it again).")
    return 0


_NODE_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def run_node_credentials(ctx: Ctx) -> int:
    data_dir = data_dir_arg(ctx.args)
    node = ctx.args.node
    if not _NODE_NAME.fullmatch(node) or len(node) > 253:
        raise CliError(f"{node!r} is not a valid node name (lowercase DNS-1123 subdomain)")
    state = load_state(data_dir)
    if state is None:
        raise CliError(f"no cluster in {data_dir} (start one with kctl up)")
    from jetkube.services.machinery.apimachinery import DNS, PROXY

    from ..bussecurity import mint_node_credentials  # CA and nkey libraries: only here

    nats_pids = [r.pid for r in running(data_dir) if r.component == "nats"]
    seed = mint_node_credentials(state.plan, node, nats_pids=nats_pids)
    plan = state.plan
    echo(f"node {node} may join the bus as node:{node} "
         f"({'nats-server reloaded' if nats_pids else 'admitted at the next kctl up'}).")
    echo(f"  seed (secret, 0600): {seed}")
    echo(f"  cluster CA:          {plan.ca_file}")
    echo(f"  NATS:                {plan.nats_url}")
    bus = f"--nats-url {plan.nats_url} --nats-ca {plan.ca_file}"
    echo("Start its node agent with (NODE_IP: that machine's address the others reach):")
    echo(f"  jetkube-kubelet --node-name {node} --runtime docker --node-ip NODE_IP "
         f"--pod-network {plan.pod_network} --cluster-dns {plan.cluster_dns} "
         f"--cluster-domain {plan.cluster_domain} {bus} --nats-creds {seed}")
    echo("and beside it the machine's service proxy and DNS (their seeds are the cluster's):")
    echo(f"  jetkube-proxy --node-name {node} --service-cidr {plan.service_cidr} "
         f"--cluster-cidr {plan.cluster_cidr} {bus} --nats-creds {plan.creds_file(PROXY)}")
    echo(f"  jetkube-dns --cluster-dns-ip {plan.cluster_dns} --cluster-domain "
         f"{plan.cluster_domain} {bus} --nats-creds {plan.creds_file(DNS)}")
    if _loopback(plan.host):
        echo("(on another machine: copy the seeds and the CA there; NATS listens on loopback "
             "only, so start the cluster with kctl up --bind-address <an address it reaches>)")
    else:
        echo("(on another machine: copy the seeds and the CA there)")
    return 0


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
