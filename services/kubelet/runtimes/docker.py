"""The Docker runtime: real containers through the Docker Engine API (docker SDK).

A pod is a sandbox container (``jetkube/pause:<version>``, built locally
from busybox when missing; never pulled) that owns the pod's network and IPC
namespaces and hostname, plus one container per spec container joined to it
with ``network_mode=container:<sandbox>`` (they share localhost).  Every
container carries the labels of runtime.py and the node's name, so several
node agents can share one daemon and each lists, adopts and hears only its
own (a scope label, one per ``kctl up`` data dir, keeps two clusters' ``node-1``
apart).  DOCKER_HOST (and DOCKER_TLS_VERIFY / DOCKER_CERT_PATH) choose the
daemon: Docker Engine, or Podman's compatible socket.

Every SDK call is blocking and runs on this runtime's own thread pool, never
on the event loop; streams (logs, exec output, events) each have a reader
thread (docker_streams.py).  Container exits come from the daemon's event
stream (``die`` events filtered by the node label), read by one thread that
reconnects from the last event's time, so nothing is polled.  The node's pods
sit on a Docker network of its podCIDR (docker_network.py); ``purge_scope``
removes everything one cluster made on this machine.

A pod costs the daemon five calls once its image is known (docker_images.ImageIds):
the sandbox's create, start and inspect (its address) and the container's create
and start, whose ContainerInfo is made from its spec (``docker run -d`` twice is
four); a hostNetwork pod four.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import inspect
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

from ..podnet import PodNetworkMode
from ..runtime import (
    LABEL_KIND,
    ContainerInfo,
    ContainerSpec,
    ContainerStats,
    ExitHandler,
    ImagePullError,
    PullPolicy,
    RuntimeError_,
    Sandbox,
    SandboxSpec,
)
from . import docker_convert as conv
from . import docker_sandbox
from .docker_events import EventReader
from .docker_images import PAUSE_IMAGE, ImageIds, ensure_pause_image, image_id_of, pull
from .docker_network import (
    DockerPodNetwork,
    PodNetworkError,
    pod_resolv_conf,
    purge_scope,
    remove_resolv_conf,
    write_resolv_conf,
)
from .docker_session import DockerSession, open_session
from .docker_streams import stream_in_thread

log = logging.getLogger(__name__)
T = TypeVar("T")

NO_REGISTRY = ("no image registry is reachable from this machine: build the image locally "
               "(e.g. docker import of a rootfs tarball) and use imagePullPolicy "
               "IfNotPresent or Never")
MAX_EXEC_OUTPUT = 8 * 1024 * 1024


def _explain(err: Exception) -> str:
    return str(getattr(err, "explanation", None) or err)


class DockerRuntime:
    """:class:`~..runtime.Runtime` on a Docker Engine (or Podman) daemon."""

    name = "docker"

    def __init__(self, node: str, *, client: Any = None, base_url: str | None = None,
                 pause_image: str = PAUSE_IMAGE, workers: int = 16,
                 pull_timeout: float = 300.0, scope: str | None = None,
                 pod_network: PodNetworkMode = "host-gw", root_dir: Path | None = None,
                 hostnet: HostNet | None = None, node_ip: str | None = None) -> None:
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
        self.pull_timeout = pull_timeout
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"docker-{node}")
        self._handlers: list[ExitHandler] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False
        self._events = EventReader(
            lambda: self.api, {**conv.node_filter(self.owner), "type": ["container"], "event": ["die"]},
            f"docker-events-{node}", self._on_event)
        self._tasks: set[asyncio.Task[None]] = set()
        self._pulls: dict[str, asyncio.Future[str]] = {}
        self._images = ImageIds(lambda: self.api, f"docker-images-{node}")
        self._pause_id: str | None = None
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

    async def _api(self, method: str, *args: Any, **kw: Any) -> Any:
        """``self.api.<method>(...)`` on the pool."""
        return await self._call(lambda: getattr(self.api, method)(*args, **kw))

    async def _call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        loop = asyncio.get_running_loop()
        self._loop = self._loop or loop
        if self._handlers and not self._events.started:
            self._start_events(loop)
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kw))

    async def version(self) -> str:
        v = await self._api("version")
        engine = "podman" if any("podman" in str(c.get("Name", "")).lower()
                                 for c in v.get("Components") or []) else "docker"
        return f"{engine}://{v.get('Version', 'unknown')}"

    # --- exits, from the event stream ----------------------------------------

    def on_exit(self, handler: ExitHandler) -> None:
        self._handlers.append(handler)
        with contextlib.suppress(RuntimeError):
            self._start_events(asyncio.get_running_loop())

    def _start_events(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._handlers and not self._events.started:
            self._loop = loop
            self._events.start(loop)
            self._images.start(loop)  # open before the first pod asks for its image

    async def _events_started(self) -> None:
        """Make sure the event stream is open before a container can exit unheard."""
        if self._handlers:
            self._start_events(asyncio.get_running_loop())
            await self._events.wait_ready()

    def _on_event(self, ev: dict[str, Any]) -> None:
        attrs = (ev.get("Actor") or {}).get("Attributes") or {}
        if attrs.get(LABEL_KIND) != conv.KIND_CONTAINER or self._closing:
            return
        task = asyncio.get_running_loop().create_task(self._dispatch(ev))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _dispatch(self, ev: dict[str, Any]) -> None:
        try:
            info = await self.inspect(str(ev.get("id", "")))
        except RuntimeError_:
            info = conv.event_info(ev)  # removed already: what the event says
        for handler in list(self._handlers):
            try:
                result = handler(info)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("exit handler failed for container %s", info.id[:12])

    # --- images ---------------------------------------------------------------

    async def ensure_image(self, image: str, policy: PullPolicy) -> str:
        if not conv.valid_reference(image):
            raise ImagePullError("InvalidImageName", f'Failed to apply default image tag '
                                 f'"{image}": couldn\'t parse image reference "{image}": '
                                 "invalid reference format")
        ref = conv.normalize_reference(image)
        if policy != "Always":
            image_id = self._images.get(ref)
            if image_id is None:
                await self._images.ready(asyncio.get_running_loop())
                token = self._images.token()
                image_id = await self._call(lambda: image_id_of(self.client, ref))
                if image_id:
                    self._images.keep(ref, image_id, token)
            if image_id:
                return image_id
            if policy == "Never":
                raise ImagePullError("ErrImageNeverPull", f'Container image "{image}" is not '
                                     "present with pull policy of Never")
        pending = self._pulls.get(ref)
        if pending is None:  # one pull per image, however many pods wait for it
            pending = asyncio.ensure_future(self._pull(image, ref))
            self._pulls[ref] = pending
            pending.add_done_callback(lambda _: self._pulls.pop(ref, None))
        return await asyncio.shield(pending)

    async def _pull(self, image: str, ref: str) -> str:
        try:
            return await asyncio.wait_for(self._call(lambda: pull(self.client, ref)),
                                        self.pull_timeout)
        except TimeoutError:
            msg = f"timed out after {self.pull_timeout:.0f}s"
        except docker.errors.DockerException as err:
            msg = _explain(err)
            if "invalid reference format" in msg:
                raise ImagePullError("InvalidImageName", msg) from None
        raise ImagePullError("ErrImagePull", f'Failed to pull image "{image}": {msg} '
                             f"({NO_REGISTRY})")

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

    # --- sandboxes --------------------------------------------------------------

    def _run_sandbox_blocking(self, spec: SandboxSpec, network: str | None) -> Sandbox:
        if self._pause_id is None:
            self._pause_id = ensure_pause_image(self.client, self.pause_image)
        return docker_sandbox.run(
            self.api, self.owner, spec, conv.sandbox_network(spec, network), self.pause_image,
            write_resolv_conf(self.root_dir, spec),
            lambda: ensure_pause_image(self.client, self.pause_image))

    async def run_sandbox(self, spec: SandboxSpec) -> Sandbox:
        try:
            network = await self.network.network_for(spec)
            return await self._call(self._run_sandbox_blocking, spec, network)
        except (docker.errors.DockerException, PodNetworkError, OSError) as err:
            raise RuntimeError_("CreatePodSandboxError",
                                f"failed to start the sandbox of pod {spec.pod.namespace}/"
                                f"{spec.pod.name}: {_explain(err)}") from None

    def _remove_sandbox_blocking(self, sandbox_id: str) -> None:
        uid = docker_sandbox.remove(self.api, self.owner, sandbox_id)
        if uid:
            remove_resolv_conf(self.root_dir, uid)

    async def remove_sandbox(self, sandbox_id: str) -> None:
        """Remove the sandbox and, forcibly, any container of its pod still there."""
        await self._call(self._remove_sandbox_blocking, sandbox_id)

    # --- containers -------------------------------------------------------------

    def _create_blocking(self, sandbox: Sandbox, spec: ContainerSpec) -> tuple[str, bool]:
        """The container's id, and whether this call created it."""
        params = conv.container_params(self.owner, sandbox, spec)
        hc = self.api.create_host_config(**conv.container_host_config(
            sandbox.id, spec, pod_resolv_conf(self.root_dir, sandbox.pod.uid)))
        try:
            return str(self.api.create_container(host_config=hc, **params)["Id"]), True
        except docker.errors.APIError as err:
            if err.status_code != 409:
                raise
        old = self.api.inspect_container(params["name"])  # this attempt exists already
        if old["State"]["Status"] in ("created", "running"):
            return str(old["Id"]), False
        self.api.remove_container(old["Id"], force=True)
        return str(self.api.create_container(host_config=hc, **params)["Id"]), True

    def _start_blocking(self, cid: str, created: bool) -> tuple[dict[str, Any] | None, float]:
        """Start; the container's inspect when this call did not create it (else None:
        its spec says it all), and when ``start`` returned."""
        self.api.start(cid)  # a running container answers 304: fine
        now = time.time()
        return (None if created else dict(self.api.inspect_container(cid))), now

    async def create_and_start(self, sandbox: Sandbox, spec: ContainerSpec) -> ContainerInfo:
        """The container as started (``running``); its exit, however soon, is reported by
        on_exit (``inspect`` tells the current truth)."""
        await self._events_started()
        try:
            cid, created = await self._call(self._create_blocking, sandbox, spec)
        except docker.errors.DockerException as err:
            raise RuntimeError_("CreateContainerError", _explain(err)) from None
        try:
            attrs, now = await self._call(self._start_blocking, cid, created)
        except docker.errors.DockerException as err:
            with contextlib.suppress(docker.errors.DockerException):
                await self._api("remove_container", cid, force=True)
            raise RuntimeError_("RunContainerError", _explain(err)) from None
        if attrs is None:
            image_id = self._images.get(conv.normalize_reference(spec.image)) or ""
            return conv.started_info(cid, sandbox.pod, spec, image_id, now)
        info = conv.container_info(attrs)
        if info.state == "exited":  # it already ended: on_exit says so, once, as for any exit
            info = dataclasses.replace(info, state="running", exit_code=None, reason="",
                                       message="", finished_at=None)
        return info

    async def stop_container(self, container_id: str, grace_seconds: float) -> None:
        """The image's stop signal (SIGTERM by default), SIGKILL after the grace."""
        try:
            await self._api("stop", container_id,
                             timeout=max(0, math.ceil(grace_seconds)))
        except docker.errors.NotFound:
            return
        except docker.errors.DockerException as err:
            raise RuntimeError_("StopContainerError", _explain(err)) from None

    async def remove_container(self, container_id: str) -> None:
        try:
            await self._api("remove_container", container_id, force=True, v=True)
        except docker.errors.NotFound:
            return
        except docker.errors.DockerException as err:
            raise RuntimeError_("RemoveContainerError", _explain(err)) from None

    async def inspect(self, container_id: str) -> ContainerInfo:
        try:
            attrs = await self._api("inspect_container", container_id)
        except docker.errors.NotFound:
            raise RuntimeError_("NotFound", f"no container {container_id}") from None
        return conv.container_info(attrs)

    async def container_stats(self, container_id: str) -> ContainerStats:
        """One reading of the container's CPU counter and working set (the daemon's one-shot
        stats: no wait for a second sample; an older daemon without one-shot takes ~1 s)."""
        def read() -> Any:
            try:
                return self.api.stats(container_id, stream=False, one_shot=True)
            except docker.errors.InvalidVersion:  # API < 1.41
                return self.api.stats(container_id, stream=False)

        try:
            raw = await self._call(read)
        except docker.errors.NotFound:
            raise RuntimeError_("NotFound", f"no container {container_id}") from None
        except docker.errors.DockerException as err:
            raise RuntimeError_("StatsError", _explain(err)) from None
        stats = conv.container_stats(raw if isinstance(raw, dict) else {}, time.time())
        if stats is None:
            raise RuntimeError_("NotFound", f"container {container_id} is not running")
        return stats

    def _list_blocking(self, kind: str) -> list[dict[str, Any]]:
        out = []
        for c in self.api.containers(all=True, filters=conv.node_filter(self.owner, kind)):
            with contextlib.suppress(docker.errors.NotFound):
                out.append(dict(self.api.inspect_container(c["Id"])))
        return out

    async def list_sandboxes(self) -> list[Sandbox]:
        return [conv.sandbox_of(a) for a in await self._call(self._list_blocking,
                                                               conv.KIND_SANDBOX)]

    async def list_containers(self) -> list[ContainerInfo]:
        return [conv.container_info(a) for a in await self._call(self._list_blocking,
                                                                   conv.KIND_CONTAINER)]

    # --- exec and logs ----------------------------------------------------------

    async def exec(self, container_id: str, command: list[str],
                   limit_s: float | None = None) -> tuple[int, bytes]:
        """Exit code and combined output (stdout+stderr, capped at 8 MiB); raises
        TimeoutError after ``limit_s`` (the process may linger: docker cannot kill an exec)."""
        try:
            exec_id = (await self._api("exec_create", container_id, command,
                                        stdout=True, stderr=True))["Id"]
        except docker.errors.NotFound:
            raise RuntimeError_("NotFound", f"no container {container_id}") from None
        except docker.errors.APIError as err:
            raise RuntimeError_("ExecError", _explain(err)) from None
        out = bytearray()
        try:
            async with asyncio.timeout(limit_s):
                async for chunk in stream_in_thread(
                        lambda: self.api.exec_start(exec_id, stream=True), name="docker-exec"):
                    if len(out) < MAX_EXEC_OUTPUT:
                        out += chunk[:MAX_EXEC_OUTPUT - len(out)]
                while True:  # the output closed; the exit code follows a moment later
                    state = await self._api("exec_inspect", exec_id)
                    if not state.get("Running") and state.get("ExitCode") is not None:
                        return int(state["ExitCode"]), bytes(out)
                    await asyncio.sleep(0.01)
        except docker.errors.APIError as err:
            raise RuntimeError_("ExecError", _explain(err)) from None

    async def open_stream(self, container_id: str, command: list[str] | None, *,
                          stdin: bool, tty: bool) -> DockerSession:
        """An interactive exec (``command``) or attach (None): docker_session.py."""
        try:
            return await open_session(self._api, self.api, container_id, command,
                                      stdin=stdin, tty=tty)
        except docker.errors.NotFound:
            raise RuntimeError_("NotFound", f"no container {container_id}") from None
        except docker.errors.APIError as err:
            raise RuntimeError_("ExecError", _explain(err)) from None
        except OSError as err:
            raise RuntimeError_("StreamError", f"the docker daemon's socket: {err}") from None

    async def logs(self, container_id: str, *, follow: bool = False, tail: int | None = None,
                   timestamps: bool = False) -> AsyncIterator[bytes]:
        """stdout and stderr as they were written (one item per line or frame)."""
        tty = False
        try:
            attrs = await self._api("inspect_container", container_id)
            tty = bool((attrs.get("Config") or {}).get("Tty"))
        except docker.errors.NotFound:
            raise RuntimeError_("NotFound", f"no container {container_id}") from None

        def open_stream() -> Any:
            return self.api.logs(container_id, stdout=True, stderr=True, stream=True,
                                 follow=follow, timestamps=timestamps,
                                 tail="all" if tail is None else max(0, tail))

        try:
            async for chunk in stream_in_thread(open_stream, name="docker-logs", coalesce=tty):
                yield chunk
        except docker.errors.NotFound:
            raise RuntimeError_("NotFound", f"no container {container_id}") from None
        except docker.errors.APIError as err:
            raise RuntimeError_("LogsError", _explain(err)) from None

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        await self._events.close()
        await self._images.close()
        for task in list(self._tasks):
            task.cancel()
        try:
            await self.network.close()
        except Exception as err:  # the daemon went away: purge_scope cleans up later
            log.warning("node %s: pod network clean-up failed: %s", self.node, err)
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()


__all__ = ["DockerRuntime", "purge_scope"]
