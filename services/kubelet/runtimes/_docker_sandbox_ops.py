"""The Docker runtime's sandbox methods (docker.py's DockerRuntime inherits them).

``run_sandbox`` puts a pod's sandbox on the node's pod network, on an address the agent
chose (docker_ipam.py), started on no network of Docker's and wired by the agent
(docker_wiring.py); when the wiring fails it falls back to the host's network or a
network of Docker's, whose IPAM chooses.  The engine calls are docker_sandbox.py's;
the pod's resolv.conf and /etc/hosts are written first.  At most
``max_parallel_sandbox_starts`` sandboxes are being created and started on the daemon at
once (AgentConfig's field says why); the others wait their turn on the agent's loop, and
their containers, the wiring and everything else go on meanwhile.  ``remove_sandbox`` removes it
with its pod's containers and files, and lets its address go.  What the runtime supplies
(its clients, pool, owner labels, pod network and sandbox bookkeeping) is declared here.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import docker.errors

from jetkube.services.machinery.hostnet import HostNetError

from ..runtime import RuntimeError_, Sandbox, SandboxSpec
from . import docker_convert as conv
from . import docker_podfiles as podfiles
from . import docker_sandbox
from .docker_convert import explain
from .docker_engine import Engine
from .docker_images import ensure_pause_image
from .docker_network import DockerPodNetwork, PodNetworkError, write_resolv_conf
from .docker_wiring import write_hosts_file

__all__ = ["SandboxOps"]

T = TypeVar("T")


class SandboxOps:
    """A pod's sandbox on the daemon: made, wired, removed (a base of DockerRuntime)."""

    owner: dict[str, str]
    root_dir: Path
    pause_image: str
    network: DockerPodNetwork
    _pause_id: str | None
    _sandbox_pods: dict[str, str]  # sandbox id -> pod uid, of those seen
    _sandbox_ips: dict[str, str]  # sandbox id -> its address, of those seen
    _sandbox_starts: asyncio.Semaphore | None  # None: no bound

    # --- made by DockerRuntime (docker.py) ----------------------------------------

    @property
    def client(self) -> Any:
        raise NotImplementedError

    @property
    def api(self) -> Any:
        raise NotImplementedError

    async def engine(self) -> Engine:
        raise NotImplementedError

    async def _call(self, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
        raise NotImplementedError

    # --- sandboxes (docker_sandbox.py) -------------------------------------------

    async def _ensure_pause_image(self) -> str:
        return await self._call(lambda: ensure_pause_image(self.client, self.pause_image))

    async def _start_sandbox(self, spec: SandboxSpec, network: str | None
                             ) -> tuple[Sandbox, int | None]:
        """The sandbox, and its PID when the agent is to wire it (docker_wiring.py)."""
        engine = await self.engine()
        if self._pause_id is None:
            self._pause_id = await self._ensure_pause_image()
        resolv = write_resolv_conf(self.root_dir, spec)
        pid = None
        turn = self._sandbox_starts or contextlib.nullcontext()
        if network is not None and conv.wired(spec, network):
            hosts = write_hosts_file(self.root_dir, spec.pod.uid, str(spec.ip), spec.hostname,
                                     spec.host_aliases, spec.domain)
            async with turn:
                sandbox, pid = await docker_sandbox.run_wired(
                    engine, self.api, self.owner, spec, self.pause_image, resolv, hosts,
                    self._ensure_pause_image)
        else:
            async with turn:
                sandbox = await docker_sandbox.run(
                    engine, self.api, self.owner, spec, conv.sandbox_network(spec, network),
                    self.pause_image, resolv, self._ensure_pause_image)
        self._sandbox_pods[sandbox.id] = sandbox.pod.uid
        self._sandbox_ips[sandbox.id] = sandbox.ip
        return sandbox, pid

    async def run_sandbox(self, spec: SandboxSpec) -> Sandbox:
        """On the node's pod network, wired by the agent on an address it chose; else on
        the host's network or a network of Docker's, whose IPAM chooses."""
        try:
            network = await self.network.network_for(spec)
            addresses = self.network.addresses_for(network) if network else None
            ip = addresses.take() if addresses is not None else None
            if ip is not None:
                wired = await self._run_wired(dataclasses.replace(spec, network=network, ip=ip))
                if wired is not None:
                    return wired
            sandbox, _ = await self._start_sandbox(spec, network)
            return sandbox
        except (docker.errors.DockerException, PodNetworkError, HostNetError, OSError) as err:
            raise RuntimeError_("CreatePodSandboxError",
                                f"failed to start the sandbox of pod {spec.pod.namespace}/"
                                f"{spec.pod.name}: {explain(err)}") from None

    async def _run_wired(self, spec: SandboxSpec) -> Sandbox | None:
        """The sandbox on ``spec.ip``, wired (docker_wiring.py); None when the wiring failed:
        the sandbox and its address are let go, and the agent leaves its next sandboxes to
        the Docker network (docker_network.DockerPodNetwork.cannot_wire says why)."""
        assert spec.ip is not None
        try:
            sandbox, pid = await self._start_sandbox(spec, "none")
        except BaseException:
            if self.network.addresses is not None:
                self.network.addresses.release(spec.ip)
            raise
        try:
            assert pid is not None
            await self.network.wire(sandbox.id, pid, sandbox.ip)
            return sandbox
        except BaseException as err:  # (cancelled too): not left half made
            with contextlib.suppress(Exception):  # (its address goes with it)
                await self.remove_sandbox(sandbox.id)
            if not isinstance(err, (HostNetError, OSError)):
                raise
            self.network.cannot_wire(err)
            return None

    async def remove_sandbox(self, sandbox_id: str) -> None:
        """Remove the sandbox and, forcibly, any container of its pod still there."""
        uid = await docker_sandbox.remove(await self.engine(), self.owner, sandbox_id,
                                          self._sandbox_pods.pop(sandbox_id, None) or None)
        ip = self._sandbox_ips.pop(sandbox_id, None)
        if ip and self.network.addresses is not None:
            self.network.addresses.release(ip)
        if uid:
            podfiles.remove(self.root_dir, uid)
