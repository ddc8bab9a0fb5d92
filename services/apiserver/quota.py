"""ResourceQuota admission: usage from the watch cache plus writes in flight.

Usage counts objects in the cache (pods in a terminal phase do not count) and
the creates this server admitted that the cache has not shown yet, so a
burst of creates through one API server never overshoots a quota.
"""

from __future__ import annotations

from decimal import Decimal

from jetkube.schemas.objects import Obj
from jetkube.schemas.quantity import (
    QuantityFormat,
    canonical_quantity,
    parse_quantity,
    quantity_format,
)
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors, object_key
from .watchcache import Cached, ResourceCache, WatchCache

_LEGACY_COUNTS = {"pods": "pods", "services": "services", "configmaps": "configmaps",
                  "secrets": "secrets", "resourcequotas": "resourcequotas",
                  "persistentvolumeclaims": "persistentvolumeclaims"}


_PodUse = tuple[int, "dict[str, Decimal] | None", "dict[str, QuantityFormat]"]
"""(resourceVersion, usage or None when finished, the usage's quantity formats)."""


def _pod_terminal(obj: Obj) -> bool:
    return (obj.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def pod_usage(pod: Obj, formats: dict[str, QuantityFormat] | None = None
              ) -> dict[str, Decimal]:
    """What ``pod`` counts against ``requests.*``/``limits.*`` (and ``cpu``/``memory``);
    ``formats`` gets each one's quantity format, as Kubernetes' ``Quantity.Add`` keeps it
    (the first non-zero term's), to print it the way Kubernetes does."""
    out: dict[str, Decimal] = {}
    fmts: dict[str, QuantityFormat] = {}
    for c in (pod.get("spec") or {}).get("containers") or []:
        res = c.get("resources") or {}
        for kind in ("requests", "limits"):
            for r, q in (res.get(kind) or {}).items():
                name = f"{kind}.{r}"
                v = parse_quantity(q)
                if not out.get(name):
                    fmts[name] = quantity_format(q)
                out[name] = out.get(name, Decimal(0)) + v
    for alias, full in (("cpu", "requests.cpu"), ("memory", "requests.memory")):
        if full in out:
            out[alias], fmts[alias] = out[full], fmts[full]
    if formats is not None:
        for name, f in fmts.items():
            formats.setdefault(name, f)
    return out


def _quantities(names: list[str], values: dict[str, Decimal],
                formats: dict[str, QuantityFormat]) -> str:
    """``name=quantity,...`` as Kubernetes' quota messages print a ResourceList."""
    return ",".join(
        f"{k}={canonical_quantity(values.get(k, Decimal(0)), formats.get(k, 'DecimalSI'))}"
        for k in names)


class QuotaChecker:
    def __init__(self, cache: WatchCache) -> None:
        self.cache = cache
        self.pending: dict[str, tuple[str, str, dict[str, Decimal]]] = {}  # key -> (ns, res, use)
        self._pod_uses: dict[str, _PodUse] = {}
        """A pod's usage per key, for the version (resourceVersion) it was read from: the
        watch cache keeps pods as bytes (watchcache.BYTES_ONLY), so each pod of a namespace
        is decoded once per version, not at every create there."""

    def _pod_use(self, c: Cached, formats: dict[str, QuantityFormat]
                 ) -> dict[str, Decimal] | None:
        """What cached pod ``c`` counts (None when it has finished), formats added."""
        memo = self._pod_uses.get(c.key)
        if memo is None or memo[0] != c.rv:
            obj = c.obj
            fmts: dict[str, QuantityFormat] = {}
            memo = (c.rv, None if _pod_terminal(obj) else pod_usage(obj, fmts), fmts)
            if len(self._pod_uses) >= 2 * len(self.cache.resource("pods").items) + 1000:
                items = self.cache.resource("pods").items  # forget pods that are gone
                self._pod_uses = {k: v for k, v in self._pod_uses.items() if k in items}
            self._pod_uses[c.key] = memo
        for name, f in memo[2].items():
            formats.setdefault(name, f)
        return memo[1]

    def observed(self, key: str) -> None:
        self.pending.pop(key, None)

    def release(self, key: str) -> None:
        self.pending.pop(key, None)

    def _usage(self, rt: ResourceType, rc: ResourceCache, ns: str, names: set[str],
               formats: dict[str, QuantityFormat]) -> dict[str, Decimal]:
        used: dict[str, Decimal] = {}
        count_name = f"count/{rt.plural}" + (f".{rt.group}" if rt.group else "")
        uses: list[dict[str, Decimal] | None] = [
            self._pod_use(c, formats) if rt.plural == "pods" else {}
            for c in rc.by_ns.get(ns, {}).values()]
        for key, (pns, res, pending) in self.pending.items():
            if pns == ns and res == rt.plural and key not in rc.items:
                uses.append(pending)  # a pending admission's usage
        for use in uses:
            if use is None:
                continue  # a finished pod
            for n in (count_name, _LEGACY_COUNTS.get(rt.plural, "")):
                if n in names:
                    used[n] = used.get(n, Decimal(0)) + 1
            for n, v in use.items():
                if n in names and not n.startswith("count/") and n not in _LEGACY_COUNTS:
                    used[n] = used.get(n, Decimal(0)) + v
        return used

    async def admit(self, rt: ResourceType, new: Obj, *, record: bool = True) -> None:
        """Refuse ``new`` if it would exceed a quota of its namespace; unless ``record`` is
        False (a dry run), count it as in flight until the watch cache shows it.  A cold
        on-demand resource (ondemand.py) is counted from the store: from the read on, no
        await, so what is in flight is counted once."""
        ns = new["metadata"].get("namespace") or ""
        quotas = list(self.cache.resource("resourcequotas").by_ns.get(ns, {}).values())
        if not quotas:
            return
        rc, _ = await self.cache.current(rt.plural, ns, fresh=False)
        if self.cache.is_cold(rt.plural):  # the cache will never show these: the store has
            for key in [k for k in self.pending if k in rc.items]:
                self.pending.pop(key)
        count_name = f"count/{rt.plural}" + (f".{rt.group}" if rt.group else "")
        request: dict[str, Decimal] = {count_name: Decimal(1)}
        if rt.plural in _LEGACY_COUNTS:
            request[_LEGACY_COUNTS[rt.plural]] = Decimal(1)
        req_formats: dict[str, QuantityFormat] = {}
        if rt.plural == "pods":
            request.update(pod_usage(new, req_formats))
        name = new["metadata"].get("name", "")
        for q in quotas:
            hard_spec = (q.obj.get("spec") or {}).get("hard") or {}
            hard = {k: parse_quantity(v) for k, v in hard_spec.items()}
            relevant = {k for k in hard if k in request or (
                rt.plural == "pods" and k.split(".")[0] in ("requests", "limits", "cpu", "memory"))}
            if not relevant:
                continue
            missing = sorted(k for k in relevant if k not in request)
            if missing:
                raise apierrors.forbidden_message(
                    f'{rt.plural} "{name}" is forbidden: failed quota: {q.name}: must specify '
                    + ",".join(missing))
            used_formats: dict[str, QuantityFormat] = {}
            used = self._usage(rt, rc, ns, relevant, used_formats)
            over = [k for k in sorted(relevant) if used.get(k, Decimal(0)) + request[k] > hard[k]]
            if over:
                hard_formats = {k: quantity_format(v) for k, v in hard_spec.items()}
                raise apierrors.forbidden_message(
                    f'{rt.plural} "{name}" is forbidden: exceeded quota: {q.name}, requested: '
                    f"{_quantities(over, request, req_formats)}, "
                    f"used: {_quantities(over, used, used_formats)}, "
                    f"limited: {_quantities(over, hard, hard_formats)}")
        if not record:
            return
        key = object_key(rt.plural, ns, name)
        use = {k: v for k, v in request.items() if not k.startswith("count/")}
        self.pending[key] = (ns, rt.plural, use)
