"""Table columns for ``kctl get``, per kind, the way kubectl prints them.

Each :class:`Printer` gives the headers and the cells of one row (normal and
``-o wide``); kinds without a printer get ``NAME AGE``.  :func:`render` lays
rows out in kubectl's plain columns (no borders), so output stays parseable.
"""

from __future__ import annotations

from dataclasses import dataclass

from jetkube.schemas.objects import Obj

from .rows import (
    RowFn,
    _binding,
    _binding_wide,
    _componentstatus,
    _containers_images,
    _created_at,
    _cronjob,
    _daemonset,
    _deployment,
    _event,
    _event_wide,
    _job,
    _node,
    _node_wide,
    _pod,
    _pod_wide,
    _replicaset,
    _simple,
    _spec,
    _statefulset,
    _status,
    _with_selector,
    age_of,
    name_of,
)
from .rows_net import _endpointslice, _service, _service_wide, endpoints_string


@dataclass(frozen=True)
class Printer:
    headers: tuple[str, ...]
    row: RowFn
    wide_headers: tuple[str, ...] = ()
    wide_row: RowFn | None = None
    name_col: int | None = 0  # which column holds the name (None: no NAME column)
    wide_replaces: bool = False  # -o wide is a row of its own, not extra columns

    def columns(self, wide: bool) -> list[str]:
        if wide and self.wide_replaces:
            return list(self.wide_headers)
        return list(self.headers) + (list(self.wide_headers) if wide else [])

    def cells(self, o: Obj, wide: bool) -> list[str]:
        if wide and self.wide_replaces and self.wide_row is not None:
            return self.wide_row(o)
        cells = self.row(o)
        if wide and self.wide_row is not None:
            cells += self.wide_row(o)
        return cells


_WORKLOAD_WIDE = ("CONTAINERS", "IMAGES", "SELECTOR")
_SERVICE = ("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE")

PRINTERS: dict[str, Printer] = {
    "Pod": Printer(("NAME", "READY", "STATUS", "RESTARTS", "AGE"), _pod,
                   ("IP", "NODE", "NOMINATED NODE", "READINESS GATES"), _pod_wide),
    "Deployment": Printer(("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"), _deployment,
                          _WORKLOAD_WIDE, _with_selector),
    "ReplicaSet": Printer(("NAME", "DESIRED", "CURRENT", "READY", "AGE"), _replicaset,
                          _WORKLOAD_WIDE, _with_selector),
    "ReplicationController": Printer(("NAME", "DESIRED", "CURRENT", "READY", "AGE"), _replicaset,
                                     _WORKLOAD_WIDE, _with_selector),
    "StatefulSet": Printer(("NAME", "READY", "AGE"), _statefulset, ("CONTAINERS", "IMAGES"),
                           _containers_images),
    "DaemonSet": Printer(("NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE",
                          "NODE SELECTOR", "AGE"), _daemonset, _WORKLOAD_WIDE, _with_selector),
    "Job": Printer(("NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"), _job,
                   _WORKLOAD_WIDE, _with_selector),
    "CronJob": Printer(("NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST SCHEDULE",
                        "AGE"), _cronjob),
    # -o wide is a row of its own: the EXTERNAL-IP is not clipped there
    "Service": Printer(_SERVICE, _service, (*_SERVICE, "SELECTOR"), _service_wide,
                       wide_replaces=True),
    "Endpoints": Printer(("NAME", "ENDPOINTS", "AGE"),
                         _simple(endpoints_string)),
    "EndpointSlice": Printer(("NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"), _endpointslice),
    "Node": Printer(("NAME", "STATUS", "ROLES", "AGE", "VERSION"), _node,
                    ("INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION",
                     "CONTAINER-RUNTIME"), _node_wide),
    "Namespace": Printer(("NAME", "STATUS", "AGE"),
                         _simple(lambda o: str(_status(o).get("phase") or "Active"))),
    "ConfigMap": Printer(("NAME", "DATA", "AGE"), _simple(
        lambda o: str(len(o.get("data") or {}) + len(o.get("binaryData") or {})))),
    "Secret": Printer(("NAME", "TYPE", "DATA", "AGE"), _simple(
        lambda o: str(o.get("type") or "Opaque"), lambda o: str(len(o.get("data") or {})))),
    "ServiceAccount": Printer(("NAME", "SECRETS", "AGE"),
                              _simple(lambda o: str(len(o.get("secrets") or [])))),
    "Event": Printer(("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"), _event,
                     ("LAST SEEN", "TYPE", "REASON", "OBJECT", "SUBOBJECT", "SOURCE", "MESSAGE",
                      "FIRST SEEN", "COUNT", "NAME"), _event_wide, name_col=None,
                     wide_replaces=True),
    "Lease": Printer(("NAME", "HOLDER", "AGE"),
                     _simple(lambda o: str(_spec(o).get("holderIdentity") or ""))),
    "Role": Printer(("NAME", "CREATED AT"), _created_at),
    "ClusterRole": Printer(("NAME", "CREATED AT"), _created_at),
    "RoleBinding": Printer(("NAME", "ROLE", "AGE"), _binding,
                           ("USERS", "GROUPS", "SERVICEACCOUNTS"), _binding_wide),
    "ClusterRoleBinding": Printer(("NAME", "ROLE", "AGE"), _binding,
                                  ("USERS", "GROUPS", "SERVICEACCOUNTS"), _binding_wide),
    "CustomResourceDefinition": Printer(("NAME", "CREATED AT"), _created_at),
    "ComponentStatus": Printer(("NAME", "STATUS", "MESSAGE", "ERROR"), _componentstatus),
    "PriorityClass": Printer(("NAME", "VALUE", "GLOBAL-DEFAULT", "AGE"), _simple(
        lambda o: str(o.get("value", 0)), lambda o: str(bool(o.get("globalDefault"))))),
    "PersistentVolumeClaim": Printer(("NAME", "STATUS", "VOLUME", "CAPACITY", "AGE"), _simple(
        lambda o: str(_status(o).get("phase") or ""),
        lambda o: str(_spec(o).get("volumeName") or ""),
        lambda o: str((_status(o).get("capacity") or {}).get("storage") or ""))),
}

GENERIC = Printer(("NAME", "AGE"), lambda o: [name_of(o), age_of(o)])


def printer_for(kind: str) -> Printer:
    return PRINTERS.get(kind, GENERIC)


def column_widths(headers: list[str], rows: list[list[str]],
                  at_least: list[int] | None = None, *, pad: int = 3,
                  min_width: int = 6) -> list[int]:
    """Each column's cell width: longest cell + 3 spaces, at least 6 (kubectl's tabwriter)."""
    n = max([len(headers)] + [len(r) for r in rows])
    w = [len(h) for h in headers] + [0] * (n - len(headers))
    for r in rows:
        for i, cell in enumerate(r):
            w[i] = max(w[i], len(cell))
    w = [max(x + pad, min_width) for x in w]
    if at_least:
        w = [max(x, at_least[i]) if i < len(at_least) else x for i, x in enumerate(w)]
    return w


def render(headers: list[str], rows: list[list[str]], *, show_headers: bool = True,
           widths: list[int] | None = None, pad: int = 3, min_width: int = 6) -> list[str]:
    """kubectl's plain column layout: left-aligned, at least three spaces between columns."""
    shown = ([headers] if show_headers and headers else []) + rows
    w = widths or column_widths(headers if show_headers else [], rows, pad=pad,
                                min_width=min_width)
    lines = []
    for r in shown:
        cells = [c.ljust(w[i]) if i < len(r) - 1 and i < len(w) else c for i, c in enumerate(r)]
        lines.append("".join(cells).rstrip())
    return lines
