"""API discovery: which resource types the server serves, and name resolution.

Like kubectl, kctl learns the resource types from the server (``/api``,
``/api/v1``, ``/apis``, ``/apis/<group>/<version>``) and resolves what the
user typed (``pods``, ``pod``, ``po``, ``Pod``, ``deployments.apps``,
``deployment.v1.apps``) or what a manifest says (``apiVersion`` + ``kind``)
to a :class:`ResourceInfo`, which knows its REST paths.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .errors import CliError

if TYPE_CHECKING:  # no HTTP client or API errors to import for ResourceInfo
    from .client import HttpApiClient


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    kind: str
    plural: str
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``deployments.apps`` / ``pods``: how Status messages and delete output name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def kind_qualified(self) -> str:
        """``deployment.apps`` / ``pod``: the prefix of ``kind/name`` output."""
        k = self.kind.lower()
        return f"{k}.{self.group}" if self.group else k

    def ref(self, name: str) -> str:
        return f"{self.kind_qualified}/{name}"

    def collection_path(self, namespace: str | None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"

    def path(self, namespace: str | None, name: str) -> str:
        return f"{self.collection_path(namespace)}/{name}"


def _from_entry(group: str, version: str, r: dict[str, Any]) -> ResourceInfo:
    plural = str(r["name"])
    kind = str(r.get("kind") or plural)
    return ResourceInfo(
        group=str(r.get("group") or group), version=str(r.get("version") or version),
        kind=kind, plural=plural, singular=str(r.get("singularName") or kind.lower()),
        namespaced=bool(r.get("namespaced")),
        short_names=tuple(r.get("shortNames") or ()), verbs=tuple(r.get("verbs") or ()),
        categories=tuple(r.get("categories") or ()))


class Discovery:
    """Lazily fetched discovery documents of one server."""

    def __init__(self, client: HttpApiClient) -> None:
        self.client = client
        self._preferred: list[ResourceInfo] | None = None
        self._groups: list[dict[str, Any]] | None = None
        self._by_gv: dict[str, list[ResourceInfo]] = {}

    def _gv_resources(self, group: str, version: str) -> list[ResourceInfo]:
        gv = f"{group}/{version}" if group else version
        if gv not in self._by_gv:
            from jetkube.services.machinery.apimachinery.apierrors import ApiError

            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                doc = self.client.get(path)
            except ApiError as e:
                if e.code == 404:
                    self._by_gv[gv] = []
                    return []
                raise
            self._by_gv[gv] = [_from_entry(group, version, r) for r in doc.get("resources", [])
                               if isinstance(r, dict) and "/" not in str(r.get("name", ""))]
        return self._by_gv[gv]

    def groups(self) -> list[dict[str, Any]]:
        """``/apis`` groups (each with ``name``, ``versions``, ``preferredVersion``)."""
        if self._groups is None:
            doc = self.client.get("/apis")
            self._groups = [g for g in doc.get("groups", []) if isinstance(g, dict)]
        return self._groups

    def core_versions(self) -> list[str]:
        doc = self.client.get("/api")
        return [str(v) for v in doc.get("versions", ["v1"])]

    def resources(self) -> list[ResourceInfo]:
        """Every resource type at its group's preferred version (core first)."""
        if self._preferred is None:
            out: list[ResourceInfo] = []
            for v in self.core_versions()[:1]:
                out.extend(self._gv_resources("", v))
            for g in self.groups():
                pref = (g.get("preferredVersion") or {}).get("version")
                if not pref and g.get("versions"):
                    pref = g["versions"][0].get("version")
                if pref:
                    out.extend(self._gv_resources(str(g["name"]), str(pref)))
            self._preferred = out
        return self._preferred

    # --- resolution -----------------------------------------------------

    def resolve(self, name: str) -> ResourceInfo:
        """What the user typed → a resource type, or kubectl's error."""
        found = self._find(name)
        if found is None:
            raise CliError(f'the server doesn\'t have a resource type "{name}"')
        return found

    def _find(self, name: str) -> ResourceInfo | None:
        low = name.lower()
        if "." in low:
            res, _, rest = low.partition(".")
            # resource.version.group first, then resource.group
            ver, _, grp = rest.partition(".")
            if grp:
                hit = self._match(res, group=grp, version=ver)
                if hit:
                    return hit
            hit = self._match(res, group=rest)
            if hit:
                return hit
        return self._match(low)

    def _group_resources(self, group: str) -> list[ResourceInfo]:
        """One group's resources at its preferred version (core: v1)."""
        if not group:
            return self._gv_resources("", "v1")
        for g in self.groups():
            if g.get("name") == group:
                pref = (g.get("preferredVersion") or {}).get("version")
                if not pref and g.get("versions"):
                    pref = g["versions"][0].get("version")
                return self._gv_resources(group, str(pref)) if pref else []
        return []

    def _pools(self, group: str | None, version: str | None) -> Iterator[list[ResourceInfo]]:
        """Where to look, in order, each fetched only if the one before has no match."""
        if version is not None and group is not None:
            yield self._gv_resources(group, version)
        elif group is not None:
            yield self._group_resources(group)
        else:  # the core group first (one request), then everything
            yield self._gv_resources("", "v1")
            yield self.resources()

    def _match(self, res: str, *, group: str | None = None,
               version: str | None = None) -> ResourceInfo | None:
        for pool in self._pools(group, version):
            for test in (lambda r: r.plural == res, lambda r: r.singular == res,
                         lambda r: res in r.short_names, lambda r: r.kind.lower() == res):
                hits = [r for r in pool if test(r)]
                if hits:
                    return hits[0]
        return None

    def category(self, name: str) -> list[ResourceInfo]:
        """The resource types in a kubectl category (``all``), from discovery; for a
        server that does not publish categories, from jetkube's resource table."""
        hits = [r for r in self.resources() if name in r.categories]
        if hits or any(r.categories for r in self.resources()):
            return hits
        from jetkube.schemas.registry import in_category

        known = {(t.group, t.plural) for t in in_category(name)}
        return [r for r in self.resources() if (r.group, r.plural) in known]

    def for_kind(self, api_version: str, kind: str) -> ResourceInfo:
        """A manifest's ``apiVersion`` + ``kind`` → its resource type."""
        group, _, version = api_version.rpartition("/")
        for r in self._gv_resources(group, version):
            if r.kind == kind:
                return r
        raise CliError(f'resource mapping not found for kind "{kind}" in version '
                       f'"{api_version}": no matches for kind "{kind}" in version '
                       f'"{api_version}"\nensure CRDs are installed first')
