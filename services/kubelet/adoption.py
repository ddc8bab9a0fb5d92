"""Restart safety: what the runtime already runs for this node, taken back.

At start the agent lists the runtime's sandboxes and containers (all
labelled with the pod uid, container name and attempt).  A pod still bound
here gets them back: the same container ids, its restart count from the
newest attempt, lastState from the one before; running containers get their
probes again.  Whatever belongs to no pod (deleted while the agent was down)
is removed.  Interrupted deletions finish on their own: the pod still has its
deletionTimestamp, so its adopted worker terminates it.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from .context import NodeContext, background
from .podworker import PodWorker
from .runtime import ContainerInfo, RuntimeError_, Sandbox

log = logging.getLogger(__name__)


@dataclass
class Found:
    sandboxes: list[Sandbox] = field(default_factory=list)
    containers: list[ContainerInfo] = field(default_factory=list)


async def inventory(ctx: NodeContext) -> dict[str, Found]:
    """The runtime's sandboxes and containers of this node, by pod uid."""
    found: dict[str, Found] = defaultdict(Found)
    for sb in await ctx.runtime.list_sandboxes():
        found[sb.pod.uid].sandboxes.append(sb)
    for c in await ctx.runtime.list_containers():
        found[c.pod.uid].containers.append(c)
    return dict(found)


def adopt(worker: PodWorker, found: Found) -> None:
    """Give ``worker`` the runtime's containers of its pod (before it first syncs)."""
    ctx = worker.ctx
    now = ctx.clock.monotonic()
    live = [s for s in found.sandboxes if s.ready] or found.sandboxes
    if live:
        worker.sandbox = live[-1]
        if worker.sandbox.ip:
            ctx.add_pod_ip(worker.sandbox.ip)
        for extra in found.sandboxes:
            if extra is not worker.sandbox:
                _discard(ctx, sandbox_id=extra.id)
    by_name: dict[str, list[ContainerInfo]] = defaultdict(list)
    for c in found.containers:
        by_name[c.name].append(c)
    for name, infos in by_name.items():
        st = worker.states.get(name)
        if st is None:  # not in the spec (any more): remove
            for c in infos:
                _discard(ctx, container_id=c.id)
            continue
        infos.sort(key=lambda c: c.attempt)
        st.current = infos[-1]
        st.previous = infos[-2] if len(infos) > 1 else None
        st.old_ids = [c.id for c in infos[:-2]]
        st.restart_count = st.current.attempt
        st.image_id = st.current.image_id
        st.started_mono = now
        early = ctx.own(st.current.id, worker)
        if early is not None:
            st.current = early
        if st.current.state == "running":
            worker.start_probes(st, worker.spec_of(st))
        else:
            st.exited_mono = now
    worker.volumes_dirty = True
    log.info("pod %s/%s adopted: sandbox %s, %d containers", worker.namespace, worker.name,
             worker.sandbox.id if worker.sandbox else "-", len(found.containers))


def _discard(ctx: NodeContext, *, sandbox_id: str | None = None,
             container_id: str | None = None) -> None:
    async def go() -> None:
        with contextlib.suppress(RuntimeError_):
            if container_id is not None:
                await ctx.runtime.stop_container(container_id, 0)
                await ctx.runtime.remove_container(container_id)
            if sandbox_id is not None:
                await ctx.runtime.remove_sandbox(sandbox_id)

    background(go())


async def remove_orphans(ctx: NodeContext, orphans: dict[str, Found]) -> None:
    """Stop and remove what belongs to pods that no longer exist."""
    for uid, found in orphans.items():
        log.info("removing containers of pod %s, which no longer exists", uid)
        for c in found.containers:
            with contextlib.suppress(RuntimeError_):
                if c.state == "running":
                    await ctx.runtime.stop_container(c.id, 0)
                await ctx.runtime.remove_container(c.id)
        for sb in found.sandboxes:
            with contextlib.suppress(RuntimeError_):
                await ctx.runtime.remove_sandbox(sb.id)
