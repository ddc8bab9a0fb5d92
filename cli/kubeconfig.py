"""kubeconfig: Kubernetes' client configuration file, loaded and resolved.

Where it comes from, first match wins: ``--kubeconfig``, then ``$KUBECONFIG``
(a ``:``-separated list, merged the way kubectl merges: the first file that
names a cluster/user/context or sets current-context wins), then
``$JETKUBE_DATA_DIR/kubeconfig``, then ``~/.jetkube/kubeconfig``.

:func:`resolve` turns it plus command-line overrides (``--context``,
``--server``, ``--token``, ``-n``) into the :class:`ClientConfig` a command
connects with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import CliError

DEFAULT_SERVER = "http://127.0.0.1:6443"
DEFAULT_DATA_DIR = Path("~/.jetkube")


def default_data_dir() -> Path:
    env = os.environ.get("JETKUBE_DATA_DIR")
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR.expanduser()


def candidate_paths(explicit: str | None) -> list[Path]:
    """The kubeconfig files to read, in precedence order."""
    if explicit:
        return [Path(explicit).expanduser()]
    env = os.environ.get("KUBECONFIG")
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [default_data_dir() / "kubeconfig"]


def _named(items: Any) -> dict[str, dict[str, Any]]:
    """``[{name: x, cluster: {...}}]`` → ``{x: {...}}`` (the payload under the entry's key)."""
    out: dict[str, dict[str, Any]] = {}
    for it in items or []:
        if isinstance(it, dict) and isinstance(it.get("name"), str):
            payload = next((v for k, v in it.items() if k != "name" and isinstance(v, dict)), {})
            out.setdefault(it["name"], payload)
    return out


@dataclass
class Kubeconfig:
    """The merged view of one or more kubeconfig files."""

    paths: list[Path]
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    contexts: dict[str, dict[str, Any]] = field(default_factory=dict)
    current_context: str = ""

    @property
    def path(self) -> Path:
        """The file that edits (use-context, set-context) are written to."""
        existing = [p for p in self.paths if p.exists()]
        return existing[0] if existing else self.paths[0]

    @property
    def exists(self) -> bool:
        return any(p.exists() for p in self.paths)


def load(explicit: str | None = None) -> Kubeconfig:
    paths = candidate_paths(explicit)
    if explicit and not paths[0].exists():
        raise CliError(f"stat {paths[0]}: no such file or directory")
    kc = Kubeconfig(paths)
    for p in paths:
        if not p.exists():
            continue
        data = read_file(p)
        for name, payload in _named(data.get("clusters")).items():
            kc.clusters.setdefault(name, payload)
        for name, payload in _named(data.get("users")).items():
            kc.users.setdefault(name, payload)
        for name, payload in _named(data.get("contexts")).items():
            kc.contexts.setdefault(name, payload)
        if not kc.current_context and data.get("current-context"):
            kc.current_context = str(data["current-context"])
    return kc


def read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise CliError(f"error loading config file \"{path}\": {e}") from None
    except OSError as e:
        raise CliError(f"error loading config file \"{path}\": {e.strerror}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CliError(f"error loading config file \"{path}\": not a kubeconfig mapping")
    return data


def write_file(path: Path, data: dict[str, Any]) -> None:
    """Write a kubeconfig (mode 0600: it holds credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    os.replace(tmp, path)


def new_config(*, server: str, token: str, cluster: str = "jetkube", user: str = "admin",
               namespace: str = "default") -> dict[str, Any]:
    """A one-cluster kubeconfig in Kubernetes' format."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": cluster,
                      "context": {"cluster": cluster, "user": user, "namespace": namespace}}],
        "current-context": cluster,
        "preferences": {},
    }


@dataclass(frozen=True)
class ClientConfig:
    """What a command connects with."""

    server: str
    token: str | None
    namespace: str
    namespace_explicit: bool  # -n was given (kubectl then rejects mismatching manifests)
    context: str
    kubeconfig: Kubeconfig


def resolve(kc: Kubeconfig, *, context: str | None = None, namespace: str | None = None,
            server: str | None = None, token: str | None = None) -> ClientConfig:
    ctx_name = context or kc.current_context
    ctx: dict[str, Any] = {}
    if ctx_name:
        if ctx_name not in kc.contexts:
            if context:
                raise CliError(f'context "{ctx_name}" does not exist')
        else:
            ctx = kc.contexts[ctx_name]
    cluster = kc.clusters.get(str(ctx.get("cluster", "")), {})
    user = kc.users.get(str(ctx.get("user", "")), {})
    tok = token or user.get("token")
    if not tok and user.get("tokenFile"):
        try:
            tok = Path(str(user["tokenFile"])).expanduser().read_text().strip()
        except OSError as e:
            raise CliError(f"reading token file {user['tokenFile']}: {e.strerror}") from None
    srv = server or cluster.get("server") or DEFAULT_SERVER
    ns = namespace or ctx.get("namespace") or "default"
    return ClientConfig(server=str(srv).rstrip("/"), token=str(tok) if tok else None,
                        namespace=str(ns), namespace_explicit=bool(namespace),
                        context=ctx_name, kubeconfig=kc)
