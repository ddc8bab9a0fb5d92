"""Hollow nodes for the control-loop scenarios (test scaffolding, not a product).

Until the node agent exists (its `sim` runtime replaces this), scenarios need
nodes: this registers Node objects, renews their Leases in kube-node-lease
like a kubelet, marks pods bound to them Running and Ready, finishes graceful
deletions, and can stop renewing one node to simulate its failure.  Pods with
restartPolicy Never/OnFailure end Succeeded after
``jetkube.io/hollow-run-seconds`` (default 1) with exit code
``jetkube.io/hollow-exit-code`` (default 0: Succeeded, else Failed).
Runs in a thread with its own event loop; talks to the cluster only through
the API server (NATS request/reply) and a read-only store watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from datetime import UTC, datetime
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import ADMIN, apierrors
from jetkube.services.machinery.client import ApiClient, Informer
from jetkube.services.machinery.store import NatsStore, connect


def _now(micro: bool = False) -> str:
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.now(UTC).strftime(fmt)


class HollowNodes:
    def __init__(self, nats_url: str, nats_options: dict[str, Any], names: list[str], *,
                 cpu: str = "4", memory: str = "8Gi", pods: str = "110",
                 lease_period: float = 2.0, labels: dict[str, str] | None = None) -> None:
        self.nats_url = nats_url
        self.nats_options = nats_options  # connect() keywords: the admin identity's seed, CA
        self.cpu, self.memory, self.pods = cpu, memory, pods
        self.lease_period = lease_period
        self.labels = labels or {}
        self.live: set[str] = set(names)
        self._names = list(names)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._main: Any = None
        self._ip = 10

    # --- control from the test thread -------------------------------------

    def start(self) -> HollowNodes:
        self._thread.start()
        self._main = asyncio.run_coroutine_threadsafe(self._run(), self._loop)
        if not self._ready.wait(30):
            raise TimeoutError("hollow nodes did not start")
        return self

    def call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def add_node(self, name: str) -> None:
        self.call(self._register(name))
        self.live.add(name)

    def stop_node(self, name: str) -> None:
        """The node goes silent: no lease renewals, no pod updates."""
        self.live.discard(name)

    def stop(self) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._main is not None:
            with contextlib.suppress(Exception):
                self._main.result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    # --- the loop ----------------------------------------------------------

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        nc = await connect(self.nats_url, **self.nats_options)
        self.api = ApiClient(nc, str(self.nats_options.get("identity") or ADMIN))
        store = await NatsStore.open(nc, create=False)
        for n in self._names:
            await self._register(n)
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pending: set[str] = set()
        self.pods = Informer(store, "pods.")
        self.pods.add_event_handler(on_add=self._enqueue, on_update=lambda _o, n: self._enqueue(n))
        self.pods.start()
        await self.pods.wait_synced()
        tasks = [asyncio.create_task(self._leases()), *(asyncio.create_task(self._worker())
                                                        for _ in range(4))]
        self._ready.set()
        await self._stop.wait()
        for t in tasks:
            t.cancel()
        await self.pods.stop()
        await nc.close()

    async def _register(self, name: str) -> None:
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                      "kubernetes.io/os": "linux", **self.labels}},
                "spec": {}}
        try:
            await self.api.create("nodes", None, node)
        except apierrors.ApiError as err:
            if err.code != 409:
                raise
        for _ in range(10):  # controllers (node IPAM) write the same Node: retry a conflict
            try:
                await self._post_status(name)
                break
            except apierrors.ApiError as err:
                if err.code != 409:
                    raise
        await self._renew(name)

    async def _post_status(self, name: str) -> None:
        cur = await self.api.get("nodes", None, name)
        alloc = {"cpu": self.cpu, "memory": self.memory, "pods": self.pods}
        cur["status"] = {
            "capacity": alloc, "allocatable": alloc,
            "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                            "message": "hollow node is posting ready status",
                            "lastHeartbeatTime": _now(), "lastTransitionTime": _now()}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"},
                          {"type": "Hostname", "address": name}],
            "nodeInfo": {"kubeletVersion": "v1.31.0-hollow", "containerRuntimeVersion": "hollow://0",
                         "operatingSystem": "linux", "architecture": "amd64",
                         "kernelVersion": "", "osImage": "hollow", "machineID": name,
                         "systemUUID": name, "bootID": name, "kubeProxyVersion": ""}}
        await self.api.update_status("nodes", None, name, cur)

    async def _renew(self, name: str) -> None:
        spec = {"holderIdentity": name, "leaseDurationSeconds": 40, "renewTime": _now(True)}
        try:
            lease = await self.api.get("leases", "kube-node-lease", name)
            lease["spec"] = {**lease.get("spec", {}), **spec}
            await self.api.update("leases", "kube-node-lease", name, lease)
        except apierrors.ApiError as err:
            if err.code != 404:
                raise
            await self.api.create("leases", "kube-node-lease", {
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": "kube-node-lease"}, "spec": spec})

    async def _leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_period)
            for n in list(self.live):
                with contextlib.suppress(apierrors.ApiError):
                    await self._renew(n)

    def _enqueue(self, pod: Obj) -> None:
        key = f"{pod['metadata'].get('namespace')}/{pod['metadata']['name']}"
        if (pod.get("spec") or {}).get("nodeName") in self.live and key not in self._pending:
            self._pending.add(key)
            self._queue.put_nowait(key)

    async def _worker(self) -> None:
        while True:
            key = await self._queue.get()
            self._pending.discard(key)
            ns, name = key.split("/", 1)
            try:
                await self._sync(ns, name)
            except apierrors.ApiError as err:
                if err.code not in (404, 409):
                    raise
                if err.code == 409:
                    self._pending.add(key)
                    self._queue.put_nowait(key)

    async def _sync(self, ns: str, name: str) -> None:
        pod = await self.api.get("pods", ns, name)
        md, spec = pod["metadata"], pod.get("spec") or {}
        if spec.get("nodeName") not in self.live:
            return
        if md.get("deletionTimestamp"):
            await self.api.delete("pods", ns, name, grace_period_seconds=0)
            return
        status = pod.get("status") or {}
        if status.get("phase") not in (None, "Pending"):
            return
        annotations = md.get("annotations") or {}
        finite = spec.get("restartPolicy") in ("Never", "OnFailure")
        self._ip += 1
        running = self._status(pod, "Running", ready=True, ip=f"10.250.{self._ip // 250}.{self._ip % 250}")
        pod["status"] = running
        await self.api.update_status("pods", ns, name, pod)
        if finite:
            await asyncio.sleep(float(annotations.get("jetkube.io/hollow-run-seconds", "1")))
            code = int(annotations.get("jetkube.io/hollow-exit-code", "0"))
            pod = await self.api.get("pods", ns, name)
            pod["status"] = self._status(pod, "Succeeded" if code == 0 else "Failed", ready=False,
                                         ip=running["podIP"], exit_code=code)
            await self.api.update_status("pods", ns, name, pod)

    @staticmethod
    def _status(pod: Obj, phase: str, *, ready: bool, ip: str, exit_code: int | None = None) -> Obj:
        now = _now()
        t = "True" if ready else "False"
        conds = [{"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
                 {"type": "Initialized", "status": "True", "lastTransitionTime": now},
                 {"type": "ContainersReady", "status": t, "lastTransitionTime": now},
                 {"type": "Ready", "status": t, "lastTransitionTime": now}]
        cstatuses = []
        for c in pod["spec"]["containers"]:
            state: Obj = ({"running": {"startedAt": now}} if exit_code is None else
                          {"terminated": {"exitCode": exit_code, "startedAt": now,
                                          "finishedAt": now,
                                          "reason": "Completed" if exit_code == 0 else "Error"}})
            cstatuses.append({"name": c["name"], "image": c["image"], "imageID": "",
                              "ready": ready, "restartCount": 0, "started": exit_code is None,
                              "state": state, "containerID": f"hollow://{pod['metadata']['uid']}"})
        return {"phase": phase, "conditions": conds, "hostIP": "127.0.0.1", "podIP": ip,
                "podIPs": [{"ip": ip}], "startTime": now, "containerStatuses": cstatuses,
                "qosClass": (pod.get("status") or {}).get("qosClass", "BestEffort")}
