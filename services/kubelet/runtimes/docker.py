"""The Docker runtime: real containers through the Docker Engine API.

A pod is a sandbox container (``jetkube/pause:<version>``, built locally from busybox
when missing; never pulled) that owns the pod's network and IPC namespaces and hostname,
plus one container per spec container joined to it (``network_mode=container:<sandbox>``:
they share localhost).  Every container carries the labels of runtime.py, the node's name
and a scope (one per ``kctl up`` data dir), so node agents sharing a daemon each list,
adopt and hear only their own.  DOCKER_HOST (and DOCKER_TLS_VERIFY / DOCKER_CERT_PATH)
choose the daemon: Docker Engine, or Podman's compatible socket.

A pod's start and teardown are made on the event loop (docker_engine.py).  Its start is
five calls once its image is known (docker_pulls.ImageIds): the sandbox's create, start
and inspect (its PID, for the agent to wire it on the node's pod network:
docker_wiring.py, docker_ipam.py, docker_network.py) and the container's create and
start, whose ContainerInfo is made from its spec; a hostNetwork pod four (``docker run
-d`` twice).  At most ``max_parallel_sandbox_starts`` sandboxes start at once (the
daemon is faster so: config.MAX_PARALLEL_SANDBOX_STARTS).  Every other call (pulls,
stops, inspects, stats, exec, listings) goes through the docker SDK, blocking, on this
runtime's thread pool; streams (logs, exec output,
events) each have a reader thread (docker_streams.py).  One event stream per agent
(docker_events.py) carries the node's container exits (docker_exits.py) and the daemon's
image changes (docker_pulls.py), so nothing is polled.  Beside it: the sandbox
(docker_sandbox.py; this class inherits run_sandbox and remove_sandbox from
_docker_sandbox_ops.py), the containers (docker_containers.py), images
(docker_images.py), exec, logs and streams (docker_exec.py), the pure translations
(docker_convert.py), and ``purge_scope`` (docker_purge.py), which removes everything
one cluster made here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import math
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors

from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.hostnet import HostNet, default_scope

from ..config import MAX_PARALLEL_SANDBOX_STARTS
from ..podnet import PodNetworkMode
from ..runtime import (
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    ExitHandler,
    PullPolicy,
    RuntimeError_,
    Sandbox,
)
from . import docker_containers, docker_exec
from . import docker_convert as conv
from ._docker_sandbox_ops import SandboxOps
from .docker_convert import explain
from .docker_engine import Engine
from .docker_events import NodeEvents
from .docker_exits import Exits
from .docker_images import PAUSE_IMAGE
from .docker_network import DockerPodNetwork
from .docker_pulls import Images
from .docker_purge import purge_scope
from .docker_session import DockerSession, daemon_address
from .docker_streams import call_alone

log = logging.getLogger(__name__)
T = TypeVar("T")


class DockerRuntime(SandboxOps):
    """:class:`~..runtime.Runtime` on a Docker Engine (or Podman) daemon."""

    name = "docker"

    def __init__(self, node: str, *, client: Any = None, base_url: str | None = None,
                 pause_image: str = PAUSE_IMAGE, workers: int = 16,
                 pull_timeout: float = 300.0, scope: str | None = None,
                 pod_network: PodNetworkMode = "host-gw", root_dir: Path | None = None,
                 hostnet: HostNet | None = None, node_ip: str | None = None,
                 engine: Engine | None = None,
                 max_parallel_sandbox_starts: int = MAX_PARALLEL_SANDBOX_STARTS) -> None:
        self.node = node
        self.scope = scope if scope is not None else default_scope()
        self.owner = conv.owner_labels(node, self.scope)
        # per-pod files (resolv.conf) under <root>/pods/<uid>/, as the agent's volumes
        self.root_dir = root_dir or Path(tempfile.gettempdir()) / "jetkube-docker" / \
            self.scope / node
        self._client = client
        self._client_lock = threading.Lock()
        self._base_url = base_url
        self._pool_size = workers + 8
        self.pause_image = pause_image
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"docker-{node}")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        # one event stream: this node's container exits and the daemon's image changes
        self._events = NodeEvents(lambda: self.api, self.owner, f"docker-events-{node}")
        self._exits = Exits(self.inspect)
        self._events.on_exit(self._exits.deliver)
        self._images = Images(self._call, lambda: self.client, self._events, pull_timeout)
        self._pause_id: str | None = None
        self._engine = engine  # made on first use when not given (a test's: counted)
        self._sandbox_pods: dict[str, str] = {}  # sandbox id -> pod uid, of those seen
        self._sandbox_ips: dict[str, str] = {}  # sandbox id -> its address, of those seen
        self._sandbox_starts = (asyncio.Semaphore(max_parallel_sandbox_starts)
                                if max_parallel_sandbox_starts > 0 else None)
        self.network = DockerPodNetwork(self, pod_network, hostnet, public_ip=node_ip)

    # --- plumbing -------------------------------------------------------------

    @property
    def client(self) -> Any:
        """The docker SDK client, made on first use (it asks the daemon for its API
        version: a blocking call, so first used from the pool, never the loop)."""
        with self._client_lock:
            if self._client is None:
                self._client = (
                    docker.DockerClient(base_url=self._base_url, max_pool_size=self._pool_size)
                    if self._base_url else docker.from_env(max_pool_size=self._pool_size))
            return self._client

    @property
    def api(self) -> Any:
        return self.client.api

    async def engine(self) -> Engine:
        """The loop's client of the daemon (docker_engine.py), at the SDK client's address
        and API version (made first, on the pool: it asks the daemon its version)."""
        if self._engine is None:
            api = await self._call(lambda: self.api)
            version = str(getattr(api, "_version", "") or "")
            self._engine = self._engine or Engine(daemon_address(api),
                                                  f"/v{version}" if version else "")
        return self._engine

    async def _api(self, method: str, *args: Any, **kw: Any) -> Any:
        """``self.api.<method>(...)`` on the pool."""
        return await self._call(lambda: getattr(self.api, method)(*args, **kw))

    async def _call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        loop = asyncio.get_running_loop()
        self._loop = self._loop or loop
        if self._exits.handlers and not self._events.started:
            self._start_events(loop)
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kw))

    async def version(self) -> str:
        v = await self._api("version")
        engine = "podman" if any("podman" in str(c.get("Name", "")).lower()
                                 for c in v.get("Components") or []) else "docker"
        return f"{engine}://{v.get('Version', 'unknown')}"

    # --- exits, from the event stream (docker_exits.py) ---------------------------

    def on_exit(self, handler: ExitHandler) -> None:
        self._exits.add(handler)
        with contextlib.suppress(RuntimeError):
            self._start_events(asyncio.get_running_loop())

    def _start_events(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open the stream (for exits, and the image ids asked for from now on)."""
        if self._exits.handlers and not self._events.started:
            self._loop = loop
            self._events.start(loop)

    async def _events_started(self) -> None:
        """Make sure the event stream is open before a container can exit unheard."""
        if self._exits.handlers:
            self._start_events(asyncio.get_running_loop())
            await self._events.wait_ready()

    # --- images (docker_pulls.py) ----------------------------------------------

    async def ensure_image(self, image: str, policy: PullPolicy) -> str:
        return await self._images.ensure(image, policy)

    # --- the pod network (docker_network.py) ---------------------------------------

    def set_pod_cidr(self, cidr: str) -> None:
        """The Node's podCIDR: the node's pods go on a Docker network of that subnet."""
        self.network.set_pod_cidr(cidr)

    def watch_nodes(self, informer: Informer[dict[str, Any]]) -> None:
        """Follow every Node (forward rules and routes to the other nodes' pods)."""
        self.network.watch_nodes(informer)

    def node_annotations(self) -> dict[str, str | None]:
        """What the pod network publishes on the Node (None: remove the key)."""
        return self.network.node_annotations()

    # --- sandboxes: run_sandbox, remove_sandbox (_docker_sandbox_ops.py) -----------

    # --- containers (docker_containers.py) ----------------------------------------

    async def create_and_start(self, sandbox: Sandbox, spec: ContainerSpec) -> ContainerInfo:
        """The container as started (``running``); its exit, however soon, is reported by
        on_exit (``inspect`` tells the current truth)."""
        await self._events_started()
        engine = await self.engine()
        try:
            cid, created = await docker_containers.create(
                engine, self.api, self.owner, self.root_dir, sandbox, spec)
        except docker.errors.DockerException as err:
            raise RuntimeError_("CreateContainerError", explain(err)) from None
        try:
            attrs, now = await docker_containers.start(engine, cid, created)
        except docker.errors.DockerException as err:
            with contextlib.suppress(docker.errors.DockerException):
                await engine.remove_container(cid, force=True)
            raise RuntimeError_("RunContainerError", explain(err)) from None
        if attrs is None:
            info = conv.started_info(cid, sandbox.pod, spec, self._images.known(spec.image), now)
        else:
            info = conv.container_info(attrs)
        if info.state == "exited":  # it already ended: on_exit says so, once, as for any exit
            info = dataclasses.replace(info, state="running", exit_code=None, reason="",
                                       message="", finished_at=None)
        else:  # its die event needs no inspect (docker_exits.py)
            self._exits.started(info)
        return info

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """The image's stop signal (SIGTERM by default), SIGKILL after the grace."""
        grace = max(0, math.ceil(grace_seconds))
        try:
            # on a thread of its own: it may block for the whole grace period
            await call_alone(f"docker-{self.node}-stop",
                             lambda: self.api.stop(container_id, timeout=grace))
        except docker.errors.NotFound:
            return
        except docker.errors.DockerException as err:
            raise RuntimeError_("StopContainerError", explain(err)) from None

    async def remove_container(self, container_id: str) -> None:
        self._exits.removed(container_id)
        try:
            await (await self.engine()).remove_container(container_id, force=True,
                                                         volumes=True)
        except docker.errors.NotFound:
            return
        except docker.errors.DockerException as err:
            raise RuntimeError_("RemoveContainerError", explain(err)) from None

    async def inspect(self, container_id: str) -> ContainerInfo:
        try:
            attrs = await self._api("inspect_container", container_id)
        except docker.errors.NotFound:
            raise RuntimeError_("NotFound", f"no container {container_id}") from None
        return conv.container_info(attrs)

    async def container_stats(self, container_id: str) -> ContainerStats:
        """One reading of the container's CPU counter and working set (the daemon's one-shot
        stats: no wait for a second sample; an older daemon without one-shot takes ~1 s)."""
        try:
            raw = await self._call(lambda: docker_containers.read_stats(self.api, container_id))
        except docker.errors.NotFound:
            raise RuntimeError_("NotFound", f"no container {container_id}") from None
        except docker.errors.DockerException as err:
            raise RuntimeError_("StatsError", explain(err)) from None
        stats = conv.container_stats(raw if isinstance(raw, dict) else {}, time.time())
        if stats is None:
            raise RuntimeError_("NotFound", f"container {container_id} is not running")
        return stats

    async def _list(self, kind: str) -> list[dict[str, Any]]:
        return await self._call(lambda: docker_containers.list_inspected(self.api, self.owner,
                                                                         kind))

    async def list_sandboxes(self) -> list[Sandbox]:
        found = [conv.sandbox_of(a) for a in await self._list(conv.KIND_SANDBOX)]
        self._sandbox_pods.update((sb.id, sb.pod.uid) for sb in found)
        self._sandbox_ips.update((sb.id, sb.ip) for sb in found)
        return found

    async def list_containers(self) -> list[ContainerInfo]:
        return [conv.container_info(a) for a in await self._list(conv.KIND_CONTAINER)]

    # --- exec, logs and streams (docker_exec.py) -----------------------------------

    async def exec(self, container_id: str, command: list[str],
                   limit_s: float | None = None) -> tuple[int, bytes]:
        """Exit code and combined output (stdout+stderr, capped at 8 MiB); raises
        TimeoutError after ``limit_s`` (the process may linger: docker cannot kill an exec)."""
        return await docker_exec.run(self._api, lambda: self.api, container_id, command,
                                     limit_s)

    async def open_stream(self, container_id: str, command: list[str] | None, *,
                          stdin: bool, tty: bool) -> DockerSession:
        """An interactive exec (``command``) or attach (None): docker_session.py."""
        return await docker_exec.open_stream(self._api, lambda: self.api, container_id,
                                             command, stdin=stdin, tty=tty)

    async def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
                   timestamps: bool = False) -> AsyncIterator[bytes]:
        """stdout and stderr as they were written (one item per line or frame)."""
        async for chunk in docker_exec.logs(self._api, lambda: self.api, container_id,
                                            follow=follow, tail=tail, timestamps=timestamps):
            yield chunk

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._exits.close()
        await self._events.close()
        self._images.ids.clear()
        try:
            await self.network.close()
        except Exception as err:  # the daemon went away: purge_scope cleans up later
            log.warning("node %s: pod network clean-up failed: %s", self.node, err)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._engine is not None:
            await self._engine.close()
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()


__all__ = ["DockerRuntime", "purge_scope"]
