"""A container's environment, resolved as the kubelet resolves it.

Service environment variables first (:func:`service_env`, Kubernetes' ``FromServices``,
read from the node's Service informer, as the kubelet's service lister:
``<SVC>_SERVICE_HOST``/``_PORT``, a variable per named port, and Docker-link variables
``<SVC>_PORT``, ``<SVC>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]``) of every Service with a
ClusterIP in the pod's namespace when ``enableServiceLinks`` is on, and of
``default/kubernetes`` always; the container's own variables below take precedence and may
refer to them.  Then ``envFrom`` sources (configMapRef / secretRef, with prefix), then
``env`` in order: plain values with ``$(VAR)`` expansion over what came
before, and ``valueFrom`` configMapKeyRef / secretKeyRef / fieldRef
(metadata.name/namespace/uid, labels['k'], annotations['k'], spec.nodeName,
spec.serviceAccountName, status.podIP(s), status.hostIP(s)) /
resourceFieldRef (limits and requests of cpu, memory, ephemeral-storage;
an unset limit reads as the node's allocatable).  A missing object or key
that is not optional raises :class:`ConfigError`, which the worker shows as
CreateContainerConfigError until the object appears.
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.schemas.quantity import parse_quantity

from .objects import ObjectSource, Ref, ServiceLister

_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SUBSCRIPT = re.compile(r"^metadata\.(labels|annotations)\['(.+)'\]$")


class ConfigError(Exception):
    """The container cannot be configured (yet): CreateContainerConfigError."""


def expand(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: unknown references stay, ``$$`` is ``$``."""
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1)
        return env[name] if name in env else m.group(0)

    return _VAR.sub(sub, text)


def field_value(pod: Obj, path: str, pod_ip: str, host_ip: str) -> str:
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    simple = {
        "metadata.name": md.get("name"), "metadata.namespace": md.get("namespace") or "default",
        "metadata.uid": md.get("uid"), "spec.nodeName": spec.get("nodeName"),
        "spec.serviceAccountName": spec.get("serviceAccountName"),
        "status.podIP": pod_ip, "status.podIPs": pod_ip, "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path] or "")
    m = _SUBSCRIPT.match(path)
    if m:
        return str((md.get(m.group(1)) or {}).get(m.group(2), ""))
    raise ConfigError(f"unsupported fieldRef fieldPath {path!r}")


def resource_value(pod: Obj, container: str, resource: str, divisor: Any,
                   allocatable: Mapping[str, str]) -> str:
    c = next((c for c in [*(pod["spec"].get("initContainers") or ()), *pod["spec"]["containers"]]
              if c.get("name") == container), None)
    if c is None:
        raise ConfigError(f"resourceFieldRef: no container {container!r}")
    kind, _, name = resource.partition(".")
    res = (c.get("resources") or {}).get(kind) or {}
    if name in res:
        value = parse_quantity(res[name])
    elif kind == "limits" and name in allocatable:
        value = parse_quantity(allocatable[name])
    elif kind in ("limits", "requests") and name in ("cpu", "memory", "ephemeral-storage"):
        value = Decimal(0)
    else:
        raise ConfigError(f"unsupported resourceFieldRef resource {resource!r}")
    div = parse_quantity(divisor) if divisor not in (None, "", 0, "0") else Decimal(1)
    return str(math.ceil(value / div))


MASTER_SERVICES = ("kubernetes",)
"""Services of ``default`` every pod sees, whatever its namespace and enableServiceLinks."""


def _env_name(name: str) -> str:
    return name.replace("-", "_").upper()


def service_env(services: list[Obj]) -> dict[str, str]:
    """Kubernetes' ``FromServices``: the variables of each service with a ClusterIP."""
    env: dict[str, str] = {}
    for svc in services:
        spec = svc.get("spec") or {}
        ip, ports = spec.get("clusterIP"), spec.get("ports") or []
        if not ip or ip == "None" or not ports:
            continue
        prefix = _env_name(str(svc["metadata"]["name"]))
        env[f"{prefix}_SERVICE_HOST"] = str(ip)
        env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
        for p in ports:
            if p.get("name"):
                env[f"{prefix}_SERVICE_PORT_{_env_name(p['name'])}"] = str(p["port"])
        for i, p in enumerate(ports):  # Docker-link variables
            proto = str(p.get("protocol") or "TCP")
            url = f"{proto.lower()}://{ip}:{p['port']}"
            if i == 0:
                env[f"{prefix}_PORT"] = url
            port_prefix = f"{prefix}_PORT_{p['port']}_{proto.upper()}"
            env[port_prefix] = url
            env[f"{port_prefix}_PROTO"] = proto.lower()
            env[f"{port_prefix}_PORT"] = str(p["port"])
            env[f"{port_prefix}_ADDR"] = str(ip)
    return env


SYNC_WAIT_S = 10.0
"""How long a pod's environment waits for the node's first read of every Service (its
informer's sync) before it fails with CreateContainerConfigError, to be retried."""


async def pod_services(services: ServiceLister, pod: Obj) -> list[Obj]:
    """The services whose variables a pod gets (the kubelet's ``getServiceEnvVarMap``,
    from its service lister: no request per pod): those of its namespace when
    ``enableServiceLinks`` (default true), then the master services of ``default`` not
    named by one of those.  Before the node has read the Services once, its pods wait
    for that read; past :data:`SYNC_WAIT_S`, ConfigError (the kubelet's "services have not
    yet been read at least once, cannot construct envvars")."""
    if not services.has_synced():
        try:
            await asyncio.wait_for(services.wait_synced(), SYNC_WAIT_S)
        except TimeoutError:
            raise ConfigError("services have not yet been read at least once, cannot "
                              "construct envvars") from None
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    links = (pod.get("spec") or {}).get("enableServiceLinks", True) is not False
    chosen: dict[str, Obj] = {}
    if links:
        for svc in services.list(ns):
            chosen[svc["metadata"]["name"]] = svc
    if ns != "default" or not links:
        for name in MASTER_SERVICES:
            master = services.get_by_name("default", name)
            if name not in chosen and master is not None:
                chosen[name] = master
    return sorted(chosen.values(), key=lambda s: str(s["metadata"]["name"]))


async def _source(objects: ObjectSource, used: set[Ref], resource: str, namespace: str,
                  name: str) -> dict[str, bytes] | None:
    used.add((resource, namespace, name))
    return await objects.data(resource, namespace, name)


def _kind(resource: str) -> str:
    return "configmap" if resource == "configmaps" else "secret"


async def resolve_env(pod: Obj, container: Obj, objects: ObjectSource, *, pod_ip: str,
                      host_ip: str, allocatable: Mapping[str, str],
                      used: set[Ref] | None = None) -> dict[str, str]:
    """The container's environment; ``used`` collects the objects it read."""
    used = used if used is not None else set()
    ns = (pod.get("metadata") or {}).get("namespace") or "default"
    services = service_env(await pod_services(objects.services, pod))
    env: dict[str, str] = {}
    for src in container.get("envFrom") or ():
        prefix = src.get("prefix") or ""
        for key, resource in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
            ref = src.get(key)
            if not ref:
                continue
            data = await _source(objects, used, resource, ns, ref.get("name") or "")
            if data is None:
                if ref.get("optional"):
                    continue
                raise ConfigError(f'{_kind(resource)} "{ref.get("name")}" not found')
            for k, v in data.items():
                if _ENV_NAME.match(prefix + k):
                    env[prefix + k] = v.decode(errors="replace")
    for var in container.get("env") or ():
        name = var["name"]
        vf = var.get("valueFrom")
        if not vf:
            env[name] = expand(var.get("value") or "", {**services, **env})
            continue
        value: str | None = None
        for key, resource in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
            ref = vf.get(key)
            if not ref:
                continue
            data = await _source(objects, used, resource, ns, ref.get("name") or "")
            if data is None or ref["key"] not in data:
                if ref.get("optional"):
                    break
                if data is None:
                    raise ConfigError(f'{_kind(resource)} "{ref.get("name")}" not found')
                raise ConfigError(f"couldn't find key {ref['key']} in "
                                  f"{'ConfigMap' if resource == 'configmaps' else 'Secret'} "
                                  f"{ns}/{ref.get('name')}")
            value = data[ref["key"]].decode(errors="replace")
        if vf.get("fieldRef"):
            value = field_value(pod, vf["fieldRef"]["fieldPath"], pod_ip, host_ip)
        elif vf.get("resourceFieldRef"):
            rf = vf["resourceFieldRef"]
            value = resource_value(pod, rf.get("containerName") or container["name"],
                                   rf["resource"], rf.get("divisor"), allocatable)
        if value is not None:
            env[name] = value
    return {**services, **env}
