"""kubeconfig files, read and merged the way kubectl reads them (clientcmd's rules).

``$KUBECONFIG`` is an ``os.pathsep``-separated list of files; files that do not
exist are skipped; the first file that names a cluster, user or context wins
it, and current-context comes from the first file that sets it.  kctl
(``jetkube.cli.kubeconfig``) and the e2e tools read through :func:`load_kubeconfig`.
It lives here rather than in ``machinery.client`` so kctl reads it without importing NATS and OpenTelemetry.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class KubeconfigError(Exception):
    """A kubeconfig (or a token file it names) that cannot be read."""


def kubeconfig_env_paths() -> list[Path]:
    """The files ``$KUBECONFIG`` lists, in precedence order (empty if it is unset)."""
    env = os.environ.get("KUBECONFIG", "")
    return [Path(p).expanduser() for p in env.split(os.pathsep) if p]


def read_kubeconfig_file(path: Path) -> dict[str, Any]:
    """One kubeconfig file as a mapping (``{}`` for an empty file)."""
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise KubeconfigError(f"error loading config file \"{path}\": {e}") from None
    except OSError as e:
        raise KubeconfigError(f"error loading config file \"{path}\": {e.strerror}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise KubeconfigError(f"error loading config file \"{path}\": not a kubeconfig mapping")
    return data


def _named(items: Any) -> dict[str, dict[str, Any]]:
    """``[{name: x, cluster: {...}}]`` → ``{x: {...}}`` (the payload under the entry's key)."""
    out: dict[str, dict[str, Any]] = {}
    for it in items or []:
        if isinstance(it, dict) and isinstance(it.get("name"), str):
            payload = next((v for k, v in it.items() if k != "name" and isinstance(v, dict)), {})
            out.setdefault(it["name"], payload)
    return out


def user_token(user: Mapping[str, Any]) -> str | None:
    """A kubeconfig user's bearer token: ``token``, else the contents of ``tokenFile``."""
    tok = user.get("token")
    if not tok and user.get("tokenFile"):
        try:
            tok = Path(str(user["tokenFile"])).expanduser().read_text().strip()
        except OSError as e:
            raise KubeconfigError(
                f"reading token file {user['tokenFile']}: {e.strerror}") from None
    return str(tok) if tok else None


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

    def token(self, context: str | None = None) -> str | None:
        """The bearer token of ``context``'s user (default: the current context)."""
        ctx = self.contexts.get(context or self.current_context) or {}
        return user_token(self.users.get(str(ctx.get("user", ""))) or {})


def load_kubeconfig(paths: Iterable[Path]) -> Kubeconfig:
    """Merge ``paths`` (missing files skipped) as kubectl merges ``$KUBECONFIG``."""
    kc = Kubeconfig(list(paths))
    for p in kc.paths:
        if not p.exists():
            continue
        data = read_kubeconfig_file(p)
        for name, payload in _named(data.get("clusters")).items():
            kc.clusters.setdefault(name, payload)
        for name, payload in _named(data.get("users")).items():
            kc.users.setdefault(name, payload)
        for name, payload in _named(data.get("contexts")).items():
            kc.contexts.setdefault(name, payload)
        if not kc.current_context and data.get("current-context"):
            kc.current_context = str(data["current-context"])
    return kc
