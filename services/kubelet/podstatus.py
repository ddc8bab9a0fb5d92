"""What a pod worker knows, and the PodStatus it shows the API.

:class:`ContainerState` is the worker's record of one container (its current
and previous runtime containers, restart count, waiting reason, readiness,
backoff).  :func:`build_status` turns a pod's records into ``status`` as the
kubelet writes it: phase (kubelet's ``getPhase``), conditions (PodScheduled,
PodReadyToStartContainers, Initialized, ContainersReady, Ready) keeping
``lastTransitionTime`` when a condition did not change, container statuses,
IPs, start time and QoS class.  Pure functions: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jetkube.schemas.objects import Obj, PodStatusDict
from jetkube.schemas.pod import qos_class

from .runtime import ContainerInfo, Sandbox

TERMINAL = ("Succeeded", "Failed")


@dataclass
class ContainerRecord:
    """What the pod worker tracks of one spec container between syncs (its status comes from it)."""

    name: str
    init: bool
    current: ContainerInfo | None = None  # the newest runtime container of this name
    previous: ContainerInfo | None = None  # the one before (lastState)
    restart_count: int = 0
    waiting: tuple[str, str] | None = None  # (reason, message) while not running
    ready: bool = False
    started: bool = False  # startup probe passed (or there is none)
    image_id: str = ""
    started_mono: float = 0.0
    exited_mono: float = 0.0
    backoff: float = 0.0  # the next restart delay once one was used (0: restart at once)
    pull_backoff: float = 0.0
    pull_retry_mono: float = 0.0
    kill_reason: str | None = None  # a probe asked for a restart
    old_ids: list[str] = field(default_factory=list)  # older runtime containers to remove

    @property
    def running(self) -> bool:
        return self.current is not None and self.current.state == "running"

    @property
    def exited(self) -> bool:
        return self.current is not None and self.current.state == "exited"

    @property
    def succeeded(self) -> bool:
        return self.exited and self.current is not None and self.current.exit_code == 0

    def ids(self) -> list[str]:
        out = list(self.old_ids)
        for c in (self.previous, self.current):
            if c is not None and c.id not in out:
                out.append(c.id)
        return out


def same_meta(a: Obj, b: Obj) -> bool:
    ma, mb = a.get("metadata") or {}, b.get("metadata") or {}
    return all(ma.get(k) == mb.get(k) for k in ("deletionTimestamp", "deletionGracePeriodSeconds",
                                                "labels", "annotations"))


def restarts(policy: str, exit_code: int | None) -> bool:
    return policy == "Always" or (policy == "OnFailure" and exit_code != 0)


def _terminated(info: ContainerInfo, runtime: str) -> Obj:
    t: Obj = {"exitCode": info.exit_code if info.exit_code is not None else 0,
              "reason": info.reason or ("Completed" if info.exit_code == 0 else "Error"),
              "startedAt": info.started_at, "finishedAt": info.finished_at,
              "containerID": f"{runtime}://{info.id}"}
    if info.message:
        t["message"] = info.message
    return {"terminated": {k: v for k, v in t.items() if v is not None}}


def container_status(spec: Obj, st: ContainerRecord, runtime: str, default_wait: str) -> Obj:
    cur = st.current
    last: Obj = {}
    if st.waiting is not None and not st.running:
        reason, message = st.waiting
        state: Obj = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        if cur is not None and cur.state == "exited":
            last = _terminated(cur, runtime)
        elif st.previous is not None:
            last = _terminated(st.previous, runtime)
    elif cur is not None and cur.state == "running":
        state = {"running": {"startedAt": cur.started_at}}
    elif cur is not None and cur.state == "exited":
        state = _terminated(cur, runtime)
    else:
        state = {"waiting": {"reason": default_wait}}
    if not last and st.previous is not None and (cur is None or cur.id != st.previous.id):
        last = _terminated(st.previous, runtime)
    out: Obj = {"name": st.name, "state": state, "lastState": last, "ready": st.ready,
                "restartCount": st.restart_count, "image": spec.get("image") or "",
                "imageID": st.image_id or (cur.image_id if cur else ""),
                "started": st.running and st.started}
    if cur is not None:
        out["containerID"] = f"{runtime}://{cur.id}"
    return out


def phase(pod: Obj, inits: list[ContainerRecord], apps: list[ContainerRecord]) -> str:
    """kubelet's getPhase over the worker's records."""
    policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
    pending_init = failed_init = 0
    for st in inits:
        if st.succeeded:
            continue
        pending_init += 1
        if (st.exited or (st.waiting and st.previous is not None)) and not st.running:
            failed_init += 1
    if failed_init and policy == "Never":
        return "Failed"
    running = waiting = stopped = succeeded = 0
    for st in apps:
        if st.running:
            running += 1
        elif st.exited and st.waiting is None:
            stopped += 1
            succeeded += st.succeeded
        elif st.waiting is not None and (st.exited or st.previous is not None):
            stopped += 1  # waiting to restart after it ran
        else:
            waiting += 1
    if pending_init or waiting:
        return "Pending"
    if running:
        return "Running"
    if stopped:
        if policy == "Always":
            return "Running"
        if stopped == succeeded:
            return "Succeeded"
        return "Failed" if policy == "Never" else "Running"
    return "Pending"


def _cond(ctype: str, ok: bool, old: dict[str, Obj], now: str, reason: str = "",
          message: str = "") -> Obj:
    status = "True" if ok else "False"
    prev = old.get(ctype)
    c: Obj = {"type": ctype, "status": status, "lastProbeTime": None,
              "lastTransitionTime": prev.get("lastTransitionTime") if prev and
              prev.get("status") == status and prev.get("lastTransitionTime") else now}
    if not ok and reason:
        c["reason"] = reason
        if message:
            c["message"] = message
    return c


_MINE = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady")


def conditions(pod: Obj, last: PodStatusDict | None, sandbox_ready: bool, inits: list[ContainerRecord],
               apps: list[ContainerRecord], ph: str, now: str) -> list[Obj]:
    old = {c.get("type"): c for c in (pod.get("status") or {}).get("conditions") or ()}
    # ours as we last computed them (the API's copy may lag behind our own last write)
    old.update({c["type"]: c for c in (last or {}).get("conditions") or () if c["type"] in _MINE})
    not_init = [s.name for s in inits if not s.succeeded]
    unready = [s.name for s in apps if not s.ready]
    terminal = ph in TERMINAL
    initialized = not not_init or terminal
    cready = not unready and not terminal
    gates = [g.get("conditionType") for g in (pod.get("spec") or {}).get("readinessGates") or ()]
    gates_ok = all((old.get(g) or {}).get("status") == "True" for g in gates)
    creason, cmsg = ("PodCompleted", "") if terminal else (
        "ContainersNotReady", f"containers with unready status: [{' '.join(unready)}]")
    out = [
        _cond("PodReadyToStartContainers", sandbox_ready, old, now),
        _cond("Initialized", initialized, old, now, "ContainersNotInitialized",
              f"containers with incomplete status: [{' '.join(not_init)}]"),
        _cond("Ready", cready and gates_ok, old, now,
              creason if not cready else "ReadinessGatesNotReady",
              cmsg if not cready else "corresponding condition of pod readiness gate "
              f"{gates!r} does not exist or is False"),
        _cond("ContainersReady", cready, old, now, creason, cmsg),
    ]
    sched = old.get("PodScheduled") or {"type": "PodScheduled", "status": "True",
                                        "lastProbeTime": None, "lastTransitionTime": now}
    out.append(sched)
    mine = {c["type"] for c in out}
    out += [c for t, c in old.items() if t not in mine]  # readiness gates, DisruptionTarget…
    for c in out:
        c.pop("lastProbeTime", None)
    return out


def build_status(pod: Obj, last: PodStatusDict | None, sandbox: Sandbox | None,
                 inits: list[ContainerRecord], apps: list[ContainerRecord], *, runtime: str,
                 host_ip: str, start_time: str, now: str,
                 failed: tuple[str, str] | None = None) -> PodStatusDict:
    """``pod``: as the API holds it; ``last``: the status this worker computed last."""
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    ph = "Failed" if failed is not None else phase(pod, inits, apps)
    init_specs = {c["name"]: c for c in spec.get("initContainers") or ()}
    app_specs = {c["name"]: c for c in spec.get("containers") or ()}
    initializing = any(not s.succeeded for s in inits)
    status: PodStatusDict = {
        "phase": ph,
        "conditions": conditions(pod, last, sandbox is not None and sandbox.ready, inits, apps,
                                 ph, now),
        "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
        "startTime": old.get("startTime") or start_time,
        "qosClass": old.get("qosClass") or qos_class(spec),
        "containerStatuses": [container_status(app_specs.get(s.name, {}), s, runtime,
                                               "PodInitializing" if initializing
                                               else "ContainerCreating") for s in apps],
    }
    if inits:
        status["initContainerStatuses"] = [
            container_status(init_specs.get(s.name, {}), s, runtime, "PodInitializing")
            for s in inits]
    if sandbox is not None and sandbox.ip:
        status["podIP"] = sandbox.ip
        status["podIPs"] = [{"ip": sandbox.ip}]
    elif old.get("podIP"):
        status["podIP"], status["podIPs"] = old["podIP"], old.get("podIPs") or [
            {"ip": old["podIP"]}]
    if failed is not None:
        status["reason"], status["message"] = failed
    if "nominatedNodeName" in old:
        status["nominatedNodeName"] = old["nominatedNodeName"]
    if "resize" in old:
        status["resize"] = old["resize"]
    return status
