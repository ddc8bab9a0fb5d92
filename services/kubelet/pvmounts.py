"""Persistent volumes on the node agent: a pod's ``persistentVolumeClaim`` volume becomes a
host directory the runtime bind-mounts into the containers (Docker) or records (sim),
and the node's local-path directories are removed once their volumes are deleted.

**Mounting** (``claim_host_path``, the kubelet's volume manager for one claim).  The claim
is read through the API server each time (the Node authorizer allows it for claims of
this node's pods; claims change without events on the node's stream, so nothing is
cached): it must exist, must not be being deleted ("can't start pod because PVC ... is
being deleted": pvc-protection relies on that) and must be bound; the pod waits
(``FailedMount``, retried) until then.  Its volume gives the host path:

- ``hostPath``: as a pod's hostPath volume (its ``type`` checked or created);
- ``local``: the directory must exist;
- ``csi`` of driver ``jetkube.io/local-path`` (the built-in provisioner's):
  ``<data dir>/local-path/<volume name>``, made 0777 on first use as rancher's
  local-path provisioner makes it; before the directory is made the volume gets the
  ``jetkube.io/local-path-data`` finalizer, so it cannot be removed from the API before its
  data is removed from this disk;
- anything else is not supported by this node agent (the pod waits, saying so).

**Cleaning up** (``LocalPathCleaner``).  Every ``CLEANUP_SECONDS`` the agent looks at the
directories under ``<data dir>/local-path/``; a directory whose volume is being deleted
(its claim was deleted and the class's reclaim policy is Delete) is removed, then the
volume's finalizer.  A volume that still exists keeps its directory, mounted or not: data
outlives pods, as a PersistentVolume's should.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import shutil
from pathlib import Path

from jetkube.schemas.objects import Obj
from jetkube.schemas.storageutil import (
    LOCAL_PATH_DIR,
    LOCAL_PATH_FINALIZER,
    LOCAL_PATH_PROVISIONER,
)
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient
from jetkube.services.machinery.runtime import Clock

from .envvars import ConfigError

log = logging.getLogger(__name__)

PVS, PVCS = "persistentvolumes", "persistentvolumeclaims"
CLEANUP_SECONDS = 10.0
"""How often the node agent looks for local-path directories of deleted volumes."""
FINALIZER_ATTEMPTS = 5


def local_path_dir(root: Path, volume_name: str) -> Path:
    return root / LOCAL_PATH_DIR / volume_name


async def _get(api: ApiClient, resource: str, namespace: str | None, name: str,
               what: str) -> Obj:
    try:
        obj: Obj = await api.get(resource, namespace, name)
    except apierrors.ApiError as err:
        if err.code == 404:
            raise ConfigError(f"{what} not found") from None
        raise ConfigError(f"{what}: {err.message}") from None
    return obj


async def claim_host_path(api: ApiClient, root: Path, namespace: str, source: Obj) -> Obj:
    """The host directory (as a ``hostPath`` source) of the volume bound to the claim a pod
    volume's ``persistentVolumeClaim`` ``source`` names; ``ConfigError`` while there is
    none yet."""
    name = str(source.get("claimName") or "")
    claim = await _get(api, PVCS, namespace, name,
                       f'persistentvolumeclaim "{name}"')
    if claim["metadata"].get("deletionTimestamp"):
        raise ConfigError(f"can't start pod because PVC {namespace}/{name} is being deleted")
    volume_name = (claim.get("spec") or {}).get("volumeName")
    if not volume_name or (claim.get("status") or {}).get("phase") != "Bound":
        raise ConfigError(f"error processing PVC {namespace}/{name}: PVC is not bound")
    volume = await _get(api, PVS, None, str(volume_name),
                        f'persistentvolume "{volume_name}"')
    spec = volume.get("spec") or {}
    if spec.get("hostPath"):
        return dict(spec["hostPath"])
    if spec.get("local"):
        return {"path": spec["local"]["path"], "type": "Directory"}
    if (spec.get("csi") or {}).get("driver") == LOCAL_PATH_PROVISIONER:
        return {"path": str(await _local_path(api, root, volume)), "type": "Directory"}
    kind = next((k for k in ("nfs", "csi") if spec.get(k)), "unknown")
    raise ConfigError(f'persistentvolume "{volume_name}": {kind} volumes are not supported '
                      "by this node agent")


async def _local_path(api: ApiClient, root: Path, volume: Obj) -> Path:
    """The volume's directory on this node: its finalizer first, then the directory."""
    md = volume["metadata"]
    path = local_path_dir(root, str(md["name"]))
    if path.is_dir() and LOCAL_PATH_FINALIZER in (md.get("finalizers") or ()):
        return path
    if LOCAL_PATH_FINALIZER not in (md.get("finalizers") or ()):
        if md.get("deletionTimestamp"):
            raise ConfigError(f'persistentvolume "{md["name"]}" is being deleted')
        new = copy.deepcopy(volume)
        new["metadata"]["finalizers"] = [*(md.get("finalizers") or ()), LOCAL_PATH_FINALIZER]
        try:
            await api.update(PVS, None, str(md["name"]), new)
        except apierrors.ApiError as err:
            raise ConfigError(f'persistentvolume "{md["name"]}": {err.message}') from None
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o777)
    return path


class LocalPathCleaner:
    """Removes the directories of this node's deleted local-path volumes, then their
    finalizers."""

    def __init__(self, api: ApiClient, root: Path, clock: Clock) -> None:
        self.api, self.root, self.clock = api, root, clock

    async def run(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("local-path cleanup failed")
            await self.clock.sleep(CLEANUP_SECONDS)

    async def sweep(self) -> list[str]:
        """One pass; returns the volumes whose data it removed."""
        base = self.root / LOCAL_PATH_DIR
        if not base.is_dir():
            return []
        removed: list[str] = []
        for path in sorted(p for p in base.iterdir() if p.is_dir()):
            try:
                volume = await self.api.get(PVS, None, path.name)
            except apierrors.ApiError as err:
                # gone, or no longer this node's to read: not ours to judge
                log.debug("local-path %s: %s", path, err.message)
                continue
            md = volume["metadata"]
            if not md.get("deletionTimestamp"):
                continue
            await asyncio.to_thread(shutil.rmtree, path, True)
            log.info("removed the data of deleted volume %s (%s)", path.name, path)
            removed.append(path.name)
            await self._release(volume)
        return removed

    async def _release(self, volume: Obj) -> None:
        """Remove the finalizer (reading the volume again after a conflict)."""
        name = str(volume["metadata"]["name"])
        for _ in range(FINALIZER_ATTEMPTS):
            finalizers = volume["metadata"].get("finalizers") or []
            if LOCAL_PATH_FINALIZER not in finalizers:
                return
            new = copy.deepcopy(volume)
            new["metadata"]["finalizers"] = [f for f in finalizers if f != LOCAL_PATH_FINALIZER]
            try:
                await self.api.update(PVS, None, name, new)
                return
            except apierrors.ApiError as err:
                if err.code != 409:
                    log.warning("volume %s: finalizer not removed: %s", name, err.message)
                    return
            try:
                volume = await self.api.get(PVS, None, name)
            except apierrors.ApiError:
                return
