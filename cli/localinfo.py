"""``kctl cluster-info``'s rows for a cluster started by ``kctl up`` on this machine.

What ``DIR/cluster.json`` records, checked live:

- each NATS node through its monitoring port: ``/healthz`` (JetStream ready), and, from
  ``/jsz``, which node leads the JetStream meta group and which leads the KV stream;
- each API server replica's ``/healthz`` (the kubeconfig names only the first);
- every other recorded process: alive or not, how many times the supervisor restarted
  it, and, for the leader-elected components, which replica holds the Lease (a holder
  identity is ``<host>_<pid>_<uuid>``, so the replica is found by its PID).

For any other cluster (the compose stack, say) only the leaders are known: the host name
in each Lease's holder identity (:func:`leader_rows`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from .plan import Plan
from .procs import ProcRecord, alive, is_ours
from .up import load_state

LEASES = {"controller-manager": "kube-controller-manager", "scheduler": "kube-scheduler"}
"""The Lease each leader-elected component takes (namespace kube-system)."""

Row = list[str]
GetLease = Callable[[str], dict[str, Any] | None]


@dataclass
class Probe:
    code: int | None
    body: str
    took: float

    @property
    def ok(self) -> bool:
        return self.code == 200

    def json(self) -> Any:
        try:
            return httpx.Response(200, content=self.body).json()
        except ValueError:
            return None


def probe(http: httpx.Client, url: str, params: dict[str, str] | None = None) -> Probe:
    t0 = time.monotonic()
    try:
        r = http.get(url, params=params)
        return Probe(r.status_code, r.text, time.monotonic() - t0)
    except httpx.HTTPError as e:
        return Probe(None, f"{e.__class__.__name__}: {e}", time.monotonic() - t0)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}ms"


def kv_stream_leader(http: httpx.Client, plan: Plan, healthy: list[int]) -> str | None:
    """The server name leading the KV stream (in the store's account), asked of a node
    that answers."""
    for i in healthy:
        j = probe(http, f"{plan.nats_node_monitor_url(i)}/jsz",
                  {"accounts": "true", "streams": "true"}).json() or {}
        for acc in j.get("account_details") or []:
            for s in acc.get("stream_detail") or []:
                if s.get("name") == f"KV_{plan.bucket}" and acc.get("name") != "BUS":
                    leader = (s.get("cluster") or {}).get("leader")
                    return str(leader) if leader else None
    return None


def nats_rows(http: httpx.Client, plan: Plan) -> tuple[list[Row], bool]:
    rows: list[Row] = []
    healthy: list[int] = []
    meta_leader = None
    for i in range(plan.nats_nodes):
        p = probe(http, f"{plan.nats_node_monitor_url(i)}/healthz")
        if p.ok:
            healthy.append(i)
            j = probe(http, f"{plan.nats_node_monitor_url(i)}/jsz").json() or {}
            meta_leader = meta_leader or (j.get("meta_cluster") or {}).get("leader")
        rows.append([f"nats-{i + 1}" if plan.ha else "nats (JetStream store)",
                     plan.nats_node_url(i), "healthy" if p.ok else "unhealthy", ms(p.took),
                     "" if p.ok else p.body.strip()[:80]])
    kv_leader = kv_stream_leader(http, plan, healthy) if plan.ha else None
    for i, row in enumerate(rows):
        if row[2] != "healthy":
            continue
        name = plan.nats_node_name(i)
        roles = [r for r, who in (("JetStream meta leader", meta_leader),
                                  (f"KV_{plan.bucket} leader", kv_leader)) if who == name]
        row[4] = ", ".join(roles) if roles else ("replica" if plan.ha else "JetStream ready")
    if plan.ha and len(healthy) * 2 <= plan.nats_nodes:
        rows.append(["nats (quorum)", "-", "unhealthy", "",
                     f"{len(healthy)} of {plan.nats_nodes} nodes answer: no quorum, the store "
                     "refuses writes"])
    return rows, len(healthy) == plan.nats_nodes


def leader_pid(lease: dict[str, Any] | None) -> int | None:
    """The PID in a holder identity ``<host>_<pid>_<uuid>`` (None: none, or another form)."""
    holder = str(((lease or {}).get("spec") or {}).get("holderIdentity") or "")
    parts = holder.rsplit("_", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def _process_row(rec: ProcRecord, leader: int | None) -> tuple[Row, bool]:
    up = alive(rec.pid) and is_ours(rec)
    note = [f"pid {rec.pid}"]
    if rec.component in LEASES:
        note.append("leader" if leader == rec.pid else "standby")
    if rec.restarts:
        note.append(f"restarts {rec.restarts}")
    note.append(f"log {rec.log}")
    return [rec.name, rec.endpoint or "-", "running" if up else "not running", "",
            ", ".join(note)], up


def _names(records: list[ProcRecord], component: str) -> list[tuple[int, str]]:
    return sorted((r.index, r.name) for r in records if r.component == component)


def leader_rows(get_lease: GetLease) -> list[Row]:
    """One row per leader-elected component whose Lease has a holder, naming the holder's
    host (``<host>_<pid>_<uuid>``; a container's host name names its replica)."""
    rows: list[Row] = []
    for component, lease in LEASES.items():
        holder = str(((get_lease(lease) or {}).get("spec") or {}).get("holderIdentity") or "")
        if holder:
            rows.append([component, f"lease kube-system/{lease}", "running", "",
                         f"leader {holder.split('_')[0]}"])
    return rows


def local_cluster_rows(kubeconfig_path: Path, server: str, get_lease: GetLease,
                       rows: list[Row]) -> bool:
    """Rows for a ``kctl up`` cluster whose data dir holds this kubeconfig (for any other
    cluster, :func:`leader_rows`); whether all of it is healthy."""
    state = load_state(kubeconfig_path.parent) if kubeconfig_path.parent.is_dir() else None
    if state is None or state.plan.api_url.rstrip("/") != server.rstrip("/"):
        rows += leader_rows(get_lease)
        return True
    plan = state.plan
    restarts = {r.name: r.restarts for r in state.processes if r.restarts}
    with httpx.Client(timeout=3.0, verify=plan.api_verify()) as http:
        nats, healthy = nats_rows(http, plan)
        for row, name in zip(nats, [n for _, n in _names(state.processes, "nats")],
                             strict=False):
            if name in restarts:
                row[4] = f"{row[4]}, restarts {restarts[name]}".lstrip(", ")
        rows += nats
        for rec in state.processes:
            if rec.component == "apiserver" and rec.index > 0:
                p = probe(http, f"{plan.api_url_of(rec.index)}/healthz")
                healthy &= p.ok
                rows.append([rec.name, plan.api_url_of(rec.index),
                             "healthy" if p.ok else "unhealthy", ms(p.took),
                             (p.body.strip()[:80] or f"HTTP {p.code}")
                             + (f", restarts {rec.restarts}" if rec.restarts else "")])
    leaders = {c: leader_pid(get_lease(lease)) for c, lease in LEASES.items()}
    for rec in state.processes:
        if rec.component in ("nats", "apiserver"):
            continue
        row, up = _process_row(rec, leaders.get(rec.component))
        healthy &= up
        rows.append(row)
    for s in state.skipped:
        rows.append([s["component"], "-", "not started", "", s["reason"]])
    return healthy
