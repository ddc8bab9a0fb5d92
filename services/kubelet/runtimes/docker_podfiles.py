"""The files the Docker runtime writes for one pod and bind-mounts into its sandbox and
containers: its resolv.conf (docker_network.write_resolv_conf) and its /etc/hosts
(docker_wiring.write_hosts_file), under ``<root>/pods/<uid>/``.  Written whole (a
reader never sees half a file), left alone when the text is the same, removed with the
pod's sandbox."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["HOSTS", "RESOLV_CONF", "existing", "path", "remove", "write"]

RESOLV_CONF = "resolv.conf"
HOSTS = "hosts"


def path(root: Path, uid: str, name: str) -> Path:
    return root / "pods" / uid / name


def write(root: Path, uid: str, name: str, text: str) -> str:
    """The pod's file ``name`` holding ``text``; its path."""
    p = path(root, uid, name)
    p.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        if p.read_text() == text:
            return str(p)
    tmp = p.with_name(f".{name}.tmp")
    tmp.write_text(text)
    tmp.chmod(0o644)
    os.replace(tmp, p)
    return str(p)


def existing(root: Path, uid: str, name: str) -> str | None:
    """The path of the pod's file ``name``, if it was written."""
    p = path(root, uid, name)
    return str(p) if uid and p.is_file() else None


def remove(root: Path, uid: str) -> None:
    """Every file written for the pod."""
    if uid:
        for name in (RESOLV_CONF, HOSTS):
            with contextlib.suppress(OSError):
                path(root, uid, name).unlink()
