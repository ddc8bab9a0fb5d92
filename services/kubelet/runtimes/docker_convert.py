"""Pure translations between the runtime protocol and the Docker Engine API.

Names, labels, create parameters and the reading of ``docker inspect``
output live here (no I/O), so ``docker.py`` holds only the calls.
Containers are named as dockershim named them
(``k8s_<container>_<pod>_<namespace>_<uid>_<attempt>``, ``k8s_POD_...`` for
the sandbox), which keeps ``docker ps`` readable and names unique per pod.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from jetkube.schemas import format_time, parse_time

from ..runtime import (
    LABEL_ATTEMPT,
    LABEL_CONTAINER,
    LABEL_KIND,
    LABEL_NODE,
    LABEL_POD_NAME,
    LABEL_POD_NAMESPACE,
    LABEL_POD_UID,
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    PodRef,
    Sandbox,
    SandboxSpec,
)

KIND_SANDBOX = "sandbox"
KIND_CONTAINER = "container"
LABEL_SCOPE = "io.jetkube.scope"
LABEL_NETWORK = "io.jetkube.network"  # on a sandbox: the network its pod IP is on
LABEL_POD_IP = "io.jetkube.pod.ip"  # on a sandbox the agent wired: its address
RESOLV_CONF = "/etc/resolv.conf"
HOSTS = "/etc/hosts"
ANNOTATION_PREFIX = "annotation."

# docker's reference grammar (distribution/reference), enough to refuse what it would
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?/)?" + _COMPONENT + r"(?:/" + _COMPONENT + r")*"
    r"(?::[\w][\w.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$")


def explain(err: Exception) -> str:
    """What a docker SDK error says (the daemon's explanation when it gave one)."""
    return str(getattr(err, "explanation", None) or err)


def valid_reference(image: str) -> bool:
    return bool(_REFERENCE.match(image))


def split_reference(image: str) -> tuple[str, str]:
    """``repo[:tag][@digest]`` → (repository, tag or digest); the tag defaults to latest."""
    if "@" in image:
        repo, digest = image.split("@", 1)
        return repo, digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon + 1:]
    return image, "latest"


def normalize_reference(image: str) -> str:
    repo, tag = split_reference(image)
    return f"{repo}@{tag}" if ":" in tag else f"{repo}:{tag}"


def owner_labels(node: str, scope: str) -> dict[str, str]:
    """Whose containers these are: the node, within a scope (one cluster on this daemon)."""
    return {LABEL_NODE: node, LABEL_SCOPE: scope}


def pod_labels(owner: dict[str, str], pod: PodRef, kind: str) -> dict[str, str]:
    return {**owner, LABEL_POD_UID: pod.uid, LABEL_POD_NAMESPACE: pod.namespace,
            LABEL_POD_NAME: pod.name, LABEL_KIND: kind}


def annotation_labels(annotations: dict[str, str]) -> dict[str, str]:
    """CRI annotations kept as ``annotation.<key>`` labels (as dockershim kept them)."""
    return {f"{ANNOTATION_PREFIX}{k}": v for k, v in annotations.items()}


def container_labels(owner: dict[str, str], pod: PodRef, spec: ContainerSpec) -> dict[str, str]:
    return {**annotation_labels(spec.annotations), **pod_labels(owner, pod, KIND_CONTAINER),
            LABEL_CONTAINER: spec.name, LABEL_ATTEMPT: str(spec.attempt)}


def sandbox_name(pod: PodRef) -> str:
    return f"k8s_POD_{pod.name}_{pod.namespace}_{pod.uid}_0"


def container_name(pod: PodRef, spec: ContainerSpec) -> str:
    return f"k8s_{spec.name}_{pod.name}_{pod.namespace}_{pod.uid}_{spec.attempt}"


def node_filter(owner: dict[str, str], kind: str | None = None) -> dict[str, list[str]]:
    labels = [f"{k}={v}" for k, v in owner.items()]
    if kind:
        labels.append(f"{LABEL_KIND}={kind}")
    return {"label": labels}


def pod_of(labels: dict[str, str]) -> PodRef:
    return PodRef(labels.get(LABEL_POD_UID, ""), labels.get(LABEL_POD_NAMESPACE, ""),
                  labels.get(LABEL_POD_NAME, ""))


def rfc3339(ts: str | None) -> str | None:
    """Docker's RFC3339Nano (``0001-01-01T00:00:00Z`` meaning never) → metav1.Time."""
    t = parse_time(ts)
    return None if t is None or t.year == 1 else format_time(t)


def container_stats(stats: dict[str, Any], now: float) -> ContainerStats | None:
    """A ContainerStats from the Engine API's stats of one container (``/stats?stream=false``);
    None when the container is not running (no CPU counter, or the zero time as ``read``).

    CPU: ``cpu_stats.cpu_usage.total_usage``, cumulative nanoseconds on cgroup v1 and v2.
    Memory: the working set as the kubelet (cAdvisor) computes it, ``usage`` minus the
    inactive file cache (``total_inactive_file`` on cgroup v1, ``inactive_file`` on v2),
    never below zero.  ``read`` is when the daemon read them (``now`` if it says nothing).
    """
    cpu = ((stats.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
    read = parse_time(stats.get("read"))
    if not isinstance(cpu, int) or isinstance(cpu, bool) or (read is not None and read.year == 1):
        return None
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    usage = usage if isinstance(usage, int) else 0
    detail = memory.get("stats") or {}
    inactive = detail.get("total_inactive_file", detail.get("inactive_file"))
    working_set = usage - inactive if isinstance(inactive, int) else usage
    return ContainerStats(cpu_usage_ns=cpu, working_set_bytes=max(0, working_set),
                          timestamp=read.timestamp() if read is not None else now)


def _state(s: dict[str, Any]) -> Literal["created", "running", "exited", "unknown"]:
    status = s.get("Status", "")
    if status in ("running", "paused", "restarting"):
        return "running"
    if status in ("exited", "dead"):
        return "exited"
    if status == "created":
        return "created"
    return "unknown"


def container_info(attrs: dict[str, Any]) -> ContainerInfo:
    """A ContainerInfo from ``docker inspect`` output."""
    cfg = attrs.get("Config") or {}
    labels = cfg.get("Labels") or {}
    s = attrs.get("State") or {}
    state = _state(s)
    exit_code: int | None = None
    reason = ""
    if state == "exited":
        exit_code = int(s.get("ExitCode", 0))
        if s.get("OOMKilled"):
            reason = "OOMKilled"
        elif s.get("Error"):
            reason = "ContainerCannotRun"
        else:
            reason = "Completed" if exit_code == 0 else "Error"
    try:
        attempt = int(labels.get(LABEL_ATTEMPT, "0"))
    except ValueError:
        attempt = 0
    return ContainerInfo(
        id=str(attrs["Id"]), pod=pod_of(labels), name=labels.get(LABEL_CONTAINER, ""),
        attempt=attempt, image=str(cfg.get("Image", "")), image_id=str(attrs.get("Image", "")),
        state=state, exit_code=exit_code, reason=reason, message=str(s.get("Error") or ""),
        started_at=rfc3339(s.get("StartedAt")),
        finished_at=rfc3339(s.get("FinishedAt")) if state == "exited" else None)


def event_info(event: dict[str, Any]) -> ContainerInfo:
    """A ContainerInfo from a ``die`` event alone (the container is already gone)."""
    attrs = (event.get("Actor") or {}).get("Attributes") or {}
    code = int(attrs.get("exitCode", "0") or 0)
    try:
        attempt = int(attrs.get(LABEL_ATTEMPT, "0"))
    except ValueError:
        attempt = 0
    return ContainerInfo(
        id=str(event.get("id") or (event.get("Actor") or {}).get("ID", "")),
        pod=pod_of(attrs), name=attrs.get(LABEL_CONTAINER, ""), attempt=attempt,
        image=str(attrs.get("image", "")), image_id="", state="exited", exit_code=code,
        reason="Completed" if code == 0 else "Error")


def exit_info(event: dict[str, Any], started: ContainerInfo) -> ContainerInfo | None:
    """The container ``started`` (as it was started, so with its start time and image id)
    after the ``die`` event, as an inspect would read it; None when the event cannot tell:
    no exit code, no time, or 137 (SIGKILL: maybe the OOM killer, which only an inspect
    says), or nothing known of the start."""
    code = ((event.get("Actor") or {}).get("Attributes") or {}).get("exitCode")
    tn = int(event.get("timeNano") or 0)
    if (code is None or not str(code).lstrip("-").isdigit() or int(code) == 137 or not tn
            or not started.started_at or not started.image_id):
        return None
    finished = datetime.fromtimestamp(tn / 1_000_000_000, UTC)
    return replace(started, state="exited", exit_code=int(code),
                   reason="Completed" if int(code) == 0 else "Error", message="",
                   finished_at=format_time(finished))


def sandbox_of(attrs: dict[str, Any]) -> Sandbox:
    labels = (attrs.get("Config") or {}).get("Labels") or {}
    net = attrs.get("NetworkSettings") or {}
    networks = net.get("Networks") or {}
    ip = str(labels.get(LABEL_POD_IP) or  # wired by the agent (docker_wiring.py)
             (networks.get(labels.get(LABEL_NETWORK, "")) or {}).get("IPAddress") or "")
    for endpoint in networks.values():
        if ip:
            break
        if endpoint and endpoint.get("IPAddress"):
            ip = str(endpoint["IPAddress"])
    ip = ip or str(net.get("IPAddress") or "")
    if (attrs.get("HostConfig") or {}).get("NetworkMode") == "host":
        ip = "127.0.0.1"  # hostNetwork: the node's address (loopback here, as in sim)
    return Sandbox(id=str(attrs["Id"]), pod=pod_of(labels), ip=ip,
                   ready=_state(attrs.get("State") or {}) == "running")


def known_sandbox_ip(spec: SandboxSpec, network: str) -> str | None:
    """The address a started sandbox has without asking the daemon (as :func:`sandbox_of`
    would read it): hostNetwork's, or the one the agent wires; None: Docker IPAM's."""
    if network == "host":
        return "127.0.0.1"
    return str(spec.ip) if wired(spec, network) else None


def started_info(container_id: str, pod: PodRef, spec: ContainerSpec, image_id: str,
                 now: float) -> ContainerInfo:
    """A container just started, as ``container_info`` of its inspect would read it, from
    what made it (``now``: the time ``start`` returned, the daemon's StartedAt to the
    second but for one that falls between the two)."""
    return ContainerInfo(id=container_id, pod=pod, name=spec.name, attempt=spec.attempt,
                         image=spec.image, image_id=image_id, state="running",
                         started_at=format_time(datetime.fromtimestamp(now, UTC)))


def sandbox_network(spec: SandboxSpec, pod_network: str | None) -> str:
    """The sandbox's network mode: host, the spec's network, the node's pod network, or
    Docker's default bridge."""
    return "host" if spec.host_network else (spec.network or pod_network or "bridge")


def sandbox_params(owner: dict[str, str], spec: SandboxSpec, image: str,
                   network: str = "bridge") -> dict[str, Any]:
    """Keyword arguments for ``create_container`` (host config built by the caller)."""
    labels = {**annotation_labels(spec.annotations), **pod_labels(owner, spec.pod, KIND_SANDBOX)}
    if network not in ("host", "bridge", "none"):
        labels[LABEL_NETWORK] = network
    if wired(spec, network):
        labels[LABEL_NETWORK], labels[LABEL_POD_IP] = str(spec.network), str(spec.ip)
    params: dict[str, Any] = {"image": image, "name": sandbox_name(spec.pod), "hostname": None
                              if spec.host_network else spec.kernel_hostname, "labels": labels}
    if spec.domain and not spec.host_network:  # Docker's own hosts file names the FQDN then
        params["domainname"] = spec.domain
    return params


def wants_resolv_conf(spec: SandboxSpec) -> bool:
    """Does the pod have DNS settings of its own (else: the runtime's default)?"""
    return bool(spec.dns_servers or spec.dns_search or spec.dns_options)


def wired(spec: SandboxSpec, network: str) -> bool:
    """Is this a sandbox the agent wires itself (docker_wiring.py): no network of Docker's,
    an address and the node's network in the spec?"""
    return network == "none" and bool(spec.ip and spec.network) and not spec.host_network


def _resolv_mount(resolv_conf: str | None, hosts: str | None = None) -> list[Any]:
    from docker.types import Mount

    return [*([Mount(target=RESOLV_CONF, source=resolv_conf, type="bind")] if resolv_conf
              else []), *([Mount(target=HOSTS, source=hosts, type="bind")] if hosts else [])]


def sandbox_host_config(spec: SandboxSpec, network: str = "bridge",
                        resolv_conf: str | None = None,
                        hosts: str | None = None) -> dict[str, Any]:
    """``resolv_conf``: a host file holding the pod's resolv.conf, bind-mounted (exact,
    unlike Docker's ``dns=``, which goes through its embedded resolver on a user network);
    ``hosts``: the pod's /etc/hosts, for a sandbox the agent wires (docker_wiring.py)."""
    hc = {"network_mode": network, "ipc_mode": "shareable", "restart_policy": {"Name": "no"},
          "mounts": _resolv_mount(resolv_conf, hosts)}
    if hosts is None and spec.host_aliases:  # Docker writes this sandbox's hosts file, and
        # the pod's containers share it: the aliases as its extra lines
        hc["extra_hosts"] = [f"{name}:{ip}" for ip, names in spec.host_aliases
                             for name in names]
    return hc


def container_params(owner: dict[str, str], sandbox: Sandbox,
                     spec: ContainerSpec) -> dict[str, Any]:
    params: dict[str, Any] = {
        "image": spec.image, "name": container_name(sandbox.pod, spec),
        "labels": container_labels(owner, sandbox.pod, spec),
        "environment": [f"{k}={v}" for k, v in spec.env.items()],
        "tty": spec.tty, "stdin_open": spec.stdin,
    }
    if spec.command is not None:
        params["entrypoint"] = list(spec.command)
        params["command"] = list(spec.args or [])
    elif spec.args is not None:
        params["command"] = list(spec.args)
    if spec.working_dir:
        params["working_dir"] = spec.working_dir
    if spec.run_as_user is not None:
        params["user"] = str(spec.run_as_user)
    return params


def container_host_config(sandbox_id: str, spec: ContainerSpec,
                          resolv_conf: str | None = None,
                          hosts: str | None = None) -> dict[str, Any]:
    """``resolv_conf`` and ``hosts``: the pod's resolv.conf and /etc/hosts files (see
    sandbox_host_config), unless the spec mounts something of its own there."""
    from docker.types import LogConfig, Mount

    if any(m.container_path.rstrip("/") == RESOLV_CONF for m in spec.mounts):
        resolv_conf = None
    if any(m.container_path.rstrip("/") == HOSTS for m in spec.mounts):
        hosts = None
    hc: dict[str, Any] = {
        "network_mode": f"container:{sandbox_id}", "ipc_mode": f"container:{sandbox_id}",
        "restart_policy": {"Name": "no"},
        "mounts": [*(Mount(target=m.container_path, source=m.host_path, type="bind",
                           read_only=m.read_only) for m in spec.mounts),
                   *_resolv_mount(resolv_conf, hosts)],
        # like the kubelet's containerLogMaxSize / MaxFiles
        "log_config": LogConfig(type="json-file", config={"max-size": "10m", "max-file": "3"}),
    }
    if spec.memory_limit_bytes:
        hc["mem_limit"] = spec.memory_limit_bytes
        hc["memswap_limit"] = spec.memory_limit_bytes  # no swap beyond the limit
    if spec.cpu_limit_millis:
        hc["nano_cpus"] = spec.cpu_limit_millis * 1_000_000
    return hc
