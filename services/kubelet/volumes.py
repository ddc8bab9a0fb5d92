"""Pod volumes prepared on the host, under ``<root>/pods/<uid>/volumes/``.

- ``emptyDir``: one directory, shared by every container of the pod, removed
  with the pod.
- ``hostPath``: the host's path (``DirectoryOrCreate`` / ``FileOrCreate``
  create it; ``Directory`` / ``File`` must exist).
- ``configMap``, ``secret``, ``downwardAPI`` and ``projected`` (configMap,
  secret, downwardAPI and serviceAccountToken sources): files written from the
  objects, with ``items`` and modes; rewritten (each file atomically, stale ones
  removed) when an object they came from changes, and when a token is due for
  refresh (projected.py: at 80% of its lifetime, by a task of the pod's own).

- ``persistentVolumeClaim``: the host directory of the claim's bound volume
  (pvmounts.py), mounted read-only when the pod volume says ``readOnly``.

Anything else (nfs, csi…) is not supported by this node agent: the pod waits with
a message saying so.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from jetkube.schemas.objects import Obj

from .envvars import ConfigError, field_value, resource_value
from .objects import ObjectSource, Ref
from .projected import PodTokens
from .pvmounts import claim_host_path
from .runtime import Mount

log = logging.getLogger(__name__)
TOKEN_RETRY_SECONDS = 10.0

Files = dict[str, tuple[bytes, int]]  # relative path -> (content, mode)
_PLUGIN = {"emptyDir": "kubernetes.io~empty-dir", "configMap": "kubernetes.io~configmap",
           "secret": "kubernetes.io~secret", "downwardAPI": "kubernetes.io~downward-api",
           "projected": "kubernetes.io~projected"}


def pod_dir(root: Path, uid: str) -> Path:
    return root / "pods" / uid


def _bad_item_path(rel: str) -> bool:
    """An item path that would leave the volume (``..``, absolute) or name no file."""
    return (rel.startswith("/") or ".." in rel.split("/")
            or os.path.normpath(rel) == ".")  # "", ".", "./"…: the volume itself


_OPEN_FLAGS = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW


def write_atomically(target: str, content: bytes, mode: int) -> None:
    """``target`` holds ``content`` with ``mode``, replaced in one rename: a reader sees
    the old file or the new one, never a part."""
    head, tail = os.path.split(target)
    tmp = os.path.join(head, f".{tail}.tmp")
    try:
        fd = os.open(tmp, _OPEN_FLAGS, mode)
    except FileExistsError:  # left by an interrupted write
        os.unlink(tmp)
        fd = os.open(tmp, _OPEN_FLAGS, mode)
    try:
        os.fchmod(fd, mode)  # the mode exactly, whatever the umask took
        view = memoryview(content)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, target)


def _remove_stale(d: str, files: Files) -> None:
    """Remove what ``d`` holds beyond ``files`` (an earlier content's), and emptied dirs."""
    keep = {os.path.join(d, rel) for rel in files}
    for dirpath, _dirs, names in os.walk(d, topdown=False):
        for n in names:
            full = os.path.join(dirpath, n)
            if full not in keep:
                os.unlink(full)
        if dirpath != d and not os.listdir(dirpath):
            os.rmdir(dirpath)


def _items(data: dict[str, bytes], items: list[Obj] | None, mode: int, what: str,
           optional: bool) -> Files:
    if not items:
        return {k: (v, mode) for k, v in data.items()}
    out: Files = {}
    for it in items:
        if it["key"] not in data:
            if optional:
                continue
            raise ConfigError(f"configmap references non-existent config key: {it['key']}"
                              if what == "configmaps" else
                              f"references non-existent secret key: {it['key']}")
        out[it["path"]] = (data[it["key"]], it.get("mode") or mode)
    return out


class PodVolumes:
    """The host side of one pod's volumes."""

    def __init__(self, root: Path, pod: Obj, objects: ObjectSource) -> None:
        self.pod = pod
        self.objects = objects
        self.root = root
        self.dir = pod_dir(root, pod["metadata"]["uid"]) / "volumes"
        self._dir = str(self.dir)
        self.paths: dict[str, str] = {}
        self._written: dict[str, str] = {}  # volume -> digest of the files last written
        self.tokens = PodTokens(objects.api, pod)
        self._refresher: asyncio.Task[None] | None = None  # a refresh under way
        self._refresh_timer: asyncio.TimerHandle | None = None  # the next one
        self._last: tuple[str, str, Mapping[str, str], set[Ref]] | None = None

    async def _object_files(self, resource: str, src: Obj, mode: int, used: set[Ref]) -> Files:
        ns = self.pod["metadata"].get("namespace") or "default"
        name = src.get("name") or src.get("secretName") or ""
        used.add((resource, ns, name))
        data = await self.objects.data(resource, ns, name)
        if data is None:
            if src.get("optional"):
                return {}
            raise ConfigError(f'{"configmap" if resource == "configmaps" else "secret"} '
                              f'"{name}" not found')
        return _items(data, src.get("items"), mode, resource, bool(src.get("optional")))

    def _downward(self, items: list[Obj] | None, mode: int, pod_ip: str, host_ip: str,
                  allocatable: Mapping[str, str]) -> Files:
        out: Files = {}
        for it in items or ():
            if it.get("fieldRef"):
                path = it["fieldRef"]["fieldPath"]
                md = self.pod.get("metadata") or {}
                if path in ("metadata.labels", "metadata.annotations"):
                    kv = md.get(path.split(".")[1]) or {}
                    value = "\n".join(f'{k}="{v}"' for k, v in sorted(kv.items()))
                else:
                    value = field_value(self.pod, path, pod_ip, host_ip)
            else:
                rf = it["resourceFieldRef"]
                value = resource_value(self.pod, rf.get("containerName") or "", rf["resource"],
                                       rf.get("divisor"), allocatable)
            out[it["path"]] = (value.encode(), it.get("mode") or mode)
        return out

    async def prepare(self, *, pod_ip: str, host_ip: str, allocatable: Mapping[str, str],
                      used: set[Ref]) -> None:
        """Create or refresh every volume; ``used`` collects the objects read."""
        self._last = (pod_ip, host_ip, allocatable, used)
        self.tokens.pod = self.pod
        for vol in (self.pod.get("spec") or {}).get("volumes") or ():
            name = vol["name"]
            if vol.get("hostPath"):
                self.paths[name] = self._host_path(vol["hostPath"])
                continue
            if vol.get("persistentVolumeClaim"):
                src = await claim_host_path(self.objects.api, self.root,
                                            self.pod["metadata"].get("namespace") or "default",
                                            vol["persistentVolumeClaim"])
                self.paths[name] = self._host_path(src)
                continue
            kind = next((k for k in _PLUGIN if vol.get(k) is not None), None)
            if kind is None:
                other = next((k for k in vol if k != "name"), "unknown")
                raise ConfigError(f"volume {name!r}: {other} volumes are not supported by "
                                  "this node agent")
            path = os.path.join(self._dir, _PLUGIN[kind], name)
            self.paths[name] = path
            if kind == "emptyDir":
                os.makedirs(path, exist_ok=True)
                continue
            src = vol[kind]
            mode = src.get("defaultMode") or 0o644
            files: Files = {}
            if kind in ("configMap", "secret"):
                files = await self._object_files(kind.lower() + "s", src, mode, used)
            elif kind == "downwardAPI":
                files = self._downward(src.get("items"), mode, pod_ip, host_ip, allocatable)
            else:
                for part in src.get("sources") or ():
                    if part.get("configMap"):
                        files.update(await self._object_files("configmaps", part["configMap"],
                                                              mode, used))
                    elif part.get("secret"):
                        files.update(await self._object_files("secrets", part["secret"], mode,
                                                              used))
                    elif part.get("downwardAPI"):
                        files.update(self._downward(part["downwardAPI"].get("items"), mode,
                                                    pod_ip, host_ip, allocatable))
                    elif part.get("serviceAccountToken"):
                        sat = part["serviceAccountToken"]
                        files[sat["path"]] = (await self.tokens.get(sat), mode)
            self._write(name, path, files)
        self._schedule_refresh(self.tokens.next_refresh())

    def _schedule_refresh(self, at: float | None) -> None:
        """Write the volumes again at ``at`` (a token is due), in a task of this pod's
        started then (a timer until then: a sleeping task per pod costs more)."""
        if self._refresher is not None and self._refresher is not asyncio.current_task():
            self._refresher.cancel()
        self._refresher = None
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
            self._refresh_timer = None
        if at is not None:
            delay = max(0.0, at - self.tokens.clock())
            self._refresh_timer = asyncio.get_running_loop().call_later(delay,
                                                                        self._start_refresh)

    def _start_refresh(self) -> None:
        self._refresh_timer = None
        self._refresher = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        assert self._last is not None
        pod_ip, host_ip, allocatable, used = self._last
        try:
            await self.prepare(pod_ip=pod_ip, host_ip=host_ip, allocatable=allocatable,
                               used=used)
        except (ConfigError, OSError) as err:
            log.warning("pod %s/%s: refreshing its volumes failed: %s",
                        self.pod["metadata"].get("namespace"), self.pod["metadata"]["name"], err)
            self._schedule_refresh(self.tokens.clock() + TOKEN_RETRY_SECONDS)

    @staticmethod
    def _host_path(src: Obj) -> str:
        p = Path(src["path"])
        kind = src.get("type") or ""
        if kind == "DirectoryOrCreate":
            p.mkdir(parents=True, exist_ok=True)
        elif kind == "FileOrCreate":
            p.parent.mkdir(parents=True, exist_ok=True)
            p.touch(exist_ok=True)
        elif kind == "Directory" and not p.is_dir():
            raise ConfigError(f"hostPath type check failed: {p} is not a directory")
        elif kind == "File" and not p.is_file():
            raise ConfigError(f"hostPath type check failed: {p} is not a file")
        return str(p)

    def _write(self, name: str, d: str, files: Files) -> None:
        """Write a volume's files: each atomically (a temporary file renamed over it),
        with its mode; files of an earlier content no longer in ``files`` are removed."""
        h = hashlib.sha256()
        for rel in sorted(files):
            h.update(rel.encode() + b"\0" + files[rel][0] + b"\0" + str(files[rel][1]).encode())
        digest = h.hexdigest()
        if self._written.get(name) == digest and os.path.isdir(d):
            return
        for rel in files:
            if _bad_item_path(rel):
                raise ConfigError(f"volume {name!r}: invalid item path {rel!r}")
        files = {os.path.normpath(rel) if "/" in rel else rel: v for rel, v in files.items()}
        try:
            os.makedirs(d)
            created = True  # nothing stale in it: no clean-up walk
        except FileExistsError:
            created = False
        for rel, (content, mode) in files.items():
            if "/" in rel:
                os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
            write_atomically(os.path.join(d, rel), content, mode)
        if not created:
            _remove_stale(d, files)
        self._written[name] = digest

    def mounts(self, container: Obj) -> list[Mount]:
        kinds = {v["name"]: v for v in (self.pod.get("spec") or {}).get("volumes") or ()}
        out: list[Mount] = []
        for vm in container.get("volumeMounts") or ():
            host = self.paths.get(vm["name"])
            if host is None:
                raise ConfigError(f"volumeMount {vm['name']!r}: no such volume")
            vol = kinds.get(vm["name"]) or {}
            if vm.get("subPath"):
                if ".." in Path(vm["subPath"]).parts or os.path.isabs(vm["subPath"]):
                    raise ConfigError(f"volumeMount {vm['name']!r}: invalid subPath")
                host = os.path.join(host, vm["subPath"])
                if any(vol.get(k) is not None for k in (
                        "emptyDir", "hostPath", "persistentVolumeClaim")):
                    os.makedirs(host, exist_ok=True)  # kubelet creates a missing subPath
            ro = bool(vm.get("readOnly")) or any(vol.get(k) is not None for k in (
                "configMap", "secret", "downwardAPI", "projected")) or bool(
                (vol.get("persistentVolumeClaim") or {}).get("readOnly"))
            out.append(Mount(host, vm["mountPath"], ro))
        return out

    def remove(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            self._refresher = None
        if self._refresh_timer is not None:
            self._refresh_timer.cancel()
            self._refresh_timer = None
        shutil.rmtree(self.dir.parent, ignore_errors=True)
