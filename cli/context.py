"""What every kctl command works with: resolved config, API client, discovery.

:class:`Ctx` is built once per invocation from the global flags and creates
the client and the discovery cache lazily (``kctl config`` never connects, and
``kctl version --client`` imports neither the HTTP client nor the kubeconfig reader;
a test may hand in the client's transport: an httpx one serves kctl in-process).
:func:`targets` parses the ``TYPE[,TYPE] [NAME...]`` / ``TYPE/NAME...``
arguments shared by get, describe, delete, label and annotate.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from .errors import CliError

if TYPE_CHECKING:  # imported when first used: commands that never connect skip http, yaml
    import httpx

    from . import kubeconfig
    from ._http import Transport
    from .client import HttpApiClient
    from .discovery import Discovery, ResourceInfo


class Ctx:
    """One invocation's flags, and its config, client and discovery once first used."""

    def __init__(self, args: argparse.Namespace,
                 transport: Transport | httpx.BaseTransport | None = None) -> None:
        self.args = args
        self.transport = transport
        self._config: kubeconfig.ClientConfig | None = None
        self._client: HttpApiClient | None = None
        self._discovery: Discovery | None = None

    @property
    def config(self) -> kubeconfig.ClientConfig:
        if self._config is None:
            from . import kubeconfig

            a = self.args
            kc = kubeconfig.load(getattr(a, "kubeconfig", None))
            self._config = kubeconfig.resolve(
                kc, context=getattr(a, "context", None), namespace=getattr(a, "namespace", None),
                server=getattr(a, "server", None), token=getattr(a, "token", None))
        return self._config

    @property
    def client(self) -> HttpApiClient:
        if self._client is None:
            from .client import HttpApiClient

            timeout = float(getattr(self.args, "request_timeout", None) or 30.0)
            self._client = HttpApiClient(self.config.server, self.config.token,
                                         transport=self.transport, timeout=timeout,
                                         verify=self.config.verify)
        return self._client

    @property
    def discovery(self) -> Discovery:
        if self._discovery is None:
            from .discovery import Discovery

            self._discovery = Discovery(self.client)
        return self._discovery

    @property
    def namespace(self) -> str:
        return self.config.namespace

    @property
    def all_namespaces(self) -> bool:
        return bool(getattr(self.args, "all_namespaces", False))

    def list_namespace(self, info: ResourceInfo) -> str | None:
        """The namespace a list of ``info`` is scoped to (None: cluster-wide)."""
        if not info.namespaced or self.all_namespaces:
            return None
        return self.namespace

    def object_namespace(self, info: ResourceInfo, manifest_ns: str = "") -> str | None:
        """The namespace of one object (manifest, else -n/context), None if cluster-scoped."""
        if not info.namespaced:
            return None
        cfg = self.config
        if manifest_ns and cfg.namespace_explicit and manifest_ns != cfg.namespace:
            raise CliError(
                f'the namespace from the provided object "{manifest_ns}" does not match the '
                f'namespace "{cfg.namespace}". You must pass \'--namespace={manifest_ns}\' '
                "to perform this operation.")
        return manifest_ns or cfg.namespace

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


# (the type named as a string: discovery, a dataclass module, is imported when first used)
Target = tuple["ResourceInfo", list[str]]
Named = tuple["ResourceInfo", str | None, str]  # (type, namespace, name)

NO_RESOURCES = ("You must provide one or more resources by argument or filename.\n"
                "Example resource specifications include:\n   '-f rsrc.yaml'\n"
                "   '--filename=rsrc.json'\n   '<resource> <name>'\n   '<resource>'")


def file_objects(ctx: Ctx, verb: str) -> list[Named] | None:
    """(type, namespace, name) of every object in the ``-f`` files, or None when no file
    was given; kubectl's errors when files and arguments are both given, or neither."""
    from .manifests import load

    a = ctx.args
    if not a.filename:
        if not a.args:
            raise CliError(NO_RESOURCES)
        return None
    if a.args:
        raise CliError("You must provide one or more resources by argument or filename.")
    out: list[Named] = []
    for m in load(a.filename, recursive=a.recursive, verb=verb):
        info = ctx.discovery.for_kind(m.api_version, m.kind)
        out.append((info, ctx.object_namespace(info, m.namespace), m.name))
    return out


def targets(ctx: Ctx, args: list[str], *, verb: str = "get",
            allow_no_names: bool = True) -> list[Target]:
    """``pods,svc a b`` or ``pod/a svc/b`` → [(type, names)] in order (names may be empty)."""
    if not args:
        raise CliError(f"You must specify the type of resource to {verb}. Use \"kctl "
                       "api-resources\" for a complete list of supported resources.")
    if any("/" in a for a in args):
        out: list[Target] = []
        for a in args:
            if "/" not in a:
                raise CliError("there is no need to specify a resource type as a separate "
                               "argument when passing arguments in resource/name form "
                               f"(e.g. 'kctl {verb} resource/<resource_name>' instead of "
                               f"'kctl {verb} resource resource/<resource_name>'")
            typ, _, name = a.partition("/")
            if not name:
                raise CliError(f'arguments in resource/name form must have a single resource '
                               f'and name: "{a}"')
            info = ctx.discovery.resolve(typ)
            for i, (seen, names) in enumerate(out):
                if seen == info:
                    out[i] = (seen, [*names, name])
                    break
            else:
                out.append((info, [name]))
        return out
    types = [t for t in args[0].split(",") if t]
    names = args[1:]
    if names and len(types) > 1:
        raise CliError(f"you must specify only one resource type when naming objects: {args[0]}")
    infos: list[Target] = []
    for t in types:
        try:
            found = [ctx.discovery.resolve(t)]
        except CliError:
            found = ctx.discovery.category(t.lower())
            if not found or names:
                raise
        for info in found:
            if info not in [i for i, _ in infos]:
                infos.append((info, list(names)))
    if not allow_no_names and not names:
        raise CliError(f"resource(s) were provided, but no name was specified for {verb}")
    return infos
