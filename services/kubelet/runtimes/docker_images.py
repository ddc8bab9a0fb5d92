"""Local images for the Docker runtime: the pod sandbox ("pause") and busybox.

No registry is reachable from the machines jetkube runs on, so images are
made here: a rootfs tarball holding a static busybox (Debian's
busybox-static, ``/bin/busybox``) with one symlink per applet, imported with
``docker import`` (the Engine API's ``POST /images/create?fromSrc=-``).  When
this machine has no static busybox (a remote DOCKER_HOST, say), an image
already present on the daemon that contains busybox is used as the base of
a one-line build instead, still without a registry.

``jetkube/pause:<version>`` runs a shell as PID 1 that sleeps forever, reaps
whatever is reparented to it and exits on SIGTERM/SIGINT: the sandbox that
owns a pod's network (and IPC) namespace.

``image_id_of`` and ``pull`` are the blocking daemon calls behind the pull
policies (docker_pulls.py, with the cache of image ids).
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import tarfile
import time
from typing import Any

import docker.errors

from jetkube import __version__

log = logging.getLogger(__name__)

BUSYBOX = "/bin/busybox"
PAUSE_IMAGE = f"jetkube/pause:{__version__}"
# busybox applets every image gets even when ``busybox --list`` cannot run here
_MIN_APPLETS = ("sh", "sleep", "echo", "cat", "ls", "env", "id", "true", "false", "kill",
                "wget", "nc", "httpd", "hostname", "ps", "mkdir", "rm", "test", "[", "timeout")
# PID 1 of a sandbox: trap TERM/INT (PID 1 gets no default action), sleep in the
# background and wait, which also reaps zombies reparented to it.
PAUSE_SCRIPT = ("trap 'exit 0' TERM INT; "
                "while :; do sleep 2147483647 & wait $!; kill $! 2>/dev/null; done")
_LABEL = "io.jetkube.image"


def _applets(busybox: str) -> list[str]:
    try:
        out = subprocess.run([busybox, "--list"], capture_output=True, text=True, timeout=10,
                             check=True).stdout.split()
    except (OSError, subprocess.SubprocessError):
        out = []
    return sorted(set(out) | set(_MIN_APPLETS))


def _add(tar: tarfile.TarFile, name: str, *, data: bytes | None = None, mode: int = 0o644,
         kind: bytes = tarfile.REGTYPE, link: str = "") -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.mtime = int(time.time())
    info.linkname = link
    if data is not None:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def busybox_rootfs(busybox: str = BUSYBOX) -> bytes:
    """A tarball of a minimal root filesystem around a static busybox."""
    with open(busybox, "rb") as f:
        binary = f.read()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for d, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("root", 0o700),
                        ("home", 0o755), ("var", 0o755), ("proc", 0o555), ("sys", 0o555),
                        ("dev", 0o755), ("usr", 0o755), ("usr/bin", 0o755)):
            _add(tar, d, kind=tarfile.DIRTYPE, mode=mode)
        _add(tar, "bin/busybox", data=binary, mode=0o755)
        for applet in _applets(busybox):
            if applet != "busybox" and "/" not in applet:
                _add(tar, f"bin/{applet}", kind=tarfile.SYMTYPE, link="busybox")
        _add(tar, "etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"
                                     b"nobody:x:65534:65534:nobody:/home:/bin/false\n")
        _add(tar, "etc/group", data=b"root:x:0:\nnobody:x:65534:\n")
    return buf.getvalue()


def image_id_of(client: Any, ref: str) -> str | None:
    """The id of image ``ref`` on the daemon, or None."""
    try:
        return str(client.api.inspect_image(ref)["Id"])
    except docker.errors.NotFound:
        return None


def pull(client: Any, ref: str) -> str:
    """Pull ``ref`` (``repo:tag`` or ``repo@digest``); its id.  Errors the daemon reports
    inside the pull's progress stream are raised as APIError."""
    repo, _, tag = ref.partition("@") if "@" in ref else ref.rpartition(":")
    for line in client.api.pull(repo, tag=tag, stream=True, decode=True):
        if isinstance(line, dict) and line.get("error"):
            raise docker.errors.APIError(str(line["error"]))
    found = image_id_of(client, ref)
    if found is None:
        raise docker.errors.APIError(f"the daemon pulled {ref} but does not list it")
    return found


def _changes(entrypoint: list[str] | None, cmd: list[str] | None, role: str) -> list[str]:
    out = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           f"LABEL {_LABEL}={role}"]
    if entrypoint is not None:
        out.append(f"ENTRYPOINT {json.dumps(entrypoint)}")
    if cmd is not None:
        out.append(f"CMD {json.dumps(cmd)}")
    return out


def _busybox_base(client: Any) -> str | None:
    """An image on the daemon with busybox in it (used when no local busybox exists)."""
    for img in client.api.images():
        for tag in img.get("RepoTags") or []:
            repo = tag.rsplit(":", 1)[0]
            if repo.endswith("busybox") and tag != "<none>:<none>":
                return str(tag)
    return None


def build_image(client: Any, tag: str, *, entrypoint: list[str] | None = None,
                cmd: list[str] | None = None, role: str = "busybox",
                busybox: str = BUSYBOX) -> str:
    """Build ``tag`` from the local static busybox (else from an image on the daemon
    that has busybox); returns the image id.  Blocking: call it off the event loop."""
    repo, _, version = tag.rpartition(":")
    if not repo or "/" in version:
        repo, version = tag, "latest"
    if os.path.exists(busybox):
        client.api.import_image_from_data(busybox_rootfs(busybox), repository=repo, tag=version,
                                          changes=_changes(entrypoint, cmd, role))
    else:
        base = _busybox_base(client)
        if base is None:
            raise FileNotFoundError(
                f"cannot build {tag}: no static busybox at {busybox} (Debian: apt-get install "
                "busybox-static) and no image with busybox on the daemon; no registry is "
                "reachable to pull one")
        lines = [f"FROM {base}", f"LABEL {_LABEL}={role}"]
        if entrypoint is not None:
            lines.append(f"ENTRYPOINT {json.dumps(entrypoint)}")
        if cmd is not None:
            lines.append(f"CMD {json.dumps(cmd)}")
        client.images.build(fileobj=io.BytesIO("\n".join(lines).encode()), tag=tag,
                            pull=False, rm=True)
    image_id = image_id_of(client, tag)
    if image_id is None:
        raise RuntimeError(f"built {tag} but the daemon does not list it")
    log.info("built image %s (%s)", tag, image_id[:19])
    return image_id


def ensure_image_built(client: Any, tag: str, *, role: str = "busybox", **kw: Any) -> str:
    """The id of ``tag``, building it from busybox when it is missing or was not built
    here (an image of that name made another way may lack applets, /tmp or PATH)."""
    try:
        attrs = client.api.inspect_image(tag)
        if ((attrs.get("Config") or {}).get("Labels") or {}).get(_LABEL) == role:
            return str(attrs["Id"])
    except docker.errors.NotFound:
        pass
    return build_image(client, tag, role=role, **kw)


def ensure_pause_image(client: Any, tag: str = PAUSE_IMAGE) -> str:
    """The sandbox image, built locally when missing (never pulled)."""
    return ensure_image_built(client, tag, entrypoint=["/bin/sh", "-c", PAUSE_SCRIPT], cmd=[],
                              role="pause")


def build_busybox_image(client: Any, tag: str = "jetkube/busybox:test",
                        *, rebuild: bool = False) -> str:
    """A general-purpose busybox image (``sh`` as its command), e.g. for tests."""
    if rebuild:
        return build_image(client, tag, cmd=["sh"])
    return ensure_image_built(client, tag, cmd=["sh"])


__all__ = ["BUSYBOX", "PAUSE_IMAGE", "PAUSE_SCRIPT", "build_busybox_image", "build_image",
           "busybox_rootfs", "ensure_image_built", "ensure_pause_image", "image_id_of", "pull"]
