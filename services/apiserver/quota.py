"""ResourceQuota admission: usage from the watch cache plus writes in flight.

Usage counts objects in the cache (pods in a terminal phase do not count) and
the creates this server admitted that the cache has not shown yet, so a
burst of creates through one API server never overshoots a quota.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.schemas.quantity import parse_quantity
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors, object_key
from .watchcache import WatchCache

_LEGACY_COUNTS = {"pods": "pods", "services": "services", "configmaps": "configmaps",
                  "secrets": "secrets", "resourcequotas": "resourcequotas",
                  "persistentvolumeclaims": "persistentvolumeclaims"}


def _pod_terminal(obj: Obj) -> bool:
    return (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_usage(pod: Obj) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for c in (pod.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r, q in (res.get(kind) or {}).items():
                name = f"{kind}.{r}"
                out[name] = out.get(name, Decimal(0)) + parse_quantity(q)
    for alias, full in (("cpu", "requests.cpu"), ("memory", "requests.memory")):
        if full in out:
            out[alias] = out[full]
    return out


def _fmt(name: str, v: Decimal) -> str:
    if name.endswith("cpu") and v != v.to_integral_value():
        return f"{int(v * 1000)}m"
    return str(v.normalize()) if v == v.to_integral_value() else str(v)


class QuotaChecker:
    def __init__(self, cache: WatchCache) -> None:
        self.cache = cache
        self.pending: dict[str, tuple[str, str, dict[str, Decimal]]] = {}  # key -> (ns, res, use)

    def observed(self, key: str) -> None:
        self.pending.pop(key, None)

    def release(self, key: str) -> None:
        self.pending.pop(key, None)

    def _usage(self, rt: ResourceType, ns: str, names: set[str]) -> dict[str, Decimal]:
        used: dict[str, Decimal] = {}
        count_name = f"count/{rt.plural}" + (f".{rt.group}" if rt.group else "")
        rc = self.cache.resource(rt.plural)
        objs: list[tuple[str, Any]] = [(c.key, c.obj) for c in rc.by_ns.get(ns, {}).values()]
        for key, (pns, res, use) in self.pending.items():
            if pns == ns and res == rt.plural and key not in rc.items:
                objs.append((key, use))
        for _, obj in objs:
            if isinstance(obj, dict) and "metadata" not in obj:
                use = obj  # a pending admission's usage
            elif rt.plural == "pods":
                if _pod_terminal(obj):
                    continue
                use = pod_usage(obj)
            else:
                use = {}
            for n in (count_name, _LEGACY_COUNTS.get(rt.plural, "")):
                if n in names:
                    used[n] = used.get(n, Decimal(0)) + 1
            for n, v in use.items():
                if n in names and not n.startswith("count/") and n not in _LEGACY_COUNTS:
                    used[n] = used.get(n, Decimal(0)) + v
        return used

    def admit(self, rt: ResourceType, new: Obj) -> None:
        ns = new["metadata"].get("namespace") or ""
        quotas = list(self.cache.resource("resourcequotas").by_ns.get(ns, {}).values())
        if not quotas:
            return
        count_name = f"count/{rt.plural}" + (f".{rt.group}" if rt.group else "")
        request: dict[str, Decimal] = {count_name: Decimal(1)}
        if rt.plural in _LEGACY_COUNTS:
            request[_LEGACY_COUNTS[rt.plural]] = Decimal(1)
        if rt.plural == "pods":
            request.update(pod_usage(new))
        name = new["metadata"].get("name", "")
        for q in quotas:
            hard = {k: parse_quantity(v) for k, v in ((q.obj.get("spec") or {}).get("hard")
                                                      or {}).items()}
            relevant = {k for k in hard if k in request or (
                rt.plural == "pods" and k.split(".")[0] in ("requests", "limits", "cpu", "memory"))}
            if not relevant:
                continue
            missing = sorted(k for k in relevant if k not in request)
            if missing:
                raise apierrors.forbidden_message(
                    f'{rt.plural} "{name}" is forbidden: failed quota: {q.name}: must specify '
                    + ",".join(missing))
            used = self._usage(rt, ns, relevant)
            over = [k for k in sorted(relevant) if used.get(k, Decimal(0)) + request[k] > hard[k]]
            if over:
                req_s = ",".join(f"{k}={_fmt(k, request[k])}" for k in over)
                used_s = ",".join(f"{k}={_fmt(k, used.get(k, Decimal(0)))}" for k in over)
                lim_s = ",".join(f"{k}={_fmt(k, hard[k])}" for k in over)
                raise apierrors.forbidden_message(
                    f'{rt.plural} "{name}" is forbidden: exceeded quota: {q.name}, requested: '
                    f"{req_s}, used: {used_s}, limited: {lim_s}")
        key = object_key(rt.plural, ns, name)
        use = {k: v for k, v in request.items() if not k.startswith("count/")}
        self.pending[key] = (ns, rt.plural, use)
