"""``kctl top node|pod``: CPU and memory use from the metrics API (metrics.k8s.io/v1beta1,
which jetkube's API server serves from the node agents' stats).

As kubectl's top: CPU in millicores (``250m``), memory in MiB (``72Mi``); for nodes also
the percentage of their allocatable (``--show-capacity``: of their capacity), a node
without metrics as ``<unknown>``; ``--containers`` a row per container, ``-A`` a
NAMESPACE column, ``--sort-by cpu|memory`` (largest first), ``-l`` a label selector.
Every cell is padded, the last one too, as kubectl's tab writer pads them.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from ..console import echo, echo_err
from ..context import Ctx
from ..errors import CliError

if TYPE_CHECKING:
    from jetkube.schemas.objects import Obj

METRICS = "/apis/metrics.k8s.io/v1beta1"


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "top", help="Display resource (CPU/memory) usage")
    subs = p.add_subparsers(dest="top_command", metavar="SUBCOMMAND", required=True)
    for names, func in ((("node", "nodes", "no"), run_node), (("pod", "pods", "po"), run_pod)):
        t = subs.add_parser(names[0], aliases=list(names[1:]),
                            help=f"Display resource (CPU/memory) usage of {names[1]}")
        t.add_argument("args", nargs="*", metavar="NAME")
        t.add_argument("-l", "--selector", help="label selector")
        t.add_argument("--sort-by", choices=["cpu", "memory"], help="largest first")
        t.add_argument("--no-headers", action="store_true", help="omit the header row")
        if func is run_pod:
            t.add_argument("-A", "--all-namespaces", action="store_true")
            t.add_argument("--containers", action="store_true", help="a row per container")
            t.add_argument("--field-selector", help="field selector of the pods")
        else:
            t.add_argument("--show-capacity", action="store_true",
                           help="percentages of capacity, not of allocatable")
        t.set_defaults(func=func)


def lines(headers: list[str], rows: list[list[str]], *, show_headers: bool) -> list[str]:
    """kubectl's tab writer with a tab after every cell: each padded to its widest + 3."""
    shown = ([headers] if show_headers else []) + rows
    widths = [max(6, max(len(r[i]) for r in shown) + 3) for i in range(len(headers))]
    return ["".join(c.ljust(widths[i]) for i, c in enumerate(r)) for r in shown]


def _usage(usage: Obj) -> tuple[int, int]:
    from jetkube.schemas.quantity import cpu_millis, to_bytes

    return cpu_millis(usage.get("cpu") or 0), to_bytes(usage.get("memory") or 0)


def _fetch(ctx: Ctx, path: str, names: list[str], params: dict[str, str]) -> list[Obj]:
    from jetkube.services.machinery.apimachinery.apierrors import ApiError

    try:
        if names:
            return [ctx.client.get(f"{path}/{n}") for n in names]
        return list(ctx.client.get(path, params).get("items") or [])
    except ApiError as e:
        if e.code == 404 and not names:
            raise CliError("Metrics API not available") from None
        raise


def run_node(ctx: Ctx) -> int:
    from jetkube.schemas.quantity import cpu_millis, to_bytes

    a = ctx.args
    params = {"labelSelector": a.selector} if a.selector else {}
    nodes = ([ctx.client.get(f"/api/v1/nodes/{n}") for n in a.args] if a.args else
             ctx.client.get("/api/v1/nodes", params).get("items") or [])
    metrics = {m["metadata"]["name"]: m for m in _fetch(ctx, f"{METRICS}/nodes", a.args, params)}
    rows: list[tuple[tuple[int, int], list[str]]] = []
    missing: list[list[str]] = []
    for node in nodes:
        name = str(node["metadata"]["name"])
        m = metrics.get(name)
        if m is None:
            missing.append([name] + ["<unknown>"] * 4)
            continue
        cpu, mem = _usage(m.get("usage") or {})
        status = node.get("status") or {}
        avail = (status.get("capacity") if a.show_capacity else status.get("allocatable")) or {}
        cpu_avail, mem_avail = cpu_millis(avail.get("cpu") or 0), to_bytes(avail.get("memory")
                                                                            or 0)
        rows.append(((cpu, mem), [name, f"{cpu}m", f"{int(cpu * 100 / cpu_avail) if cpu_avail else 0}%",
                                  f"{mem // (1024 * 1024)}Mi",
                                  f"{int(mem * 100 / mem_avail) if mem_avail else 0}%"]))
    if not rows and not missing:
        echo_err("No resources found")
        return 0
    if not rows:
        raise CliError("metrics not available yet")
    ordered = _sorted(rows, a.sort_by)
    for line in lines(["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"],
                      ordered + missing, show_headers=not a.no_headers):
        echo(line)
    return 0


def _sorted(rows: list[tuple[tuple[int, int], list[str]]], by: str | None) -> list[list[str]]:
    if by:
        rows = sorted(rows, key=lambda r: -r[0][0 if by == "cpu" else 1])
    return [r for _, r in rows]


def run_pod(ctx: Ctx) -> int:
    a = ctx.args
    params = {k: v for k, v in (("labelSelector", a.selector),
                                ("fieldSelector", a.field_selector)) if v}
    ns = None if a.all_namespaces else ctx.namespace
    path = f"{METRICS}/namespaces/{ns}/pods" if ns else f"{METRICS}/pods"
    if a.args:
        for n in a.args:  # a missing pod is the core 404, as kubectl reports it
            ctx.client.get(f"/api/v1/namespaces/{ctx.namespace}/pods/{n}")
    items = _fetch(ctx, path, a.args, params)
    if not items:
        echo_err("No resources found" if not ns else f"No resources found in {ns} namespace.")
        return 0
    headers = (["NAMESPACE"] if a.all_namespaces else []) + (
        ["POD", "NAME"] if a.containers else ["NAME"]) + ["CPU(cores)", "MEMORY(bytes)"]
    rows: list[tuple[tuple[int, int], list[str]]] = []
    for m in items:
        md = m.get("metadata") or {}
        lead = [str(md.get("namespace", ""))] if a.all_namespaces else []
        containers = m.get("containers") or []
        if a.containers:
            for c in containers:
                cpu, mem = _usage(c.get("usage") or {})
                rows.append(((cpu, mem), [*lead, str(md.get("name")), str(c.get("name")),
                                          f"{cpu}m", f"{mem // (1024 * 1024)}Mi"]))
            continue
        usages = [_usage(c.get("usage") or {}) for c in containers]
        cpu, mem = sum(u[0] for u in usages), sum(u[1] for u in usages)
        rows.append(((cpu, mem), [*lead, str(md.get("name")), f"{cpu}m",
                                  f"{mem // (1024 * 1024)}Mi"]))
    for line in lines(headers, _sorted(rows, a.sort_by), show_headers=not a.no_headers):
        echo(line)
    return 0
