"""``kctl expose``: a Service for a Deployment, ReplicaSet, ReplicationController, Pod
or Service.

As ``kubectl expose``: the object is read from the server; its pod selector
(``spec.selector.matchLabels``, a pod's labels, a service's selector) becomes
the Service's selector unless ``--selector`` is given; without ``--port`` the
ports come from the containers (a Service's own ports), one port unnamed,
several named ``port-1``, ``port-2``…, each with its container port's protocol
(kubectl would repeat a port served over TCP and UDP with one protocol, which
the server rejects; kctl keeps each port/protocol pair once); ``--target-port``
defaults to the port; the Service gets the object's labels unless ``-l`` is
given.  Errors are kubectl's ("couldn't find port via --port flag or
introspection").  ``--dry-run=client`` prints the Service instead of creating it.
"""

from __future__ import annotations

import argparse
from typing import Any

from jetkube.schemas.objects import Obj

from ..console import echo
from ..context import Ctx, Named, file_objects, targets
from ..discovery import ResourceInfo
from ..errors import CliError
from ..output import format_objects
from .create import send_created

# the kinds kubectl expose takes (core and apps groups)
EXPOSABLE = ("Deployment", "ReplicaSet", "ReplicationController", "Pod", "Service")
USAGE = "\nSee 'kctl expose -h' for help and examples"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "expose", help="Take a deployment, replica set, pod or service and expose it as a new "
        "Service")
    p.add_argument("args", nargs="*", metavar="(TYPE NAME | TYPE/NAME)",
                   help="deployment|deploy|replicaset|rs|pod|po|service|svc and a name")
    p.add_argument("-f", "--filename", action="append", default=[],
                   help="file, directory or - (stdin) naming the objects to expose")
    p.add_argument("-R", "--recursive", action="store_true")
    p.add_argument("--port", help="the port the service serves on (default: the object's "
                   "ports)")
    p.add_argument("--target-port", "--container-port", dest="target_port",
                   help="number or name of the port on the pods traffic goes to "
                   "(default: --port)")
    p.add_argument("--protocol", choices=["TCP", "UDP", "SCTP"],
                   help="the network protocol (default: the container port's, else TCP)")
    p.add_argument("--type", choices=["ClusterIP", "NodePort", "LoadBalancer"],
                   help="the service type (default ClusterIP)")
    p.add_argument("--name", help="the new service's name (default: the object's)")
    p.add_argument("--selector", help="k=v,... pod selector (default: the object's)")
    p.add_argument("-l", "--labels", help="k=v,... labels of the service (default: the "
                   "object's)")
    p.add_argument("--session-affinity", choices=["None", "ClientIP"])
    p.add_argument("--cluster-ip", help="a ClusterIP to ask for, or None for a headless "
                   "service")
    p.add_argument("--external-ip", help="an external IP address the service also answers on")
    p.add_argument("--load-balancer-ip", help="the IP to ask of a LoadBalancer")
    p.add_argument("--dry-run", choices=["none", "client", "server"], default="none",
                   help="client: only print the service that would be created")
    p.add_argument("-o", "--output", choices=["yaml", "json", "name"])
    p.set_defaults(func=run)


def parse_labels(spec: str) -> dict[str, str]:
    """kubectl's ``k=v,k2=v2`` (each part must have a key and an ``=``)."""
    out: dict[str, str] = {}
    for part in spec.split(","):
        k, sep, v = part.partition("=")
        if not sep or not k.strip():
            raise CliError(f"invalid label spec: {part}")
        out[k.strip()] = v.strip()
    return out


def _pod_spec(obj: Obj) -> Obj:
    spec = obj.get("spec") or {}
    if obj.get("kind") == "Pod":
        return dict(spec)
    return dict((spec.get("template") or {}).get("spec") or {})


def selector_of(obj: Obj) -> dict[str, str]:
    """The object's pod selector as a map, or kubectl's error saying why there is none."""
    kind = str(obj.get("kind"))
    spec = obj.get("spec") or {}
    if kind == "Pod":
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if not labels:
            raise CliError("the pod has no labels and cannot be exposed")
        return dict(labels)
    if kind in ("Service", "ReplicationController"):
        sel = spec.get("selector")
        if not sel:
            what = "the service has no pod selector set" if kind == "Service" else \
                "the replication controller has no selector set"
            raise CliError(what)
        return dict(sel)
    sel = spec.get("selector")
    if not sel:
        raise CliError(f"invalid {kind.lower()}: no selectors, therefore cannot be exposed")
    if sel.get("matchExpressions"):
        exprs = " ".join(f"{{Key:{e.get('key')} Operator:{e.get('operator')} "
                         f"Values:[{' '.join(e.get('values') or [])}]}}"
                         for e in sel["matchExpressions"])
        raise CliError(f"couldn't convert expressions - [{exprs}] to map-based selector format")
    return dict(sel.get("matchLabels") or {})


def ports_of(obj: Obj) -> list[tuple[int, str]]:
    """(port, protocol) of each container port (a service: of each of its ports), in order,
    each pair once."""
    if obj.get("kind") == "Service":
        raw = [(p.get("port"), p.get("protocol")) for p in (obj.get("spec") or {}).get("ports") or []]
    else:
        raw = [(p.get("containerPort"), p.get("protocol"))
               for c in _pod_spec(obj).get("containers") or [] for p in c.get("ports") or []]
    out: list[tuple[int, str]] = []
    for port, proto in raw:
        if isinstance(port, int) and (port, proto or "TCP") not in out:
            out.append((port, str(proto or "TCP")))
    return out


def _port_number(text: str, flag: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise CliError(f'invalid argument "{text}" for "{flag}" flag: must be a port '
                       "number") from None
    if not 1 <= n <= 65535:
        raise CliError(f"{flag}: {n} is not a valid port number (1-65535)")
    return n


def build_service(a: argparse.Namespace, obj: Obj) -> Obj:
    """The Service ``kubectl expose`` would create for ``obj`` with these flags."""
    md = obj.get("metadata") or {}
    if a.selector:
        selector = parse_labels(a.selector)
    else:
        try:
            selector = selector_of(obj)
        except CliError as e:
            raise CliError("couldn't retrieve selectors via --selector flag or introspection: "
                           f"{e.message}{USAGE}") from None
    if not selector:
        raise CliError("selector must be specified")
    headless = a.cluster_ip == "None"
    if a.port:
        number = _port_number(a.port, "--port")
        known = [proto for n, proto in ports_of(obj) if n == number]
        # kubectl: TCP unless the object serves this port number over other protocols only
        ports = [(number, a.protocol or ("TCP" if not known or "TCP" in known else known[0]))]
    else:
        ports = [(n, a.protocol or proto) for n, proto in ports_of(obj)]
        ports = list(dict.fromkeys(ports))  # --protocol may make two pairs one
        if not ports and not headless:
            raise CliError(f"couldn't find port via --port flag or introspection{USAGE}")
    target: int | str | None = None
    if a.target_port:
        target = int(a.target_port) if a.target_port.isdigit() else a.target_port
    svc_ports: list[Obj] = []
    for i, (port, proto) in enumerate(ports):
        sp: Obj = {}
        if len(ports) > 1:
            sp["name"] = f"port-{i + 1}"
        sp.update({"port": port, "protocol": proto,
                   "targetPort": target if target is not None else port})
        svc_ports.append(sp)
    labels = parse_labels(a.labels) if a.labels else dict(md.get("labels") or {})
    meta: Obj = {"name": a.name or md.get("name")}
    if md.get("namespace"):
        meta["namespace"] = md["namespace"]
    if labels:
        meta["labels"] = labels
    spec: Obj = {"ports": svc_ports, "selector": selector}
    if a.type:
        spec["type"] = a.type
    if a.cluster_ip:
        spec["clusterIP"] = a.cluster_ip
    if a.session_affinity:
        spec["sessionAffinity"] = a.session_affinity
    if a.external_ip:
        spec["externalIPs"] = [a.external_ip]
    if a.load_balancer_ip and a.type == "LoadBalancer":
        spec["loadBalancerIP"] = a.load_balancer_ip
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _objects(ctx: Ctx) -> list[Named]:
    found = file_objects(ctx, "expose")
    if found is None:
        found = [(info, ctx.object_namespace(info), n) for info, names in
                 targets(ctx, ctx.args.args, verb="expose", allow_no_names=False) for n in names]
    return found


def _check_kind(info: ResourceInfo) -> None:
    if info.kind not in EXPOSABLE or info.group not in ("", "apps"):
        group_kind = f"{info.kind}.{info.group}" if info.group else info.kind
        raise CliError(f"cannot expose a {group_kind}")


def run(ctx: Ctx) -> int:
    a = ctx.args
    objs = _objects(ctx)
    for info, _, _ in objs:
        _check_kind(info)
    svc_info = ctx.discovery.for_kind("v1", "Service")
    for info, ns, name in objs:
        obj = ctx.client.get(info.path(ns, name))
        obj.setdefault("kind", info.kind)
        svc = build_service(a, obj)
        ref = f"service/{svc['metadata']['name']}"
        if a.dry_run == "client":
            if a.output in ("yaml", "json"):
                echo(format_objects([svc], a.output, single=True))
            else:
                echo(ref if a.output == "name" else f"{ref} exposed (dry run)")
            continue
        send_created(ctx, svc_info.collection_path(ns), svc, ref, "exposed")
    return 0
