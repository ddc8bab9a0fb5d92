"""The boundary between the node agent and a container runtime (like CRI).

The kubelet core (pod workers, probes, status, restart backoff) speaks only
this protocol; ``runtimes/docker.py`` runs real containers, ``runtimes/sim.py``
pretends (hollow nodes for scale).  Everything a runtime creates is labelled
with the pod's uid, namespace and name, the container's name and its attempt
(restart) number, so a restarted agent finds and adopts it.

Specs handed to a runtime are resolved: env values are plain strings (the
core resolved configMapKeyRef / secretKeyRef / fieldRef / envFrom), volumes
are host paths the core prepared, images are names the core has ensured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

LABEL_POD_UID = "io.jetkube.pod.uid"
LABEL_POD_NAME = "io.jetkube.pod.name"
LABEL_POD_NAMESPACE = "io.jetkube.pod.namespace"
LABEL_CONTAINER = "io.jetkube.container.name"
LABEL_ATTEMPT = "io.jetkube.container.attempt"
LABEL_KIND = "io.jetkube.kind"  # "sandbox" | "container"
LABEL_NODE = "io.jetkube.node"
ANNOTATION_CONTAINER_TYPE = "io.jetkube.container.type"  # "init" | "app" (ContainerSpec)

PullPolicy = Literal["Always", "IfNotPresent", "Never"]


class RuntimeError_(Exception):
    """A runtime operation failed; ``reason`` is Kubernetes' (e.g. ErrImagePull)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ImagePullError(RuntimeError_):
    """ErrImagePull / ErrImageNeverPull / InvalidImageName, with the daemon's message."""


@dataclass(frozen=True)
class PodRef:
    uid: str
    namespace: str
    name: str


@dataclass(frozen=True)
class Mount:
    host_path: str
    container_path: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """One container, resolved: what to run, with what, where."""

    name: str
    image: str
    command: list[str] | None = None  # entrypoint override (Kubernetes' command)
    args: list[str] | None = None
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    mounts: list[Mount] = field(default_factory=list)
    memory_limit_bytes: int | None = None
    cpu_limit_millis: int | None = None
    memory_request_bytes: int | None = None  # the sim runtime simulates usage from these
    cpu_request_millis: int | None = None
    run_as_user: int | None = None
    attempt: int = 0
    tty: bool = False
    stdin: bool = False
    # CRI's container annotations: the pod's, plus ``io.jetkube.container.type``
    # (``init`` / ``app``); the sim runtime reads its behaviour from them
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SandboxSpec:
    pod: PodRef
    hostname: str
    # the pod's resolv.conf, resolved by the core (resolvconf.py); all empty: the
    # runtime's default (the host's resolv.conf)
    dns_servers: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    dns_options: list[str] = field(default_factory=list)
    host_network: bool = False
    network: str | None = None  # the node's pod network (issue: networking); None: default
    ip: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)  # the pod's (CRI-like)
    # spec.hostAliases: (ip, hostnames), for the pod's /etc/hosts
    host_aliases: list[tuple[str, list[str]]] = field(default_factory=list)
    # with spec.subdomain, the pod's domain: <subdomain>.<namespace>.svc.<cluster domain>
    # (its /etc/hosts names it <hostname>.<domain> too, as the kubelet's does)
    domain: str = ""
    # spec.setHostnameAsFQDN with a domain: the sandbox's kernel hostname is the FQDN
    fqdn_hostname: bool = False

    @property
    def kernel_hostname(self) -> str:
        """The hostname the pod's processes see (the kubelet's GetNodenameForKernel)."""
        if self.fqdn_hostname and self.domain:
            return f"{self.hostname}.{self.domain}"
        return self.hostname[:63]


@dataclass(frozen=True)
class Sandbox:
    id: str
    pod: PodRef
    ip: str
    ready: bool = True


@dataclass(frozen=True)
class ContainerInfo:
    """What the runtime knows of one container (``list_containers`` / ``inspect``)."""

    id: str
    pod: PodRef
    name: str
    attempt: int
    image: str
    image_id: str
    state: Literal["created", "running", "exited", "unknown"]
    exit_code: int | None = None
    reason: str = ""  # Completed / Error / OOMKilled
    message: str = ""
    started_at: str | None = None  # RFC3339
    finished_at: str | None = None


@dataclass(frozen=True)
class ContainerStats:
    """One reading of a container's resource usage (``container_stats``, CRI's
    ContainerStats): cumulative counters, so usage rates come from two readings."""

    cpu_usage_ns: int  # CPU time used since the container started (all cores), nanoseconds
    working_set_bytes: int  # memory in use minus inactive file cache (what an OOM would keep)
    timestamp: float  # when it was read, seconds since the epoch


ExitHandler = Callable[[ContainerInfo], Awaitable[None] | None]

STDOUT, STDERR = 1, 2
"""The output channels of a :class:`StreamSession` (Kubernetes' stream ids)."""


class StreamSession(Protocol):
    """One interactive exec or attach (CRI's Exec/Attach streams): stdin in, output out.

    ``output()`` yields ``(STDOUT|STDERR, bytes)`` until the process's output ends (with a
    tty everything is STDOUT); ``exit_code()`` is then the process's code (attach: the
    container's, or None while it still runs)."""

    def output(self) -> AsyncIterator[tuple[int, bytes]]: ...

    async def write(self, data: bytes) -> None:
        """Write to the process's stdin (waits while the runtime's buffer is full)."""
        ...

    async def close_stdin(self) -> None:
        """End of input (the client closed stdin): the process reads EOF."""
        ...

    async def resize(self, width: int, height: int) -> None:
        """The client's terminal changed size (tty only)."""
        ...

    async def exit_code(self) -> int | None: ...

    async def close(self) -> None:
        """Detach and release everything (the process itself is the runtime's)."""
        ...


class Runtime(Protocol):
    name: str  # "docker" | "sim"

    async def version(self) -> str:
        """``docker://20.10.24`` style, for Node.status.nodeInfo.containerRuntimeVersion."""
        ...

    def on_exit(self, handler: ExitHandler) -> None:
        """Call ``handler`` whenever a container stops (no polling: docker events)."""
        ...

    async def ensure_image(self, image: str, policy: PullPolicy) -> str:
        """Pull if the policy asks; return the image id; raise ImagePullError."""
        ...

    async def run_sandbox(self, spec: SandboxSpec) -> Sandbox:
        """Create and start the pod's sandbox (owns the network namespace)."""
        ...

    async def remove_sandbox(self, sandbox_id: str) -> None: ...

    async def create_and_start(self, sandbox: Sandbox, spec: ContainerSpec) -> ContainerInfo:
        """Create a container joined to the sandbox's namespaces and start it."""
        ...

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """SIGTERM, then SIGKILL after the grace period."""
        ...

    async def remove_container(self, container_id: str) -> None: ...

    async def inspect(self, container_id: str) -> ContainerInfo: ...

    async def list_sandboxes(self) -> list[Sandbox]:
        """Every sandbox this node's agent created (by label), for adoption."""
        ...

    async def list_containers(self) -> list[ContainerInfo]:
        """Every container this node's agent created (by label), for adoption."""
        ...

    async def exec(self, container_id: str, command: list[str],
                   limit_s: float | None = None) -> tuple[int, bytes]:
        """Run a command in a container: exit code and combined output."""
        ...

    async def open_stream(self, container_id: str, command: list[str] | None, *,
                          stdin: bool, tty: bool) -> StreamSession:
        """An interactive session: run ``command`` in the container (exec), or attach to
        its main process when ``command`` is None (attach; ``tty`` is then the
        container's own)."""
        ...

    def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
             timestamps: bool = False) -> AsyncIterator[bytes]:
        """The container's output (stdout and stderr), streamed when following."""
        ...

    async def close(self) -> None: ...
