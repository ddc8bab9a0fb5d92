"""Where a node agent hears about its pods.

- :class:`NodePodSource`: the design's way.  Note the per-node stream's
  position, list the pods with ``fieldSelector=spec.nodeName=<node>``, consume
  ``jetkube.watch.nodes.<node>.pods`` from the noted position dropping what the
  list already covered, and list again every ``resync_seconds`` so a missed
  message heals.  N agents cost O(pods).
- :class:`SharedPodSource`: the same for many agents in one process (hollow
  nodes): one consumer on ``jetkube.watch.nodes.*.pods`` and one list,
  dispatched by ``spec.nodeName``.
- :class:`InformerPodSource`: a pods informer filtered by node (unit tests
  on the in-memory store, where there is no NATS stream).

Pods on the node stream come without ``metadata.managedFields`` (the API server leaves
them out, as client-go's informers strip them) and :func:`list_pods` drops them too: an
agent never reads them, and they were half of each event's bytes to decode and keep.

The node stream also carries metadata-only events of the ConfigMaps and Secrets its pods
use (the API server publishes them); they go to ``on_object`` (the agent's
:class:`~.objects.ObjectSource`), which forgets its copy and tells the pods.

All of them keep the newest resourceVersion seen per pod, so an event older
than what the agent has (a list overlapping the stream) is dropped, and a
pod missing from a list is gone only if nothing newer than the list was heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import orjson

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import namespaced_name, split_namespaced_name
from jetkube.services.machinery.client import ApiClient, Informer
from jetkube.services.machinery.runtime import Clock
from jetkube.services.machinery.store import NodePodStream

log = logging.getLogger(__name__)

OnObject = Callable[[str, str, str], None]
"""``(resource, namespace, name)`` of a ConfigMap or Secret that changed."""
OBJECT_KINDS = {"ConfigMap": "configmaps", "Secret": "secrets"}


class PodSink(Protocol):
    @property
    def name(self) -> str: ...

    def pod_seen(self, pod: Obj) -> None: ...

    def pod_gone(self, namespace: str | None, name: str, uid: str | None) -> None: ...

    def listed(self, pods: list[Obj]) -> None: ...


def _key(pod: Obj) -> str:
    md = pod["metadata"]
    return namespaced_name(md.get("namespace") or "default", md["name"])


def _rv(pod: Obj) -> int:
    return int(pod["metadata"].get("resourceVersion") or 0)


class _Tracker:
    """Newest revision per pod, and which node each present pod is on."""

    def __init__(self, sinks: Mapping[str, PodSink]) -> None:
        self.sinks = sinks
        self.revs: dict[str, int] = {}
        self.present: dict[str, tuple[str, str]] = {}  # key -> (node, uid)

    def event(self, etype: str, pod: Obj) -> None:
        key, rv = _key(pod), _rv(pod)
        if rv <= self.revs.get(key, 0):
            return  # already covered by a list or a newer event
        self.revs[key] = rv
        node = (pod.get("spec") or {}).get("nodeName") or ""
        md = pod["metadata"]
        was = self.present.get(key)
        if was is not None and was[0] != node and was[0] in self.sinks:
            self.sinks[was[0]].pod_gone(md.get("namespace"), md["name"], was[1])
        sink = self.sinks.get(node)
        if etype == "DELETED" or sink is None:
            self.present.pop(key, None)
            if sink is not None:
                sink.pod_gone(md.get("namespace"), md["name"], md.get("uid"))
            return
        self.present[key] = (node, md["uid"])
        sink.pod_seen(pod)

    def listed(self, pods: list[Obj], revision: int, nodes: list[str]) -> None:
        by_node: dict[str, list[Obj]] = {n: [] for n in nodes}
        keys = set()
        for pod in pods:
            node = (pod.get("spec") or {}).get("nodeName") or ""
            if node not in by_node:
                continue
            keys.add(_key(pod))
            by_node[node].append(pod)
            self.event("MODIFIED", pod)
        for key, (node, uid) in list(self.present.items()):
            if node in by_node and key not in keys and self.revs.get(key, 0) <= revision:
                del self.present[key]
                ns, name = split_namespaced_name(key)
                self.sinks[node].pod_gone(ns, name, uid)
        for key in [k for k, r in self.revs.items() if r <= revision and k not in self.present]:
            del self.revs[key]  # tombstones the list supersedes
        for node, listed in by_node.items():
            if node in self.sinks:
                self.sinks[node].listed(listed)


class SharedPodSource:
    """List + per-node stream + resync for the agents of one process (one or many)."""

    def __init__(self, stream: NodePodStream, api: ApiClient, clock: Clock,
                 sinks: Mapping[str, PodSink], *, resync_seconds: float = 300.0,
                 on_object: OnObject | None = None) -> None:
        self.stream = stream
        self.on_object = on_object
        self.api = api
        self.clock = clock
        self.sinks = dict(sinks)
        self.resync_seconds = resync_seconds
        self.tracker = _Tracker(self.sinks)
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None

    @property
    def _subject_node(self) -> str:
        return next(iter(self.sinks)) if len(self.sinks) == 1 else "*"

    async def start(self) -> None:
        pos = await self.stream.position(self._subject_node)
        await self.resync()
        self._sub = await self.stream.subscribe(self._subject_node, pos, self._on_message)
        self._task = asyncio.create_task(self._resync_loop(), name="pod resync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    def _on_message(self, data: bytes) -> None:
        try:
            ev = orjson.loads(data)
            obj = ev["object"]
            resource = OBJECT_KINDS.get(obj.get("kind", ""))
            if resource is None:
                self.tracker.event(ev["type"], obj)
            elif self.on_object is not None:
                md = obj["metadata"]
                self.on_object(resource, md.get("namespace") or "", md["name"])
        except Exception:
            log.exception("bad pod event on the node stream")

    async def resync(self) -> None:
        sel = f"spec.nodeName={next(iter(self.sinks))}" if len(self.sinks) == 1 else None
        pods, revision = await list_pods(self.api, sel)
        self.tracker.listed(pods, revision, list(self.sinks))

    async def _resync_loop(self) -> None:
        while True:
            await self.clock.sleep(self.resync_seconds)
            try:
                await self.resync()
            except Exception as err:
                log.warning("pod resync failed: %r", err)


async def list_pods(api: ApiClient, field_selector: str | None = None, *,
                    page: int = 200) -> tuple[list[Obj], int]:
    """Every pod (matching the selector), in pages (``ApiClient.list``: one NATS reply must
    stay under the server's max_payload, 1 MiB by default, which a few hundred pods with
    status exceed).  The revision is the first page's: pods changed later carry their own,
    newer one.  Without ``metadata.managedFields``, as the node stream's pods come (the
    API server leaves them out) and as the informers drop them: no agent reads them."""
    lst = await api.list("pods", field_selector=field_selector, page_size=page)
    items: list[Obj] = lst.get("items") or []
    for item in items:
        (item.get("metadata") or {}).pop("managedFields", None)
    return items, int(lst["metadata"]["resourceVersion"])


def NodePodSource(stream: NodePodStream, api: ApiClient, clock: Clock, sink: PodSink, *,
                  resync_seconds: float = 300.0,
                  on_object: OnObject | None = None) -> SharedPodSource:
    """The source of one node agent: its own subject and its own field-selected list."""
    return SharedPodSource(stream, api, clock, {sink.name: sink}, resync_seconds=resync_seconds,
                           on_object=on_object)


class InformerPodSource:
    """Pods from a pods informer, filtered by node (tests on the in-memory store)."""

    def __init__(self, informer: Informer[Obj], sinks: Mapping[str, PodSink]) -> None:
        self.informer = informer
        self.tracker = _Tracker(sinks)
        informer.add_event_handler(lambda p: self.tracker.event("ADDED", p),
                                   lambda _o, n: self.tracker.event("MODIFIED", n),
                                   self._deleted)

    def _deleted(self, pod: Obj) -> None:
        pod = {**pod, "metadata": {**pod["metadata"],
                                   "resourceVersion": str(self.informer.last_revision)}}
        self.tracker.event("DELETED", pod)

    async def start(self) -> None:
        self.informer.start()
        await self.informer.wait_synced()
        self.tracker.listed(self.informer.list(), self.informer.last_revision,
                            list(self.tracker.sinks))

    def stop(self) -> None:
        """Stop delivering (an informer's handlers cannot be removed)."""
        self.tracker.sinks = {}


def feed_object_changes(informer: Informer[Obj], resource: str, on_object: OnObject) -> None:
    """Tell ``on_object`` of every change an informer sees (unit tests on the in-memory
    store, standing in for the API server's events on the node stream)."""
    def changed(obj: Obj) -> None:
        md = obj.get("metadata") or {}
        on_object(resource, md.get("namespace") or "", md.get("name") or "")

    informer.add_event_handler(changed, lambda _old, new: changed(new), changed)
