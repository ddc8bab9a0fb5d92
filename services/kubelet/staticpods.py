"""Static pods: pod manifests in a directory, run by this node alone.

The directory (``--pod-manifest-path``) is re-read every
``file_check_seconds`` (kubelet's fileCheckFrequency; a file's mtime and size
tell whether it needs parsing again).  Each YAML or JSON file holds one Pod;
it runs as ``<name>-<node>`` with a uid derived from its content and the node,
so an edit is a new pod (the old one stops) and an agent restart adopts the
same containers.

Each static pod shows in the API as a *mirror pod*: the same pod with the
annotation ``kubernetes.io/config.mirror`` (the content hash), bound to this
node and owned by its Node.  The worker writes the pod's status to the mirror.
The mirror is read-only in effect: deleting it (or a mirror whose hash is
stale) makes the agent finish the deletion and create it again; removing the
file stops the pod and deletes its mirror.

The node agent hands :class:`StaticPods` what it needs of it as callables
(start a worker for a pod, look a worker up by uid), so this module does not
import the agent.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import yaml

from jetkube.schemas.load import load_object
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import by_plural
from jetkube.services.machinery.apimachinery import apierrors, namespaced_name
from jetkube.services.machinery.client import ApiClient

from .context import NodeContext, background
from .node import NodeManager
from .podworker import PodWorker

log = logging.getLogger(__name__)
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
HASH_ANNOTATION = "kubernetes.io/config.hash"
SOURCE_ANNOTATION = "kubernetes.io/config.source"
_SUFFIXES = (".yaml", ".yml", ".json")

StartWorker = Callable[[Obj], PodWorker]  # start the worker of a static pod
WorkerLookup = Callable[[str], "PodWorker | None"]  # the worker of a pod uid, if any


@dataclass
class StaticPod:
    path: Path
    pod: Obj
    hash: str

    @property
    def uid(self) -> str:
        return str(self.pod["metadata"]["uid"])


def load_manifest(path: Path, node: str) -> StaticPod:
    """Parse, default and validate one manifest; name it for ``node``."""
    raw = path.read_bytes()
    data = yaml.safe_load(raw) if path.suffix != ".json" else orjson.loads(raw)
    if not isinstance(data, dict) or data.get("kind", "Pod") != "Pod":
        raise ValueError(f"{path}: not a Pod manifest")
    rt = by_plural("", "pods")
    assert rt is not None
    pod = load_object(rt, data)
    digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS) + b"\0"
                            + node.encode()).hexdigest()[:32]
    md = pod["metadata"]
    md["name"] = f"{md['name']}-{node}"
    md["namespace"] = md.get("namespace") or "default"
    md["uid"] = str(uuid.UUID(digest))
    md["annotations"] = {**(md.get("annotations") or {}), HASH_ANNOTATION: digest,
                         SOURCE_ANNOTATION: "file"}
    pod["spec"]["nodeName"] = node
    pod["status"] = {"phase": "Pending"}
    return StaticPod(path, pod, digest)


def _key(pod: Obj) -> str:
    md = pod["metadata"]
    return namespaced_name(md.get("namespace") or "default", md["name"])


class StaticPods:
    def __init__(self, ctx: NodeContext, node: NodeManager, start_worker: StartWorker,
                 worker: WorkerLookup) -> None:
        self.ctx = ctx
        self.node = node
        self.start_worker = start_worker
        self.worker = worker
        cfg = ctx.config
        assert cfg.pod_manifest_path is not None
        self.dir = Path(cfg.pod_manifest_path)
        self.pods: dict[str, StaticPod] = {}  # namespace/name -> pod
        self._files: dict[Path, tuple[float, int, str | None]] = {}  # -> (mtime, size, key)
        self.mirrors: dict[str, Obj] = {}
        self._dirty: set[str] = set()
        self._running: set[str] = set()

    def owns(self, key: str) -> bool:
        return key in self.pods or key in self.mirrors

    def has_uid(self, uid: str) -> bool:
        return any(sp.uid == uid for sp in self.pods.values())

    # --- the files ----------------------------------------------------------------------

    def scan(self) -> None:
        node = self.ctx.node_name
        seen: dict[str, StaticPod] = {}
        files = sorted(p for p in self.dir.glob("*") if p.suffix in _SUFFIXES
                       and not p.name.startswith(".")) if self.dir.is_dir() else []
        for path in files:
            try:
                st = path.stat()
                old = self._files.get(path)
                if old is not None and old[:2] == (st.st_mtime, st.st_size):
                    if old[2] is not None and old[2] in self.pods:
                        seen[old[2]] = self.pods[old[2]]
                    continue
                sp = load_manifest(path, node)
            except Exception as err:
                log.warning("static pod manifest %s skipped: %s", path, err)
                self._files[path] = (st.st_mtime, st.st_size, None)
                continue
            key = _key(sp.pod)
            self._files[path] = (st.st_mtime, st.st_size, key)
            seen[key] = sp
        for path in [p for p in self._files if p not in files]:
            del self._files[path]
        for key in set(self.pods) | set(seen):
            old_sp, new_sp = self.pods.get(key), seen.get(key)
            if old_sp is not None and new_sp is not None and old_sp.hash == new_sp.hash:
                continue
            if old_sp is not None:
                w = self.worker(old_sp.uid)
                if w is not None:
                    w.remove()
                del self.pods[key]
            if new_sp is not None:
                self.pods[key] = new_sp
                log.info("static pod %s from %s", key, new_sp.path)
                self.start_worker(new_sp.pod)
            self.reconcile(key)

    async def run(self) -> None:
        while True:
            await self.ctx.clock.sleep(self.ctx.config.file_check_seconds)
            try:
                self.scan()
            except Exception:
                log.exception("reading static pod manifests in %s failed", self.dir)

    # --- the mirrors ------------------------------------------------------------------

    def mirror_seen(self, pod: Obj) -> None:
        key = _key(pod)
        cur = self.mirrors.get(key)
        if cur is None or int(pod["metadata"].get("resourceVersion") or 0) >= int(
                cur["metadata"].get("resourceVersion") or 0):
            self.mirrors[key] = pod
        self.reconcile(key)

    def mirror_gone(self, key: str) -> None:
        self.mirrors.pop(key, None)
        self.reconcile(key)

    def reconcile(self, key: str) -> None:
        self._dirty.add(key)
        if key not in self._running:
            self._running.add(key)
            background(self._reconcile_loop(key))

    async def _reconcile_loop(self, key: str) -> None:
        try:
            while key in self._dirty:
                self._dirty.discard(key)
                try:
                    await self._reconcile(key)
                except apierrors.ApiError as err:
                    log.warning("mirror pod %s: %s; retrying", key, err)
                    await self.ctx.clock.sleep(self.ctx.config.retry_seconds)
                    self._dirty.add(key)
        finally:
            self._running.discard(key)

    async def _reconcile(self, key: str) -> None:
        api = self.ctx.api
        sp, m = self.pods.get(key), self.mirrors.get(key)
        w = self.worker(sp.uid) if sp is not None else None
        if m is not None and (sp is None or m["metadata"].get("deletionTimestamp") or (
                m["metadata"].get("annotations") or {}).get(MIRROR_ANNOTATION) != sp.hash):
            if w is not None:
                w.mirror = None
            await self.delete_mirror(api, m)
            if self.mirrors.get(key) is m:
                del self.mirrors[key]
            m = None
        if sp is None:
            return
        if m is None:
            try:
                m = await api.create("pods", sp.pod["metadata"]["namespace"], self._mirror(sp))
            except apierrors.ApiError as err:
                if err.code != 409:
                    raise
                m = await api.get("pods", sp.pod["metadata"]["namespace"],
                                  sp.pod["metadata"]["name"])
                self.mirrors[key] = m
                self._dirty.add(key)  # someone else's pod, or a stale mirror: look again
                return
            self.mirror_seen(m)
            self._dirty.discard(key)
        m = self.mirrors.get(key, m)
        if w is not None and w.mirror is not m:
            w.mirror = m
            w.kick()

    def _mirror(self, sp: StaticPod) -> Obj:
        md = sp.pod["metadata"]
        node = self.node.node or {}
        owner = [{"apiVersion": "v1", "kind": "Node", "name": self.ctx.node_name,
                  "uid": node["metadata"]["uid"], "controller": True}] if node else []
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": md["name"], "namespace": md["namespace"],
                             "labels": md.get("labels") or {},
                             "annotations": {**(md.get("annotations") or {}),
                                             MIRROR_ANNOTATION: sp.hash},
                             "ownerReferences": owner},
                "spec": sp.pod["spec"]}

    @staticmethod
    async def delete_mirror(api: ApiClient, m: Obj) -> None:
        md = m["metadata"]
        try:
            await api.request("delete", "pods", md.get("namespace"), md["name"], {
                "gracePeriodSeconds": 0, "preconditions": {"uid": md["uid"]}})
        except apierrors.ApiError as err:
            if err.code not in (404, 409):
                raise
