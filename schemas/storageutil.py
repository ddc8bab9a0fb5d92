"""Names and pure helpers of persistent storage, shared by the API server, the binder,
the provisioner, the node agent and the printers (no pydantic model is built on import,
so kctl's printers can use them): access modes and policies, the annotations and
finalizers Kubernetes uses, ``is_default_class`` and ``access_modes_string`` (as
Kubernetes' ``storageutil``/``helper`` packages).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
"""Sorted, as Kubernetes lists them in an ``Unsupported value`` message."""
ACCESS_MODE_SHORT = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX",
                     "ReadWriteOncePod": "RWOP"}
"""In ``GetAccessModesAsString``'s order."""
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
VOLUME_MODES = ("Block", "Filesystem")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
STORAGE = "storage"  # the one resource a volume's capacity and a claim's request name

# annotations and finalizers, as Kubernetes names them
ANN_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
ANN_BETA_DEFAULT_CLASS = "storageclass.beta.kubernetes.io/is-default-class"
ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
ANN_DYNAMICALLY_PROVISIONED = "pv.kubernetes.io/provisioned-by"
ANN_STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
PV_PROTECTION = "kubernetes.io/pv-protection"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
LOCAL_PATH_PROVISIONER = "jetkube.io/local-path"
"""The built-in provisioner, and the driver of the volumes it makes (``spec.csi.driver``):
a directory ``local-path/<volume name>`` under the data dir of the node agent the volume's
node affinity names."""
LOCAL_PATH_FINALIZER = "jetkube.io/local-path-data"
"""On a local-path volume until its node agent has removed the directory."""
LOCAL_PATH_DIR = "local-path"

PV_SOURCES = ("hostPath", "local", "nfs", "csi")
"""The volume sources a PersistentVolume may carry here."""


def is_default_class(sc_annotations: Mapping[str, str] | None) -> bool:
    """``storageutil.IsDefaultAnnotation``: the GA or the beta annotation says "true"."""
    ann = sc_annotations or {}
    return ann.get(ANN_DEFAULT_CLASS) == "true" or ann.get(ANN_BETA_DEFAULT_CLASS) == "true"


def default_class(classes: Iterable[Mapping[str, Any]]) -> str | None:
    """``GetDefaultClass``: the name of the default StorageClass among ``classes``: with
    several, the newest, then the first by name (Kubernetes since 1.26); None without one."""
    defaults = [c.get("metadata") or {} for c in classes]
    defaults = [md for md in defaults if is_default_class(md.get("annotations"))]
    if not defaults:
        return None
    newest = max(str(md.get("creationTimestamp") or "") for md in defaults)
    return min(str(md.get("name")) for md in defaults
               if str(md.get("creationTimestamp") or "") == newest)


def access_modes_string(modes: list[str] | None) -> str:
    """``helper.GetAccessModesAsString``: ``RWO,ROX,RWX,RWOP``, each once, in that order."""
    have = set(modes or ())
    return ",".join(short for mode, short in ACCESS_MODE_SHORT.items() if mode in have)
