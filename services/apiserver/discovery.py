"""Discovery documents: /api, /apis, /api/v1, /apis/<group>/<version>, /version."""

from __future__ import annotations

import platform
from typing import Any

from jetkube import __version__
from jetkube.schemas.registry import ResourceType, all_resources, metrics, reviews

KUBE_VERSION = ("1", "31")
_READ = ["get", "list", "watch"]
_ALL = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


def version_info() -> dict[str, Any]:
    return {
        "major": KUBE_VERSION[0], "minor": KUBE_VERSION[1],
        "gitVersion": f"v{KUBE_VERSION[0]}.{KUBE_VERSION[1]}.0+jetkube-{__version__}",
        "gitCommit": "", "gitTreeState": "clean", "buildDate": "",
        "goVersion": f"python{platform.python_version()}", "compiler": "cpython",
        "platform": f"{platform.system().lower()}/{platform.machine()}",
    }


def _visible(rt: ResourceType) -> bool:
    return not rt.plural.endswith("allocations")


def _served() -> tuple[ResourceType, ...]:
    return (*all_resources(), *reviews(), *metrics())


def group_versions() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rt in _served():
        if _visible(rt):
            vs = out.setdefault(rt.group, [])
            if rt.version not in vs:
                vs.append(rt.version)
    return out


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def _group(name: str, versions: list[str]) -> dict[str, Any]:
    gvs = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list() -> dict[str, Any]:
    groups = [_group(g, vs) for g, vs in sorted(group_versions().items()) if g]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(name: str) -> dict[str, Any] | None:
    vs = group_versions().get(name)
    if not vs or not name:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, vs)}


def resource_list(group: str, version: str) -> dict[str, Any] | None:
    rts = [rt for rt in _served() if rt.group == group and rt.version == version
           and _visible(rt)]
    if not rts:
        return None
    resources: list[dict[str, Any]] = []
    for rt in rts:
        verbs = ["create"] if rt in reviews() else ["get", "list"] if rt in metrics() else _ALL
        entry: dict[str, Any] = {"name": rt.plural, "singularName": rt.singular,
                                 "namespaced": rt.namespaced, "kind": rt.kind, "verbs": verbs}
        if rt.short_names:
            entry["shortNames"] = list(rt.short_names)
        if rt.categories:
            entry["categories"] = list(rt.categories)
        resources.append(entry)
        for sub in sorted(rt.subresources):
            kind = {"scale": "Scale", "binding": "Binding", "eviction": "Eviction",
                    "attach": "PodAttachOptions", "exec": "PodExecOptions",
                    "portforward": "PodPortForwardOptions"}.get(sub, rt.kind)
            verbs = {"binding": ["create"], "eviction": ["create"], "log": ["get"],
                     "exec": ["create", "get"], "attach": ["create", "get"],
                     "portforward": ["create", "get"]}.get(sub, ["get", "patch", "update"])
            sub_entry: dict[str, Any] = {"name": f"{rt.plural}/{sub}", "singularName": "",
                                         "namespaced": rt.namespaced, "kind": kind,
                                         "verbs": verbs}
            if sub == "eviction":  # kubectl drain looks for it with its group and version set
                sub_entry.update(group="policy", version="v1")
            resources.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": resources}
