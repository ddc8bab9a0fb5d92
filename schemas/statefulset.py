"""apps/v1 StatefulSet and ControllerRevision, with Kubernetes' apps/v1 defaults.

A StatefulSet's pods have stable names ``<set>-<ordinal>``; its history is kept as
ControllerRevisions (``data`` holds the patch that restores a pod template, ``revision``
its number), as the StatefulSet (and in Kubernetes the DaemonSet) controller keeps it.

Defaults (``SetDefaults_StatefulSet``): ``replicas`` 1, ``podManagementPolicy``
OrderedReady, ``updateStrategy`` RollingUpdate with ``partition`` 0,
``revisionHistoryLimit`` 10, ``persistentVolumeClaimRetentionPolicy`` Retain/Retain.
``podManagementPolicy``, the strategy type and the retention policies are plain strings
here so that validation (validation_statefulset.py) words a bad value as Kubernetes does.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from .apps import WorkloadCondition
from .base import Int32, Int64, IntOrString, K8sModel
from .meta import LabelSelector, ObjectMeta
from .pod import PodTemplateSpec
from .storage import PersistentVolumeClaim

ORDERED_READY = "OrderedReady"
PARALLEL = "Parallel"
ROLLING_UPDATE = "RollingUpdate"
ON_DELETE = "OnDelete"
RETAIN = "Retain"
DELETE = "Delete"


class RollingUpdateStatefulSetStrategy(K8sModel):
    partition: Int32 | None = None
    maxUnavailable: IntOrString | None = None


class StatefulSetUpdateStrategy(K8sModel):
    type: str | None = None
    rollingUpdate: RollingUpdateStatefulSetStrategy | None = None


class StatefulSetPersistentVolumeClaimRetentionPolicy(K8sModel):
    whenDeleted: str | None = None
    whenScaled: str | None = None


class StatefulSetOrdinals(K8sModel):
    start: Int32 = 0


class StatefulSetSpec(K8sModel):
    replicas: Int32 = 1
    selector: LabelSelector | None = None
    template: PodTemplateSpec
    volumeClaimTemplates: list[PersistentVolumeClaim] | None = None
    serviceName: str | None = None
    podManagementPolicy: str = ORDERED_READY
    updateStrategy: StatefulSetUpdateStrategy = Field(default_factory=StatefulSetUpdateStrategy)
    revisionHistoryLimit: Int32 = 10
    minReadySeconds: Int32 | None = None
    persistentVolumeClaimRetentionPolicy: StatefulSetPersistentVolumeClaimRetentionPolicy = Field(
        default_factory=StatefulSetPersistentVolumeClaimRetentionPolicy)
    ordinals: StatefulSetOrdinals | None = None

    @model_validator(mode="after")
    def _defaults(self) -> StatefulSetSpec:
        st = self.updateStrategy
        if st.type is None:
            st.type = ROLLING_UPDATE
        if st.type == ROLLING_UPDATE:
            if st.rollingUpdate is None:
                st.rollingUpdate = RollingUpdateStatefulSetStrategy()
            if st.rollingUpdate.partition is None:
                st.rollingUpdate.partition = 0
        policy = self.persistentVolumeClaimRetentionPolicy
        policy.whenDeleted = policy.whenDeleted or RETAIN
        policy.whenScaled = policy.whenScaled or RETAIN
        return self


class StatefulSetStatus(K8sModel):
    observedGeneration: Int64 | None = None
    replicas: Int32 = 0
    readyReplicas: Int32 | None = None
    currentReplicas: Int32 | None = None
    updatedReplicas: Int32 | None = None
    currentRevision: str | None = None
    updateRevision: str | None = None
    collisionCount: Int32 | None = None
    conditions: list[WorkloadCondition] | None = None
    availableReplicas: Int32 | None = None


class StatefulSet(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: StatefulSetSpec
    status: StatefulSetStatus | None = None


class ControllerRevision(K8sModel):
    """An immutable snapshot of a controller's state: ``data`` (any JSON, a
    ``runtime.RawExtension``) and its ``revision`` number."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    data: dict[str, Any] | None = None
    revision: Int64
