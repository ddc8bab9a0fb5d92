"""apps/v1 workloads (Deployment, ReplicaSet, DaemonSet) with their apps/v1
defaults, and the autoscaling/v1 ``Scale`` body of the ``scale`` subresource.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Int32, Int64, IntOrString, K8sModel, Time
from .meta import LabelSelector, ObjectMeta
from .pod import PodTemplateSpec


class WorkloadCondition(K8sModel):
    """DeploymentCondition / ReplicaSetCondition / DaemonSetCondition."""

    type: str
    status: Literal["True", "False", "Unknown"]
    lastUpdateTime: Time | None = None
    lastTransitionTime: Time | None = None
    reason: str | None = None
    message: str | None = None


# ---------------------------------------------------------------- Deployment


class RollingUpdateDeployment(K8sModel):
    maxUnavailable: IntOrString | None = None
    maxSurge: IntOrString | None = None


class DeploymentStrategy(K8sModel):
    type: Literal["Recreate", "RollingUpdate"] | None = None
    rollingUpdate: RollingUpdateDeployment | None = None


class DeploymentSpec(K8sModel):
    replicas: Int32 = 1
    selector: LabelSelector | None = None
    template: PodTemplateSpec
    strategy: DeploymentStrategy = Field(default_factory=DeploymentStrategy)
    minReadySeconds: Int32 | None = None
    revisionHistoryLimit: Int32 = 10
    paused: bool | None = None
    progressDeadlineSeconds: Int32 = 600

    @model_validator(mode="after")
    def _defaults(self) -> DeploymentSpec:
        st = self.strategy
        if st.type is None:
            st.type = "RollingUpdate"
        if st.type == "RollingUpdate":
            ru = st.rollingUpdate
            if ru is None:
                ru = st.rollingUpdate = RollingUpdateDeployment()
            if ru.maxUnavailable is None:
                ru.maxUnavailable = "25%"
            if ru.maxSurge is None:
                ru.maxSurge = "25%"
        return self


class DeploymentStatus(K8sModel):
    observedGeneration: Int64 | None = None
    replicas: Int32 | None = None
    updatedReplicas: Int32 | None = None
    readyReplicas: Int32 | None = None
    availableReplicas: Int32 | None = None
    unavailableReplicas: Int32 | None = None
    terminatingReplicas: Int32 | None = None
    conditions: list[WorkloadCondition] | None = None
    collisionCount: Int32 | None = None


class Deployment(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DeploymentSpec
    status: DeploymentStatus | None = None


# ---------------------------------------------------------------- ReplicaSet


class ReplicaSetSpec(K8sModel):
    replicas: Int32 = 1
    minReadySeconds: Int32 | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None


class ReplicaSetStatus(K8sModel):
    replicas: Int32 = 0
    fullyLabeledReplicas: Int32 | None = None
    readyReplicas: Int32 | None = None
    availableReplicas: Int32 | None = None
    terminatingReplicas: Int32 | None = None
    observedGeneration: Int64 | None = None
    conditions: list[WorkloadCondition] | None = None


class ReplicaSet(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReplicaSetSpec
    status: ReplicaSetStatus | None = None


# ---------------------------------------------------------------- DaemonSet


class RollingUpdateDaemonSet(K8sModel):
    maxUnavailable: IntOrString | None = None
    maxSurge: IntOrString | None = None


class DaemonSetUpdateStrategy(K8sModel):
    type: Literal["RollingUpdate", "OnDelete"] | None = None
    rollingUpdate: RollingUpdateDaemonSet | None = None


class DaemonSetSpec(K8sModel):
    selector: LabelSelector | None = None
    template: PodTemplateSpec
    updateStrategy: DaemonSetUpdateStrategy = Field(default_factory=DaemonSetUpdateStrategy)
    minReadySeconds: Int32 | None = None
    revisionHistoryLimit: Int32 = 10

    @model_validator(mode="after")
    def _defaults(self) -> DaemonSetSpec:
        st = self.updateStrategy
        if st.type is None:
            st.type = "RollingUpdate"
        if st.type == "RollingUpdate":
            ru = st.rollingUpdate
            if ru is None:
                ru = st.rollingUpdate = RollingUpdateDaemonSet()
            if ru.maxUnavailable is None:
                ru.maxUnavailable = 1
            if ru.maxSurge is None:
                ru.maxSurge = 0
        return self


class DaemonSetStatus(K8sModel):
    currentNumberScheduled: Int32 = 0
    numberMisscheduled: Int32 = 0
    desiredNumberScheduled: Int32 = 0
    numberReady: Int32 = 0
    observedGeneration: Int64 | None = None
    updatedNumberScheduled: Int32 | None = None
    numberAvailable: Int32 | None = None
    numberUnavailable: Int32 | None = None
    collisionCount: Int32 | None = None
    conditions: list[WorkloadCondition] | None = None


class DaemonSet(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DaemonSetSpec
    status: DaemonSetStatus | None = None


# ---------------------------------------------------------------- Scale


class ScaleSpec(K8sModel):
    replicas: Int32 | None = None


class ScaleStatus(K8sModel):
    replicas: Int32 = 0
    selector: str | None = None


class Scale(K8sModel):
    """autoscaling/v1 Scale: the body of ``GET/PUT .../{name}/scale``."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ScaleSpec = Field(default_factory=ScaleSpec)
    status: ScaleStatus | None = None
