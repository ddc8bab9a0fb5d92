"""Persistent storage models: core/v1 PersistentVolume and PersistentVolumeClaim, and
storage.k8s.io/v1 StorageClass, with Kubernetes' defaults (``SetDefaults_PersistentVolume``:
reclaim policy ``Retain``, volume mode ``Filesystem``, phase ``Pending``;
``SetDefaults_PersistentVolumeClaim``: volume mode ``Filesystem``, phase ``Pending``;
``SetDefaults_StorageClass``: reclaim policy ``Delete``, binding mode ``Immediate``).

Access modes and policies are plain strings here so that semantic validation
(``validation_storage``) reports an unknown value as Kubernetes does (``Unsupported
value ... supported values``), with the field path.  The well-known names (annotations,
finalizers, access modes) live in the pydantic-free ``storageutil``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import K8sModel, Time
from .meta import LabelSelector, ObjectMeta, ObjectReference, TypedLocalObjectReference
from .quantity import ResourceList
from .scheduling import NodeSelector
from .storageutil import PV_SOURCES
from .volumes import HostPathVolumeSource, NFSVolumeSource

# ---------------------------------------------------------------- PersistentVolume


class LocalVolumeSource(K8sModel):
    path: str
    fsType: str | None = None


class SecretReference(K8sModel):
    name: str | None = None
    namespace: str | None = None


class CSIPersistentVolumeSource(K8sModel):
    driver: str
    volumeHandle: str
    readOnly: bool | None = None
    fsType: str | None = None
    volumeAttributes: dict[str, str] | None = None
    controllerPublishSecretRef: SecretReference | None = None
    nodeStageSecretRef: SecretReference | None = None
    nodePublishSecretRef: SecretReference | None = None
    controllerExpandSecretRef: SecretReference | None = None
    nodeExpandSecretRef: SecretReference | None = None


class VolumeNodeAffinity(K8sModel):
    required: NodeSelector | None = None



class PersistentVolumeSpec(K8sModel):
    capacity: ResourceList | None = None
    hostPath: HostPathVolumeSource | None = None
    local: LocalVolumeSource | None = None
    nfs: NFSVolumeSource | None = None
    csi: CSIPersistentVolumeSource | None = None
    accessModes: list[str] | None = None
    claimRef: ObjectReference | None = None
    persistentVolumeReclaimPolicy: str = "Retain"
    storageClassName: str | None = None
    mountOptions: list[str] | None = None
    volumeMode: str = "Filesystem"
    nodeAffinity: VolumeNodeAffinity | None = None
    volumeAttributesClassName: str | None = None

    def sources(self) -> list[str]:
        """The names of the volume sources set (exactly one when valid)."""
        return [s for s in PV_SOURCES if getattr(self, s) is not None]


class PersistentVolumeStatus(K8sModel):
    phase: Literal["Pending", "Available", "Bound", "Released", "Failed"] = "Pending"
    message: str | None = None
    reason: str | None = None
    lastPhaseTransitionTime: Time | None = None


class PersistentVolume(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PersistentVolumeSpec = Field(default_factory=PersistentVolumeSpec)
    status: PersistentVolumeStatus = Field(default_factory=PersistentVolumeStatus)


# ---------------------------------------------------------------- PersistentVolumeClaim


class TypedObjectReference(K8sModel):
    apiGroup: str | None = None
    kind: str
    name: str
    namespace: str | None = None


class VolumeResourceRequirements(K8sModel):
    limits: ResourceList | None = None
    requests: ResourceList | None = None


class PersistentVolumeClaimSpec(K8sModel):
    accessModes: list[str] | None = None
    selector: LabelSelector | None = None
    resources: VolumeResourceRequirements = Field(default_factory=VolumeResourceRequirements)
    volumeName: str | None = None
    storageClassName: str | None = None
    volumeMode: str = "Filesystem"
    dataSource: TypedLocalObjectReference | None = None
    dataSourceRef: TypedObjectReference | None = None
    volumeAttributesClassName: str | None = None


class PersistentVolumeClaimCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastProbeTime: Time | None = None
    lastTransitionTime: Time | None = None
    reason: str | None = None
    message: str | None = None


class ModifyVolumeStatus(K8sModel):
    targetVolumeAttributesClassName: str | None = None
    status: str


class PersistentVolumeClaimStatus(K8sModel):
    phase: Literal["Pending", "Bound", "Lost"] = "Pending"
    accessModes: list[str] | None = None
    capacity: ResourceList | None = None
    conditions: list[PersistentVolumeClaimCondition] | None = None
    allocatedResources: ResourceList | None = None
    allocatedResourceStatuses: dict[str, str] | None = None
    currentVolumeAttributesClassName: str | None = None
    modifyVolumeStatus: ModifyVolumeStatus | None = None


class PersistentVolumeClaim(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PersistentVolumeClaimSpec = Field(default_factory=PersistentVolumeClaimSpec)
    status: PersistentVolumeClaimStatus = Field(default_factory=PersistentVolumeClaimStatus)


class PersistentVolumeClaimTemplate(K8sModel):
    """A claim stamped out per pod (ephemeral volumes) or per ordinal (StatefulSet)."""

    metadata: ObjectMeta | None = None
    spec: PersistentVolumeClaimSpec


# ---------------------------------------------------------------- StorageClass


class TopologySelectorLabelRequirement(K8sModel):
    key: str
    values: list[str]


class TopologySelectorTerm(K8sModel):
    matchLabelExpressions: list[TopologySelectorLabelRequirement] | None = None


class StorageClass(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    provisioner: str
    parameters: dict[str, str] | None = None
    reclaimPolicy: str | None = None
    mountOptions: list[str] | None = None
    allowVolumeExpansion: bool | None = None
    volumeBindingMode: str | None = None
    allowedTopologies: list[TopologySelectorTerm] | None = None

    @model_validator(mode="after")
    def _defaults(self) -> StorageClass:
        if self.reclaimPolicy is None:
            self.reclaimPolicy = "Delete"
        if self.volumeBindingMode is None:
            self.volumeBindingMode = "Immediate"
        return self
