"""``kctl up`` / ``kctl down``: a whole cluster on this machine, from a data dir.

``up`` walks the component table (:mod:`jetkube.cli.components`): for each
installed component instance not already running it starts the process
detached, waits until it is healthy, and records it in ``DIR/cluster.json``
(ports, NATS url, pids).  It creates the admin token (``DIR/tokens.csv``) on
first run and writes ``DIR/kubeconfig``.  Running ``up`` on a cluster that is
up changes nothing.  ``down`` stops exactly the recorded processes (verified
through /proc) in reverse order; the NATS data (``DIR/nats``) stays, so the
next ``up`` finds every object again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from jetkube.services.machinery.apimachinery import ADMIN

from . import kubeconfig
from .clustersecrets import ensure_encryption_config, ensure_token
from .components import COMPONENTS, Component, network_problem, script
from .errors import CliError
from .plan import Plan
from .procs import ProcRecord, alive, exit_code, is_ours, now_iso, port_in_use, spawn, stop, tail
from .progress import Report, Step

STATE_FILE = "cluster.json"
LOCK_FILE = "cluster.lock"
SUPERVISOR = "supervisor"
_NETWORK_FIELDS = ("cluster_cidr", "service_cidr", "cluster_domain")


@dataclass
class State:
    plan: Plan
    processes: list[ProcRecord] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        p = self.plan
        return {
            "version": 1, "data_dir": str(p.data_dir), "host": p.host,
            "api_url": p.api_url, "api_port": p.api_port,
            "nats_url": p.nats_url, "nats_port": p.nats_port,
            "nats_monitor_url": p.nats_monitor_url, "nats_monitor_port": p.nats_monitor_port,
            "bucket": p.bucket, "nodes": p.nodes, "runtime": p.runtime,
            "cluster_cidr": p.cluster_cidr, "service_cidr": p.service_cidr,
            "cluster_domain": p.cluster_domain, "cluster_dns": p.cluster_dns,
            "ha": p.ha, "kv_replicas": p.kv_replicas, "nats_cluster_port": p.nats_cluster_port,
            "nats_sync": p.nats_sync, "pod_network": p.pod_network,
            "insecure_http": p.insecure_http, "api_advertise_address": p.api_advertise_address,
            "kubeconfig": str(p.kubeconfig), "token_file": str(p.token_file),
            "processes": [r.to_json() for r in self.processes],
            "skipped": self.skipped, "updated": now_iso(),
        }


def load_state(data_dir: Path) -> State | None:
    path = data_dir / STATE_FILE
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise CliError(f"cannot read {path}: {e}") from None
    plan = Plan(data_dir=data_dir, **_plan_fields(d))
    return State(plan, [ProcRecord.from_json(r) for r in d.get("processes", [])],
                 list(d.get("skipped", [])))


def _plan_fields(d: dict[str, Any]) -> dict[str, Any]:
    """The Plan fields recorded in ``d``, each as its default's type (missing: default)."""
    out: dict[str, Any] = {}
    for f in fields(Plan):
        if f.name == "data_dir" or d.get(f.name) in (None, ""):
            continue
        kind: Any = type(f.default)
        out[f.name] = bool(d[f.name]) if kind is bool else kind(d[f.name])
    return out


@contextlib.contextmanager
def state_lock(data_dir: Path) -> Iterator[None]:
    """Exclusive use of ``DIR/cluster.json`` (and of starting and stopping the processes
    it records): ``kctl up``, ``kctl down`` and the supervisor take turns."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def save_state(state: State) -> None:
    path = state.plan.data_dir / STATE_FILE
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n")
    os.replace(tmp, path)


def admin_nats(state: State | None) -> dict[str, Any]:
    """How kctl connects to the cluster's NATS (``connect`` keywords): as ``admin``, with
    its seed and the cluster CA (none for a cluster not started by kctl up)."""
    if state is None:
        return {}
    opts = state.plan.nats_client(ADMIN)
    return {k: v for k, v in opts.items() if v is not None}


def running(data_dir: Path) -> list[ProcRecord]:
    """The recorded processes of the cluster in ``data_dir`` that are still ours and alive."""
    state = load_state(data_dir)
    if state is None:
        return []
    return [r for r in state.processes if alive(r.pid) and is_ours(r)]


@dataclass
class UpResult:
    state: State
    started: list[ProcRecord]
    already_up: bool
    removed: list[Stopped] = field(default_factory=list)
    """Instances the new settings no longer plan (``--nodes 1`` on a 3-node cluster stops
    node-2's and node-3's agents), stopped last started first."""


def _wait_healthy(comp: Component, plan: Plan, rec: ProcRecord, timeout: float,
                  report: Report) -> None:
    started = time.monotonic()
    deadline = started + timeout
    problem: str | None = "not checked yet"
    grace = time.monotonic() + 0.5
    while True:
        if not alive(rec.pid):
            code = exit_code(rec.pid)
            how = f"exited with code {code}" if code is not None else "exited"
            raise CliError(f"{rec.name} {how} during start-up; see {rec.log}:\n"
                           f"{tail(Path(rec.log))}")
        if comp.health is None:
            problem = None if time.monotonic() >= grace else "starting"
        else:
            problem = comp.health(plan, rec.index)
        if problem is None:
            report(Step(rec.name, "healthy", seconds=time.monotonic() - started))
            return
        if time.monotonic() > grace:
            report(Step(rec.name, "waiting", detail=problem))
        if time.monotonic() > deadline:
            raise CliError(f"{rec.name} did not become healthy within {timeout:.0f}s "
                           f"({problem}); see {rec.log}:\n{tail(Path(rec.log))}\n"
                           "(the processes started so far keep running; `kctl down` stops them)")
        time.sleep(0.1)


_FIXED_WHILE_UP = ("host", "api_port", "insecure_http", "nats_port", "nats_monitor_port", "bucket", "ha",
                   "nats_cluster_port", "nats_sync", *_NETWORK_FIELDS)


def _quiet(step: Step) -> None:
    """The default report: nothing (the caller prints the outcome)."""


def up(data_dir: Path, overrides: dict[str, Any] | None = None, *,
       timeout: float = 60.0, report: Report = _quiet) -> UpResult:
    """Start whatever of the cluster in ``data_dir`` is not running yet, then the
    supervisor (:mod:`.supervisor`) that restarts what dies.

    Settings are the flags given (``overrides``, Plan field names), else what
    the last ``up`` recorded, else the defaults; ports, bucket, ``ha`` and networks
    (cluster CIDR, service CIDR, domain) cannot change while any of the
    cluster runs.  ``report`` hears each process start, wait and become healthy
    (:mod:`.progress`).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    with state_lock(data_dir):
        res = _up(data_dir, overrides, timeout, report)
    _supervise(res.state)
    return res


def _single_node_store(plan: Plan) -> bool:
    return (plan.data_dir / "nats" / "jetstream").is_dir()


def launch(rec: ProcRecord, plan: Plan) -> ProcRecord:
    """Start ``rec``'s command (its argv, log and own environment over the cluster's);
    the record of the new process."""
    env = {**plan.env(), **rec.env}
    pid, cmdline, ticks = spawn(rec.argv, log=Path(rec.log), env=env, cwd=plan.data_dir)
    return replace(rec, pid=pid, cmdline=cmdline, start_ticks=ticks, started=now_iso())


def _up(data_dir: Path, overrides: dict[str, Any] | None, timeout: float,
        report: Report) -> UpResult:
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    (data_dir / "logs").mkdir(exist_ok=True)
    prev = load_state(data_dir)
    live = [r for r in prev.processes if alive(r.pid) and is_ours(r)] if prev else []
    base = prev.plan if prev is not None else Plan(data_dir=data_dir)
    plan = replace(base, data_dir=data_dir, **overrides)
    problem = network_problem(plan)
    if problem:
        raise CliError(problem)
    if plan.ha and not base.ha and _single_node_store(plan):
        raise CliError(f"the store in {data_dir / 'nats'} is on one NATS node; --ha starts a "
                       "new three-node store: use another --data-dir (kctl store snapshot "
                       "save/restore moves objects between stores of one kind only)")
    if live:
        for f in _FIXED_WHILE_UP:
            if getattr(plan, f) != getattr(base, f):
                raise CliError(f"the cluster in {data_dir} is running with {f.replace('_', '-')}"
                               f" {getattr(base, f)}; stop it (kctl down) to change it")
    supervisor = [r for r in live if r.component == SUPERVISOR]  # kept: up() signals it
    live = [r for r in live if r.component != SUPERVISOR]
    removed = _stop_unplanned(plan, live, timeout, report)
    gone = {s.rec.name for s in removed}
    live = [r for r in live if r.name not in gone]
    live_by_name = {r.name: r for r in live}
    state = State(plan, list(supervisor))
    todo: list[tuple[Component, int, str]] = []
    for comp in COMPONENTS:
        reason = comp.available(plan)
        missing = False
        for i, name in comp.names(plan):
            if name in live_by_name:  # running stays recorded (so down stops it), available or not
                state.processes.append(live_by_name[name])
            elif reason is None:
                todo.append((comp, i, name))
            else:
                missing = True
        if reason is not None and (missing or not comp.names(plan)):
            state.skipped.append({"component": comp.name, "reason": reason})
    if "apiserver" in {s["component"] for s in state.skipped}:
        raise CliError(next(s["reason"] for s in state.skipped if s["component"] == "apiserver"))
    if not todo:
        if removed:
            save_state(state)
        return UpResult(state, [], already_up=not removed, removed=removed)
    live_ports = {port for comp in COMPONENTS for port in comp.ports(plan)
                  if any(r.component == comp.name for r in live)}
    for comp, _, name in todo:
        for port in comp.ports(plan):
            if port not in live_ports and port_in_use(plan.host, port):
                raise CliError(f"cannot start {name}: port {port} on {plan.host} is in use "
                               "(another cluster? choose others with --port / --nats-port / "
                               "--nats-monitor-port, or stop it with kctl down)")
    token = ensure_token(plan)
    ensure_encryption_config(plan)
    # imported here: the CA and nkey libraries cost every other kctl command ~70 ms
    from .bussecurity import adopt_open_store, ensure_bus_security

    nats_live = [r.pid for r in live if r.component == "nats"]
    if not nats_live and not plan.ha:
        adopt_open_store(plan)  # a data dir from before the store had its own account
    ensure_bus_security(plan, nats_pids=nats_live)
    from .pki import ensure_service_account_key

    ensure_service_account_key(plan.sa_key)
    ca_pem = None
    if not plan.insecure_http:
        from .pki import ensure_serving_cert

        ensure_serving_cert(plan.pki_dir, "apiserver", plan.api_hosts)
        ca_pem = plan.ca_file.read_bytes()
    kubeconfig.write_file(plan.kubeconfig, kubeconfig.new_config(server=plan.api_url, token=token,
                                                                 ca_pem=ca_pem))
    started: list[ProcRecord] = []
    for comp, i, name in todo:
        own: dict[str, str] = {}
        if comp.identity is not None:  # each process proves its own identity, no other
            own["JETKUBE_NATS_CREDS_FILE"] = str(plan.creds_file(comp.identity(i)))
        own.update(comp.env(plan))
        report(Step(name, "starting"))
        rec = launch(ProcRecord(component=comp.name, name=name, index=i, pid=0,
                                argv=comp.argv(plan, i), log=str(plan.logs / f"{name}.log"),
                                endpoint=comp.endpoint(plan, i), env=own), plan)
        state.processes.append(rec)
        state.processes.sort(key=lambda r: _order(r))
        save_state(state)
        started.append(rec)
        _wait_healthy(comp, plan, rec, timeout, report)
    save_state(state)
    return UpResult(state, started, already_up=False, removed=removed)


def _stop_unplanned(plan: Plan, live: list[ProcRecord], timeout: float,
                    report: Report) -> list[Stopped]:
    """Stop the running instances of table components that ``plan`` no longer has (a
    lower ``--nodes``): scaling a running cluster down, as up scales it up.  The Node
    objects stay (NotReady after the grace period, as when a machine leaves a real
    cluster); ``kubectl delete node`` removes them."""
    planned = {name for comp in COMPONENTS for _, name in comp.names(plan)}
    known = {comp.name for comp in COMPONENTS}
    surplus = [r for r in live if r.component in known and r.name not in planned]
    return [_stop(r, timeout, report) for r in sorted(surplus, key=_order, reverse=True)]


def _supervise(state: State) -> None:
    """Start the supervisor unless it runs; tell a running one to read the table again."""
    data_dir = state.plan.data_dir
    with state_lock(data_dir):
        current = load_state(data_dir)
        if current is None:
            return
        sup = next((r for r in current.processes if r.component == SUPERVISOR), None)
        if sup is not None and alive(sup.pid) and is_ours(sup):
            os.kill(sup.pid, signal.SIGHUP)
            state.processes = current.processes
            return
        current.processes = [r for r in current.processes if r.component != SUPERVISOR]
        rec = launch(ProcRecord(
            component=SUPERVISOR, name=SUPERVISOR, index=0, pid=0,
            argv=[sys.executable, "-m", "jetkube.cli.supervisor", str(data_dir)],
            log=str(current.plan.logs / f"{SUPERVISOR}.log"),
            endpoint="restarts what dies"), current.plan)
        current.processes.append(rec)
        save_state(current)
        state.processes = current.processes


def _order(rec: ProcRecord) -> tuple[int, int]:
    names = [c.name for c in COMPONENTS]
    pos = names.index(rec.component) if rec.component in names else len(names)
    return pos, rec.index


@dataclass
class Stopped:
    rec: ProcRecord
    outcome: str


def _stop(rec: ProcRecord, timeout: float, report: Report) -> Stopped:
    report(Step(rec.name, "stopping"))
    t0 = time.monotonic()
    outcome = stop(rec, timeout)
    report(Step(rec.name, "stopped", detail=outcome, seconds=time.monotonic() - t0))
    return Stopped(rec, outcome)


def down(data_dir: Path, *, timeout: float = 10.0, report: Report = _quiet) -> list[Stopped] | None:
    """Stop the recorded processes, the supervisor first, then last started first; None if
    nothing was recorded.  ``report`` hears each one stopping and stopped (a node agent
    takes a while: it stops its pods first)."""
    with state_lock(data_dir):
        state = load_state(data_dir)
        if state is None or not state.processes:
            return None
        out = []
        for rec in sorted(state.processes, key=_order, reverse=True):
            out.append(_stop(rec, timeout, report))
        state.processes = []
        save_state(state)
        return out


def purge(data_dir: Path, *, timeout: float = 120.0) -> list[str]:
    """Remove what the cluster's node agents and proxies left on this machine (pod
    containers, pod networks, forward and service chains, routes, the ClusterIP link),
    through the services' own ``--cleanup``; one line per command run."""
    state = load_state(data_dir)
    nodes = state.plan.nodes if state else 0
    env = {**os.environ, "JETKUBE_DATA_DIR": str(data_dir)}
    cmds: list[list[str]] = []
    if exe := script("jetkube-kubelet"):
        cmds.append([exe, "--cleanup"])
    if exe := script("jetkube-proxy"):
        ranges = ["--service-cidr", state.plan.service_cidr, "--cluster-cidr",
                  state.plan.cluster_cidr] if state else []  # else the proxy's defaults
        cmds += [[exe, "--cleanup", "--node-name", f"node-{i + 1}", *ranges]
                 for i in range(max(nodes, 1))]
    lines = []
    for cmd in cmds:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        what = (p.stdout + p.stderr).strip().splitlines()
        lines.append(f"{Path(cmd[0]).name} {' '.join(cmd[1:])}: "
                     f"{'ok' if p.returncode == 0 else f'exit {p.returncode}'}"
                     f"{' (' + what[-1] + ')' if what else ''}")
    return lines
