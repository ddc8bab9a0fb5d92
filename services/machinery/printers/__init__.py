"""Kubernetes' table printers, shared by ``kctl get`` and the API server's Tables.

Each kind's columns (:class:`Column`, as a ``TableColumnDefinition``) and the function
computing a row's cells, as Kubernetes' printers compute them (``READY``, ``STATUS``,
``RESTARTS (5m ago)``, ``80:30080/TCP``…): kctl lays them out as text, the API server
answers them as a ``meta.k8s.io/v1`` Table for kubectl to lay out.  Also the time
formatting they use (ages as ``duration.HumanDuration``, describe's dates) and the helpers
kctl's ``describe`` shares with them.  Pure functions over JSON objects: no I/O.
"""

from __future__ import annotations

from ._printers import (
    AGE,
    CREATED_AT,
    DEFAULT_TABLE,
    GENERIC,
    NAME,
    PRINTERS,
    Cell,
    Column,
    Printer,
    printer_for,
    table_printer_for,
)
from ._rows import (
    NONE,
    RowFn,
    labels_string,
    node_roles,
    node_status,
    pod_status,
    selector_string,
)
from ._rows_net import endpoints_string, load_balancer_ingress, service_external_ip, service_ports
from ._timefmt import age, describe_time, human_duration, now

__all__ = [
    "AGE", "CREATED_AT", "DEFAULT_TABLE", "GENERIC", "NAME", "NONE", "PRINTERS", "Cell",
    "Column", "Printer", "RowFn", "age", "describe_time", "endpoints_string", "human_duration",
    "labels_string", "load_balancer_ingress", "node_roles", "node_status", "now", "pod_status",
    "printer_for", "selector_string", "service_external_ip", "service_ports",
    "table_printer_for",
]
