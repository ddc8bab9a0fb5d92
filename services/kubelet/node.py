"""The node's own objects: its Node (registration, status) and its Lease.

- **Registration**: the Node is created with its status in one write
  (capacity = allocatable from the flags or the machine, addresses InternalIP
  + Hostname, nodeInfo with the runtime's version, conditions, and the
  annotations the runtime's pod network publishes, e.g. the vxlan backend's
  VTEP); if it exists (an agent restart) its labels and those annotations are
  merged and its status posted.
- **Lease** ``kube-node-lease/<node>`` renewed every ``lease_renew_seconds``
  by compare-and-swap on the copy from the last renewal (one request).
- **Status**: recomputed every ``node_status_update_seconds``; posted (merge
  patch on ``nodes/status``) when it changed, or at least every
  ``node_status_report_seconds``, as kubelet does since node leases.
- **podCIDR**: read from the Node the IPAM controller updates, handed to a
  runtime that wants it (``set_pod_cidr``); while the Node has none yet it is
  re-read with a growing delay (the store watches by key prefix only, so one
  Node cannot be watched alone without watching them all); new sandboxes wait
  for it a few seconds, as kubelet waits for the pod network.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import platform
import random
import shutil
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from jetkube import __version__
from jetkube.schemas import format_micro_time, format_time
from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient, Informer
from jetkube.services.machinery.runtime import Clock

from .config import AgentConfig

log = logging.getLogger(__name__)
LEASE_NAMESPACE = "kube-node-lease"
KUBELET_VERSION = f"v1.31.0-jetkube.{__version__}"
Pressure = dict[str, tuple[bool, str]]  # condition type -> (under pressure, message)
_KERNEL = platform.release()
_OS_IMAGE = platform.platform(terse=True)


@runtime_checkable
class PodCIDRAware(Protocol):
    def set_pod_cidr(self, cidr: str) -> None: ...


@runtime_checkable
class NodesAware(Protocol):
    """A runtime that follows every Node (its pod network routes to their pods)."""

    def watch_nodes(self, informer: Informer[Obj]) -> None: ...


@runtime_checkable
class NodeAnnotating(Protocol):
    """A runtime whose pod network publishes data on the Node (None: remove the key)."""

    def node_annotations(self) -> dict[str, str | None]: ...


def no_pressure() -> Pressure:
    return {}


def machine_pressure(root_dir: str) -> Callable[[], Pressure]:
    """Memory, disk and PID pressure of this machine (kubelet's default eviction thresholds)."""
    def check() -> Pressure:
        out: Pressure = {}
        with contextlib.suppress(OSError, ValueError):
            info = {ln.split(":")[0]: int(ln.split()[1]) for ln in
                    open("/proc/meminfo").read().splitlines() if ln.split()[1:]}
            avail = info.get("MemAvailable", 1 << 30) * 1024
            out["MemoryPressure"] = (avail < 100 * 2**20, f"{avail // 2**20}Mi available")
        with contextlib.suppress(OSError):
            path = root_dir if os.path.exists(root_dir) else "/"
            du = shutil.disk_usage(path)
            out["DiskPressure"] = (du.free < du.total * 0.10, f"{du.free * 100 // du.total}% free")
        with contextlib.suppress(OSError, ValueError):
            pid_max = int(open("/proc/sys/kernel/pid_max").read())
            pids = sum(1 for d in os.listdir("/proc") if d.isdigit())
            out["PIDPressure"] = (pids > pid_max * 0.9, f"{pids} of {pid_max} PIDs in use")
        return out
    return check


# condition -> (reason when fine, message when fine, reason under pressure)
_CONDS = {
    "MemoryPressure": ("KubeletHasSufficientMemory", "kubelet has sufficient memory available",
                       "KubeletHasInsufficientMemory"),
    "DiskPressure": ("KubeletHasNoDiskPressure", "kubelet has no disk pressure",
                     "KubeletHasDiskPressure"),
    "PIDPressure": ("KubeletHasSufficientPID", "kubelet has sufficient PID available",
                    "KubeletHasInsufficientPID"),
}


class NodeManager:
    def __init__(self, api: ApiClient, clock: Clock, config: AgentConfig, runtime: Any, *,
                 pressure: Callable[[], Pressure] = no_pressure) -> None:
        self.api = api
        self.clock = clock
        self.config = config
        self.runtime = runtime
        self.pressure = pressure
        self.name = config.node_name
        self.node: Obj | None = None
        self.lease: Obj | None = None
        self.runtime_version = ""
        self.posted: Obj | None = None  # the status last posted (heartbeat times included)
        self._posted_mono = 0.0
        self.pod_cidr: str | None = None
        self.network_ready = asyncio.Event()  # the podCIDR is known (or not wanted, or waited out)

    @property
    def allocatable(self) -> dict[str, str]:
        c = self.config
        return {"cpu": c.cpu, "memory": c.memory, "pods": c.pods,
                "ephemeral-storage": c.ephemeral_storage}

    def labels(self) -> dict[str, str]:
        return {"kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                "beta.kubernetes.io/arch": "amd64", **self.config.labels}

    def conditions(self) -> list[Obj]:
        now = format_time(self.clock.now())
        old = {c["type"]: c for c in (self.posted or {}).get("conditions") or ()}
        seen = self.pressure()
        out = []
        for ctype, (ok_reason, ok_msg, bad_reason) in _CONDS.items():
            bad, detail = seen.get(ctype, (False, ""))
            out.append(self._cond(old, ctype, "True" if bad else "False",
                                  bad_reason if bad else ok_reason,
                                  f"{ok_msg if not bad else 'kubelet is under ' + ctype}"
                                  + (f" ({detail})" if bad and detail else ""), now))
        out.append(self._cond(old, "Ready", "True", "KubeletReady",
                              "kubelet is posting ready status", now))
        return out

    @staticmethod
    def _cond(old: dict[str, Obj], ctype: str, status: str, reason: str, message: str,
              now: str) -> Obj:
        prev = old.get(ctype)
        since = prev["lastTransitionTime"] if prev and prev.get("status") == status else now
        return {"type": ctype, "status": status, "lastHeartbeatTime": now,
                "lastTransitionTime": since, "reason": reason, "message": message}

    def status(self) -> Obj:
        alloc = self.allocatable
        return {
            "capacity": dict(alloc), "allocatable": dict(alloc),
            "conditions": self.conditions(),
            "addresses": [{"type": "InternalIP", "address": self.config.host_ip},
                          {"type": "Hostname", "address": self.name}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "machineID": self.name, "systemUUID": self.name, "bootID": self.name,
                "kernelVersion": _KERNEL, "osImage": _OS_IMAGE,
                "containerRuntimeVersion": self.runtime_version,
                "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "",
                "operatingSystem": "linux", "architecture": "amd64"},
        }

    # --- registration -----------------------------------------------------------------

    def annotations(self) -> dict[str, str | None]:
        """The runtime's annotations on the Node (None: the key is removed)."""
        if isinstance(self.runtime, NodeAnnotating):
            return self.runtime.node_annotations()
        return {}

    async def register(self) -> Obj:
        self.runtime_version = await self.runtime.version()
        status = self.status()
        published = self.annotations()
        body = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": self.labels(),
                             "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                             **{k: v for k, v in published.items()
                                                if v is not None}}},
                "spec": {}, "status": status}
        try:
            self.node = await self.api.create("nodes", None, body)
        except apierrors.ApiError as err:
            if err.code != 409:
                raise
            cur = await self.api.get("nodes", None, self.name)
            want, meta = self.labels(), cur.get("metadata") or {}
            fix: Obj = {}
            if any((meta.get("labels") or {}).get(k) != v for k, v in want.items()):
                fix["labels"] = want
            if any((meta.get("annotations") or {}).get(k) != v for k, v in published.items()):
                fix["annotations"] = published  # a merge patch: None removes the key
            if fix:
                cur = await self.api.patch("nodes", None, self.name, {"metadata": fix})
            self.node = await self.api.patch("nodes", None, self.name, {"status": status},
                                             subresource="status")
        else:  # a new Node: its Lease is new too (one request, no read first)
            with contextlib.suppress(apierrors.ApiError):
                self.lease = await self.api.create("leases", LEASE_NAMESPACE, self._lease_body())
        self.posted, self._posted_mono = status, self.clock.monotonic()
        self._take_pod_cidr(self.node)
        if self.lease is None:
            await self.renew_lease()
        log.info("node %s registered (%s)", self.name, self.runtime_version)
        return self.node

    def _take_pod_cidr(self, node: Obj | None) -> None:
        cidr = ((node or {}).get("spec") or {}).get("podCIDR")
        if cidr and cidr != self.pod_cidr:
            self.pod_cidr = cidr
            if isinstance(self.runtime, PodCIDRAware):
                self.runtime.set_pod_cidr(cidr)
            log.info("node %s: podCIDR %s", self.name, cidr)
        if cidr:
            self.network_ready.set()

    @property
    def wants_pod_cidr(self) -> bool:
        return self.config.watch_pod_cidr and isinstance(self.runtime, PodCIDRAware)

    async def await_pod_cidr(self) -> None:
        """Read the Node (0.2 s, doubling to 5 s) until the IPAM controller gave it a
        podCIDR; sandboxes wait for it at most ``pod_cidr_wait_seconds``."""
        delay = 0.2
        while self.pod_cidr is None:
            await self.clock.sleep(delay)
            delay = min(delay * 2, 5.0)
            with contextlib.suppress(apierrors.ApiError):
                self._take_pod_cidr(await self.api.get("nodes", None, self.name))

    # --- lease ------------------------------------------------------------------------

    def _lease_body(self) -> Obj:
        ref = {"apiVersion": "v1", "kind": "Node", "name": self.name,
               "uid": (self.node or {}).get("metadata", {}).get("uid", "")}
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": self.name, "namespace": LEASE_NAMESPACE,
                             "ownerReferences": [ref] if ref["uid"] else []},
                "spec": {"holderIdentity": self.name,
                         "leaseDurationSeconds": self.config.lease_duration_seconds,
                         "renewTime": format_micro_time(self.clock.now())}}

    async def renew_lease(self) -> None:
        for _ in range(3):
            try:
                if self.lease is None:
                    try:
                        self.lease = await self.api.get("leases", LEASE_NAMESPACE, self.name)
                    except apierrors.ApiError as err:
                        if err.code != 404:
                            raise
                        self.lease = await self.api.create("leases", LEASE_NAMESPACE,
                                                           self._lease_body())
                        return
                lease = {**self.lease, "spec": {**self.lease.get("spec", {}),
                                                **self._lease_body()["spec"]}}
                self.lease = await self.api.update("leases", LEASE_NAMESPACE, self.name, lease)
                return
            except apierrors.ApiError as err:
                if err.code not in (404, 409):
                    raise
                self.lease = None  # changed or gone under us: read it again

    # --- status -----------------------------------------------------------------------

    @staticmethod
    def _comparable(status: Obj | None) -> Obj:
        s = dict(status or {})
        s["conditions"] = [{k: v for k, v in c.items() if k != "lastHeartbeatTime"}
                           for c in s.get("conditions") or ()]
        return s

    async def sync_status(self, force: bool = False) -> bool:
        """Post the status if it changed or is due; True if it was posted."""
        status = self.status()
        due = self.clock.monotonic() - self._posted_mono >= self.config.node_status_report_seconds
        if not force and not due and self._comparable(status) == self._comparable(self.posted):
            return False
        try:
            self.node = await self.api.patch("nodes", None, self.name, {"status": status},
                                             subresource="status")
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
            log.warning("node %s was deleted; registering again", self.name)
            await self.register()
            return True
        self.posted, self._posted_mono = status, self.clock.monotonic()
        self._take_pod_cidr(self.node)
        return True

    async def run(self) -> None:
        """Renew the lease and check the status, for ever."""
        cfg = self.config
        # a random phase: a thousand nodes registered at once do not renew at once
        await self.clock.sleep(random.uniform(0, cfg.lease_renew_seconds))
        next_status = self.clock.monotonic() + cfg.node_status_update_seconds
        while True:
            try:
                await self.renew_lease()
                if self.clock.monotonic() >= next_status:
                    next_status = self.clock.monotonic() + cfg.node_status_update_seconds
                    await self.sync_status()
            except Exception as err:
                log.warning("node %s: heartbeat failed: %r", self.name, err)
            await self.clock.sleep(cfg.lease_renew_seconds)
