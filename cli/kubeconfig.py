"""kubeconfig: Kubernetes' client configuration file, loaded and resolved.

Where it comes from, first match wins: ``--kubeconfig``, then ``$KUBECONFIG``
(a ``:``-separated list, merged the way kubectl merges: the first file that
names a cluster/user/context or sets current-context wins; the reader is
machinery's ``load_kubeconfig``, which the services share), then
``$JETKUBE_DATA_DIR/kubeconfig``, then ``~/.jetkube/kubeconfig``.

:func:`resolve` turns it plus command-line overrides (``--context``,
``--server``, ``--token``, ``-n``) into the :class:`ClientConfig` a command
connects with: the server, the bearer token, and the TLS context that checks the
server against the cluster's CA and presents the user's client certificate, if any.
"""

from __future__ import annotations

import base64
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jetkube.services.machinery.apimachinery import (
    Kubeconfig,
    KubeconfigError,
    kubeconfig_env_paths,
    load_kubeconfig,
    read_kubeconfig_file,
    user_token,
)

from .errors import CliError

__all__ = ["ClientConfig", "Kubeconfig", "candidate_paths", "cluster_data_dir", "default_data_dir",
           "load",
           "new_config", "read_file", "resolve", "tls_verify", "with_client_cert", "write_file"]

DEFAULT_SERVER = "https://127.0.0.1:6443"
DEFAULT_DATA_DIR = Path("~/.jetkube")


def default_data_dir() -> Path:
    env = os.environ.get("JETKUBE_DATA_DIR")
    return Path(env).expanduser() if env else DEFAULT_DATA_DIR.expanduser()


def cluster_data_dir(explicit_kubeconfig: str | None) -> Path:
    """The data dir of the ``kctl up`` cluster the kubeconfig in use belongs to.

    ``$JETKUBE_DATA_DIR`` when set; else the directory of the first kubeconfig file in use
    (``--kubeconfig``, else ``$KUBECONFIG``'s list) that holds a ``cluster.json`` beside it
    (``kctl up`` writes ``DIR/kubeconfig`` next to ``DIR/cluster.json``); else
    ``~/.jetkube``.  So ``kctl down``, ``kctl trace`` and ``kctl store`` need no
    ``--data-dir`` once ``KUBECONFIG`` points at a cluster's kubeconfig."""
    if os.environ.get("JETKUBE_DATA_DIR"):
        return default_data_dir()
    for path in candidate_paths(explicit_kubeconfig):
        if (path.expanduser().parent / "cluster.json").is_file():
            return path.expanduser().resolve().parent
    return default_data_dir()


def candidate_paths(explicit: str | None) -> list[Path]:
    """The kubeconfig files to read, in precedence order."""
    if explicit:
        return [Path(explicit).expanduser()]
    return kubeconfig_env_paths() or [default_data_dir() / "kubeconfig"]


def load(explicit: str | None = None) -> Kubeconfig:
    paths = candidate_paths(explicit)
    if explicit and not paths[0].exists():
        raise CliError(f"stat {paths[0]}: no such file or directory")
    try:
        return load_kubeconfig(paths)
    except KubeconfigError as e:
        raise CliError(str(e)) from None


def read_file(path: Path) -> dict[str, Any]:
    try:
        return read_kubeconfig_file(path)
    except KubeconfigError as e:
        raise CliError(str(e)) from None


def write_file(path: Path, data: dict[str, Any]) -> None:
    """Write a kubeconfig (mode 0600: it holds credentials)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        yaml.safe_dump(data, f, sort_keys=False)
    os.replace(tmp, path)


def new_config(*, server: str, token: str, cluster: str = "jetkube", user: str = "admin",
               namespace: str = "default", ca_pem: bytes | None = None) -> dict[str, Any]:
    """A one-cluster kubeconfig in Kubernetes' format; ``ca_pem``: the CA the server's
    certificate chains to, as ``certificate-authority-data`` (base64 of the PEM)."""
    entry: dict[str, Any] = {"server": server}
    if ca_pem is not None:
        entry["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": entry}],
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
    verify: ssl.SSLContext | bool = True
    """How an ``https://`` server's certificate is checked: against the cluster's
    ``certificate-authority(-data)``, else the system's CAs; False with
    ``insecure-skip-tls-verify`` (kubectl's meanings).  A context also carries the user's
    client certificate, when the kubeconfig names one."""


def tls_verify(cluster: dict[str, Any]) -> ssl.SSLContext | bool:
    """The certificate check a kubeconfig cluster entry asks for (see ClientConfig.verify)."""
    if cluster.get("insecure-skip-tls-verify") is True:
        return False
    data, path = cluster.get("certificate-authority-data"), cluster.get("certificate-authority")
    try:
        if data:
            pem = base64.b64decode(str(data), validate=True).decode("ascii")
            ctx = ssl.create_default_context(cadata=pem)
        elif path:
            ctx = ssl.create_default_context(cafile=os.path.expanduser(str(path)))
        else:
            return True
    except (ValueError, OSError, ssl.SSLError) as e:
        raise CliError(f"the kubeconfig's certificate authority cannot be read: {e}") from None
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def with_client_cert(verify: ssl.SSLContext | bool, user: dict[str, Any],
                     user_name: str = "") -> ssl.SSLContext | bool:
    """``verify`` with the user's client certificate loaded for the TLS handshake
    (``client-certificate(-data)`` and ``client-key(-data)``: kubectl's certificate login);
    ``verify`` itself when the user names none."""
    cert_data, key_data = user.get("client-certificate-data"), user.get("client-key-data")
    cert_path, key_path = user.get("client-certificate"), user.get("client-key")
    if not (cert_data or cert_path):
        return verify
    if not (key_data or key_path):
        raise CliError(f"client-key-data or client-key must be specified for {user_name} to "
                       "use the clientCert authentication method.")
    if isinstance(verify, ssl.SSLContext):
        ctx = verify
    elif verify:
        ctx = ssl.create_default_context()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    else:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    try:
        if cert_data or key_data:  # ssl loads a chain from files only: a private temp dir
            import tempfile

            with tempfile.TemporaryDirectory(prefix="kctl-") as d:
                files = []
                for name, data, path in (("client.crt", cert_data, cert_path),
                                         ("client.key", key_data, key_path)):
                    if data:
                        path = os.path.join(d, name)
                        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                        with os.fdopen(fd, "wb") as f:
                            f.write(base64.b64decode(str(data), validate=True))
                    files.append(os.path.expanduser(str(path)))
                ctx.load_cert_chain(files[0], files[1])
        else:
            ctx.load_cert_chain(os.path.expanduser(str(cert_path)),
                                os.path.expanduser(str(key_path)))
    except (ValueError, OSError, ssl.SSLError) as e:
        raise CliError(f"the kubeconfig's client certificate cannot be read: {e}") from None
    return ctx


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
    user_name = str(ctx.get("user", ""))
    user = kc.users.get(user_name, {})
    try:
        tok = token or user_token(user)
    except KubeconfigError as e:
        raise CliError(str(e)) from None
    srv = server or cluster.get("server") or DEFAULT_SERVER
    ns = namespace or ctx.get("namespace") or "default"
    return ClientConfig(server=str(srv).rstrip("/"), token=str(tok) if tok else None,
                        namespace=str(ns), namespace_explicit=bool(namespace),
                        context=ctx_name, kubeconfig=kc,
                        verify=with_client_cert(tls_verify(cluster), user, user_name))
