"""The node agent: one node's pods, from whatever source tells it about them.

A pod source (the per-node stream, or a shared one in a hollow-node process,
or an informer in tests) calls ``pod_seen`` / ``pod_gone`` / ``listed``.
The agent keeps one :class:`PodWorker` per pod uid, hands mirror pods to the
static-pod manager, adopts what the runtime already runs when the first list
arrives and removes what belongs to no pod.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import namespaced_name

from .adoption import Found, adopt, inventory, remove_orphans
from .context import NodeContext, background
from .node import NodeManager
from .podstatus import TERMINAL
from .podworker import PodWorker
from .pvmounts import LocalPathCleaner
from .runtime import ContainerInfo
from .staticpods import MIRROR_ANNOTATION, StaticPods

log = logging.getLogger(__name__)


def pod_key(namespace: str | None, name: str) -> str:
    return namespaced_name(namespace or "default", name)


class NodeAgent:
    def __init__(self, ctx: NodeContext, node: NodeManager) -> None:
        self.ctx = ctx
        self.node = node
        self.workers: dict[str, PodWorker] = {}  # pod uid -> worker
        self.by_key: dict[str, str] = {}  # namespace/name -> uid
        self.static = StaticPods(
            ctx, node, lambda pod: self.start_worker(pod, static=True), self.workers.get,
        ) if ctx.config.pod_manifest_path else None
        self._found: dict[str, Found] | None = None  # runtime inventory until the first list
        self._tasks: list[asyncio.Task[None]] = []
        ctx.runtime.on_exit(ctx.exited)

    @property
    def name(self) -> str:
        return self.ctx.node_name

    async def start(self) -> None:
        """Register the node and take stock of the runtime (before the first pod list)."""
        self.node.network_ready = self.ctx.network_ready
        if not self.node.wants_pod_cidr:
            self.ctx.network_ready.set()
        await self.node.register()
        self.ctx.allocatable.update(self.node.allocatable)
        if not self.ctx.network_ready.is_set():
            self._tasks.append(asyncio.create_task(self.node.await_pod_cidr(),
                                                   name=f"podCIDR {self.name}"))
        self._found = await inventory(self.ctx)
        if self.static is not None:
            self.static.scan()
        self._tasks.append(asyncio.create_task(self.node.run(), name=f"node {self.name}"))
        cleaner = LocalPathCleaner(self.ctx.api, self.ctx.config.root_dir, self.ctx.clock)
        self._tasks.append(asyncio.create_task(cleaner.run(), name=f"local-path {self.name}"))
        if self.static is not None:
            self._tasks.append(asyncio.create_task(self.static.run(), name=f"static {self.name}"))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(BaseException):
                await t
        self._tasks.clear()
        await asyncio.gather(*(w.cancel() for w in list(self.workers.values())))

    # --- the pod source's calls -----------------------------------------------------------

    def pod_seen(self, pod: Obj) -> None:
        md, spec = pod["metadata"], pod.get("spec") or {}
        if spec.get("nodeName") != self.name:
            self.pod_gone(md.get("namespace"), md["name"], md.get("uid"))
            return
        if MIRROR_ANNOTATION in (md.get("annotations") or {}):
            if self.static is not None:
                self.static.mirror_seen(pod)
            else:  # a mirror of a static pod this agent does not have: not ours to keep
                background(StaticPods.delete_mirror(self.ctx.api, pod))
            return
        uid = md["uid"]
        w = self.workers.get(uid)
        if w is not None:
            w.update(pod)
            return
        key = pod_key(md.get("namespace"), md["name"])
        old = self.by_key.get(key)
        if old is not None and old != uid and old in self.workers:
            self.workers[old].remove()  # same name, new pod: the old one is gone
        found = self._found.pop(uid, None) if self._found is not None else None
        phase = (pod.get("status") or {}).get("phase")
        if found is None and phase in TERMINAL and not md.get("deletionTimestamp"):
            return  # finished before this agent (re)started: nothing to run
        self.start_worker(pod, found=found)

    def pod_gone(self, namespace: str | None, name: str, uid: str | None) -> None:
        key = pod_key(namespace, name)
        uid = uid or self.by_key.get(key)
        w = self.workers.get(uid or "")
        if w is not None and not w.static:
            w.remove()
        if self.static is not None and self.static.owns(key):
            self.static.mirror_gone(key)

    def listed(self, pods: list[Obj]) -> None:
        """A full list of this node's pods was applied (the source already reported the
        pods it no longer holds as gone); after the first one, remove what is orphaned."""
        if self._found is not None:
            orphans, self._found = self._found, None
            if self.static is not None:
                orphans = {u: f for u, f in orphans.items() if not self.static.has_uid(u)}
            if orphans:
                background(remove_orphans(self.ctx, orphans))

    def find_container(self, namespace: str, pod: str, container: str | None) -> str | None:
        """The id of the newest instance of a container of a pod here (logs, exec)."""
        w = self.workers.get(self.by_key.get(pod_key(namespace, pod), ""))
        if w is None:
            return None
        st = w.states.get(container) if container else (w.apps[0] if w.apps else None)
        return st.current.id if st is not None and st.current is not None else None

    def running_containers(self) -> list[ContainerInfo]:
        """The current instance of every running app container here (stats.py)."""
        return [st.current for w in self.workers.values() for st in w.apps
                if st.running and st.current is not None]

    # --- workers ----------------------------------------------------------------------

    def start_worker(self, pod: Obj, *, static: bool = False, found: Found | None = None
                     ) -> PodWorker:
        w = PodWorker(self.ctx, pod, static=static)
        if found is None and self._found is not None:
            found = self._found.pop(w.uid, None)
        if found is not None:
            adopt(w, found)
        self.workers[w.uid] = w
        self.by_key[pod_key(w.namespace, w.name)] = w.uid
        w.on_done = self._reap
        w.start()
        return w

    def _reap(self, w: PodWorker) -> None:
        if self.workers.get(w.uid) is w:
            del self.workers[w.uid]
        key = pod_key(w.namespace, w.name)
        if self.by_key.get(key) == w.uid:
            del self.by_key[key]
