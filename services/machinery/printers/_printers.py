"""The columns of each kind, as Kubernetes' printers declare them, with the function that
computes a row's cells: one table for ``kctl get`` and for the API server's Tables.

A :class:`Column` is a ``TableColumnDefinition`` (kctl prints its name upper-cased, as
kubectl does); a :class:`Printer` pairs a kind's columns (and the ``-o wide`` ones, at
priority 1) with its row functions (:mod:`._rows`, :mod:`._rows_net`).  Cells are computed
once, as text; :meth:`Printer.table_cells` types them as Kubernetes' printers do
(integers for counts, booleans for flags).  The server side is always "wide", as
kube-apiserver's table convertor is: every column, the wide ones at priority 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jetkube.schemas.objects import Obj

from ._rows import (
    RowFn,
    _binding,
    _binding_wide,
    _componentstatus,
    _containers_images,
    _controllerrevision,
    _created_at,
    _cronjob,
    _cronjob_wide,
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
from ._rows_net import _endpointslice, _service, _service_wide, endpoints_string
from ._rows_storage import (
    _persistent_volume,
    _persistent_volume_claim,
    _storage_class,
    _volume_mode,
)

Cell = str | int | bool
"""A Table cell: JSON text, number or boolean."""


def _text(cell: str) -> Cell:
    return cell


def _count(cell: str) -> Cell:
    """An integer cell (``int64`` in Kubernetes' printers); text that is no number stays text."""
    return int(cell) if cell.lstrip("-").isdigit() else cell


def _flag(cell: str) -> Cell:
    """A boolean cell (a Go ``bool`` in Kubernetes' printers)."""
    return {"True": True, "False": False}.get(cell, cell)


@dataclass(frozen=True, slots=True)
class Column:
    """One column, as Kubernetes' ``TableColumnDefinition``: ``type`` is string, integer,
    number, boolean or date; ``format`` is ``name`` for the column holding the object's
    name; ``priority`` 1 is shown only with ``-o wide``.  ``typed`` makes the text cell the
    value Kubernetes' printer puts in a Table (its declared type and its cell's type do not
    always agree: a Deployment's ``Up-to-date`` is declared a string and holds an int64)."""

    name: str
    description: str
    type: str = "string"
    priority: int = 0
    format: str = ""
    typed: Callable[[str], Cell] = _text

    @property
    def header(self) -> str:
        """The header kctl and kubectl print."""
        return self.name.upper()

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


def _wide(name: str, description: str, **kw: Any) -> Column:
    return Column(name, description, priority=1, **kw)


NAME = Column("Name", "Name of the object, unique for its kind within its namespace (or the "
              "cluster); see metadata.name.", format="name")
AGE = Column("Age", "Time since the object was created (metadata.creationTimestamp).")
CREATED_AT = Column("Created At", "When the object was created (metadata.creationTimestamp).",
                    type="date")
_CONTAINERS = _wide("Containers", "The names of the containers of the pod template.")
_IMAGES = _wide("Images", "The images of the containers of the pod template.")
_SELECTOR = _wide("Selector", "The label selector of the pods it manages.")
_WORKLOAD_WIDE = (_CONTAINERS, _IMAGES, _SELECTOR)


@dataclass(frozen=True)
class Printer:
    """The columns and row functions of one kind.  ``wide_replaces``: ``-o wide`` is a row
    of its own (all of ``wide``), not extra columns after ``normal``'s."""

    normal: tuple[Column, ...]
    row: RowFn
    wide: tuple[Column, ...] = ()
    wide_row: RowFn | None = None
    name_col: int | None = 0  # which column holds the name (None: no NAME column)
    wide_replaces: bool = False
    conditions: Callable[[Obj], list[Obj]] | None = None
    """A Table row's ``conditions`` (Kubernetes' pod printer marks finished pods)."""

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.normal)

    @property
    def wide_headers(self) -> tuple[str, ...]:
        return tuple(c.header for c in self.wide)

    def columns(self, wide: bool) -> list[str]:
        """The headers kctl prints (``-o wide`` or not)."""
        if wide and self.wide_replaces:
            return list(self.wide_headers)
        return list(self.headers) + (list(self.wide_headers) if wide else [])

    def cells(self, o: Obj, wide: bool) -> list[str]:
        """The text cells kctl prints (``-o wide`` or not)."""
        if wide and self.wide_replaces and self.wide_row is not None:
            return self.wide_row(o)
        cells = self.row(o)
        if wide and self.wide_row is not None:
            cells += self.wide_row(o)
        return cells

    def table_columns(self) -> tuple[Column, ...]:
        """The columns of the API server's Table: all of them, ``-o wide``'s at priority 1."""
        if self.wide_replaces:
            return self.wide
        return self.normal + self.wide

    def table_cells(self, o: Obj) -> list[Cell]:
        """One Table row's cells, typed as Kubernetes' printers type them."""
        return [c.typed(text)
                for c, text in zip(self.table_columns(), self.cells(o, True), strict=True)]


def _pod_conditions(o: Obj) -> list[Obj]:
    phase = _status(o).get("phase")
    if phase == "Succeeded":
        return [{"type": "Completed", "status": "True", "reason": "Succeeded",
                 "message": "The pod has completed successfully."}]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed",
                 "message": "The pod failed."}]
    return []


def _c(name: str, description: str, **kw: Any) -> Column:
    return Column(name, description, **kw)


_READY_OF = _c("Ready", "Ready pods out of the pods wanted.")
_DESIRED = _c("Desired", "The number of pods wanted.", type="integer", typed=_count)
_CURRENT = _c("Current", "The number of pods that exist.", type="integer", typed=_count)
_READY_N = _c("Ready", "The number of ready pods.", type="integer", typed=_count)
_SERVICE = (NAME, _c("Type", "How the service is exposed (spec.type)."),
            _c("Cluster-IP", "The service's cluster IP (spec.clusterIP)."),
            _c("External-IP", "The external IPs or load-balancer ingress of the service."),
            _c("Port(s)", "The service's ports, with their node ports."), AGE)
_EVENT_WIDE = (_c("Last Seen", "When the event was last seen."),
               _c("Type", "The event's type (Normal, Warning)."),
               _c("Reason", "Why the event happened, in one word."),
               _c("Object", "The object the event is about (involvedObject)."),
               _wide("Subobject", "The part of the object (involvedObject.fieldPath)."),
               _wide("Source", "The component (and host) that reported the event."),
               _c("Message", "What happened, for a human."),
               _wide("First Seen", "When the event was first seen."),
               _wide("Count", "How many times the event happened.", typed=_count),
               _wide("Name", "The event's name (metadata.name).", format="name"))
_ACCESS_MODES = _c("Access Modes", "The access modes (RWO, ROX, RWX, RWOP).")
_STORAGE_CLASS = _c("StorageClass", "The storage class (spec.storageClassName).")
_VOLUME_ATTRIBUTES_CLASS = _c("VolumeAttributesClass", "The volume attributes class.")
_VOLUME_MODE = _wide("VolumeMode", "Filesystem or Block (spec.volumeMode).")
_BINDING = (NAME, _c("Role", "The role bound (roleRef): Role/name or ClusterRole/name."), AGE)
_BINDING_WIDE = (_wide("Users", "The users bound."), _wide("Groups", "The groups bound."),
                 _wide("ServiceAccounts", "The service accounts bound (namespace/name)."))

PRINTERS: dict[str, Printer] = {
    "Pod": Printer(
        (NAME, _c("Ready", "Ready containers out of the pod's containers."),
         _c("Status", "The aggregate status of the pod's containers."),
         _c("Restarts", "How many times the pod's containers restarted, and when last."), AGE),
        _pod,
        (_wide("IP", "The pod's IP (status.podIP)."), _wide("Node", "The pod's node."),
         _wide("Nominated Node", "The node the scheduler nominated for the pod."),
         _wide("Readiness Gates", "Readiness gates that hold, out of the pod's gates.")),
        _pod_wide, conditions=_pod_conditions),
    "Deployment": Printer(
        (NAME, _READY_OF,
         _c("Up-to-date", "Pods of the latest template (status.updatedReplicas).",
            typed=_count),
         _c("Available", "Available pods (status.availableReplicas).", typed=_count), AGE),
        _deployment, _WORKLOAD_WIDE, _with_selector),
    "ReplicaSet": Printer((NAME, _DESIRED, _CURRENT, _READY_N, AGE), _replicaset,
                          _WORKLOAD_WIDE, _with_selector),
    "ReplicationController": Printer((NAME, _DESIRED, _CURRENT, _READY_N, AGE), _replicaset,
                                     _WORKLOAD_WIDE, _with_selector),
    "StatefulSet": Printer((NAME, _READY_OF, AGE), _statefulset, (_CONTAINERS, _IMAGES),
                           _containers_images),
    "ControllerRevision": Printer(
        (NAME, _c("Controller", "The controller of the revision."),
         _c("Revision", "The revision's number.", typed=_count), AGE), _controllerrevision),
    "DaemonSet": Printer(
        (NAME, _c("Desired", "Nodes that should run the pod.", type="integer", typed=_count),
         _c("Current", "Nodes running the pod.", type="integer", typed=_count),
         _c("Ready", "Nodes whose pod is ready.", type="integer", typed=_count),
         _c("Up-to-date", "Nodes running the latest template.", type="integer",
            typed=_count),
         _c("Available", "Nodes whose pod is available.", type="integer", typed=_count),
         _c("Node Selector", "The template's node selector."), AGE),
        _daemonset, _WORKLOAD_WIDE, _with_selector),
    "Job": Printer(
        (NAME, _c("Status", "The job's status."),
         _c("Completions", "Pods that succeeded, out of the completions wanted."),
         _c("Duration", "How long the job ran (or has been running)."), AGE),
        _job, _WORKLOAD_WIDE, _with_selector),
    "CronJob": Printer(
        (NAME, _c("Schedule", "The cron schedule."), _c("Timezone", "The schedule's time zone."),
         _c("Suspend", "Whether later runs are suspended.", type="boolean"),
         _c("Active", "Jobs running now.", type="integer", typed=_count),
         _c("Last Schedule", "Time since a job was last scheduled."), AGE),
        _cronjob, _WORKLOAD_WIDE, _cronjob_wide),
    # -o wide is a row of its own: the EXTERNAL-IP is not clipped there
    "Service": Printer(_SERVICE, _service,
                       (*_SERVICE, _wide("Selector", "The pods the service routes to.")),
                       _service_wide, wide_replaces=True),
    "Endpoints": Printer((NAME, _c("Endpoints", "The ready addresses and ports."), AGE),
                         _simple(endpoints_string)),
    "EndpointSlice": Printer(
        (NAME, _c("AddressType", "The type of the slice's addresses."),
         _c("Ports", "The slice's ports."), _c("Endpoints", "The slice's addresses."), AGE),
        _endpointslice),
    "Node": Printer(
        (NAME, _c("Status", "The status of the node."), _c("Roles", "The roles of the node."),
         AGE, _c("Version", "The node agent's version.")),
        _node,
        (_wide("Internal-IP", "The node's internal address."),
         _wide("External-IP", "The node's external address."),
         _wide("OS-Image", "The node's operating system image."),
         _wide("Kernel-Version", "The node's kernel version."),
         _wide("Container-Runtime", "The node's container runtime and version.")),
        _node_wide),
    "Namespace": Printer((NAME, _c("Status", "The status of the namespace."), AGE),
                         _simple(lambda o: str(_status(o).get("phase") or "Active"))),
    "ConfigMap": Printer((NAME, _c("Data", "Keys of data and binaryData.", typed=_count), AGE),
                         _simple(lambda o: str(len(o.get("data") or {})
                                               + len(o.get("binaryData") or {})))),
    "Secret": Printer((NAME, _c("Type", "The secret's type."),
                       _c("Data", "Keys of data.", typed=_count), AGE), _simple(
        lambda o: str(o.get("type") or "Opaque"), lambda o: str(len(o.get("data") or {})))),
    "ServiceAccount": Printer(
        (NAME, _c("Secrets", "Secrets the service account names.", typed=_count), AGE),
        _simple(lambda o: str(len(o.get("secrets") or [])))),
    "Event": Printer(
        tuple(c for c in _EVENT_WIDE if c.priority == 0), _event, _EVENT_WIDE, _event_wide,
        name_col=None, wide_replaces=True),
    "Lease": Printer((NAME, _c("Holder", "The holder of the lease."), AGE),
                     _simple(lambda o: str(_spec(o).get("holderIdentity") or ""))),
    "Role": Printer((NAME, CREATED_AT), _created_at),
    "ClusterRole": Printer((NAME, CREATED_AT), _created_at),
    "RoleBinding": Printer(_BINDING, _binding, _BINDING_WIDE, _binding_wide),
    "ClusterRoleBinding": Printer(_BINDING, _binding, _BINDING_WIDE, _binding_wide),
    "CustomResourceDefinition": Printer((NAME, CREATED_AT), _created_at),
    "ComponentStatus": Printer(
        (NAME, _c("Status", "Whether the component is healthy."),
         _c("Message", "The component's message."), _c("Error", "The component's error.")),
        _componentstatus),
    "PriorityClass": Printer(
        (NAME, _c("Value", "The priority of pods of this class.", type="integer",
                  typed=_count),
         _c("Global-Default", "Whether pods without a class get this one.", type="boolean",
            typed=_flag), AGE),
        _simple(lambda o: str(o.get("value", 0)), lambda o: str(bool(o.get("globalDefault"))))),
    "PersistentVolume": Printer(
        (NAME, _c("Capacity", "The volume's size (spec.capacity.storage)."),
         _ACCESS_MODES, _c("Reclaim Policy", "What happens to the volume when its claim goes."),
         _c("Status", "The volume's phase."), _c("Claim", "The claim bound (namespace/name)."),
         _STORAGE_CLASS, _VOLUME_ATTRIBUTES_CLASS,
         _c("Reason", "Why the volume is in its phase."), AGE),
        _persistent_volume, (_VOLUME_MODE,), _volume_mode),
    "PersistentVolumeClaim": Printer(
        (NAME, _c("Status", "The claim's phase."), _c("Volume", "The volume bound."),
         _c("Capacity", "The size of the volume bound."), _ACCESS_MODES, _STORAGE_CLASS,
         _VOLUME_ATTRIBUTES_CLASS, AGE),
        _persistent_volume_claim, (_VOLUME_MODE,), _volume_mode),
    "StorageClass": Printer(
        (NAME, _c("Provisioner", "The provisioner that makes this class's volumes."),
         _c("ReclaimPolicy", "What happens to a provisioned volume when its claim goes."),
         _c("VolumeBindingMode", "Bind at once or when a pod first uses the claim."),
         _c("AllowVolumeExpansion", "Whether claims of this class may grow.",
            typed=lambda cell: cell == "true"), AGE),
        _storage_class),
}

GENERIC = Printer((NAME, AGE), lambda o: [name_of(o), age_of(o)])
"""What kctl prints for a kind without a printer."""

DEFAULT_TABLE = Printer((NAME, CREATED_AT), _created_at)
"""kube-apiserver's default table convertor (``rest.NewDefaultTableConvertor``): the Table
of a kind without a printer, ``Name`` and ``Created At``."""


def printer_for(kind: str) -> Printer:
    """The printer kctl uses for ``kind`` (``NAME AGE`` without one)."""
    return PRINTERS.get(kind, GENERIC)


def table_printer_for(kind: str) -> Printer:
    """The printer of ``kind``'s Tables (kube-apiserver's default table without one)."""
    return PRINTERS.get(kind, DEFAULT_TABLE)
