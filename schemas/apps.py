"""apps/v1 workloads (Deployment, ReplicaSet, DaemonSet) with their apps/v1
defaults, and the autoscaling/v1 ``Scale`` body of the ``scale`` subresource.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import IntOrString, K8sModel, Time
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
    replicas: int = 1
    selector: LabelSelector | None = None
    template: PodTemplateSpec
    strategy: DeploymentStrategy = Field(default_factory=DeploymentStrategy)
    minReadySeconds: int | None = None
    revisionHistoryLimit: int = 10
    paused: bool | None = None
    progressDeadlineSeconds: int = 600

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
    observedGeneration: int | None = None
    replicas: int | None = None
    updatedReplicas: int | None = None
    readyReplicas: int | None = None
    availableReplicas: int | None = None
    unavailableReplicas: int | None = None
    terminatingReplicas: int | None = None
    conditions: list[WorkloadCondition] | None = None
    collisionCount: int | None = None


class Deployment(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DeploymentSpec
    status: DeploymentStatus | None = None


# ---------------------------------------------------------------- ReplicaSet


class ReplicaSetSpec(K8sModel):
    replicas: int = 1
    minReadySeconds: int | None = None
    selector: LabelSelector | None = None
    template: PodTemplateSpec | None = None


class ReplicaSetStatus(K8sModel):
    replicas: int = 0
    fullyLabeledReplicas: int | None = None
    readyReplicas: int | None = None
    availableReplicas: int | None = None
    terminatingReplicas: int | None = None
    observedGeneration: int | None = None
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
    minReadySeconds: int | None = None
    revisionHistoryLimit: int = 10

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
    currentNumberScheduled: int = 0
    numberMisscheduled: int = 0
    desiredNumberScheduled: int = 0
    numberReady: int = 0
    observedGeneration: int | None = None
    updatedNumberScheduled: int | None = None
    numberAvailable: int | None = None
    numberUnavailable: int | None = None
    collisionCount: int | None = None
    conditions: list[WorkloadCondition] | None = None


class DaemonSet(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: DaemonSetSpec
    status: DaemonSetStatus | None = None


# ---------------------------------------------------------------- Scale


class ScaleSpec(K8sModel):
    replicas: int | None = None


class ScaleStatus(K8sModel):
    replicas: int = 0
    selector: str | None = None


class Scale(K8sModel):
    """autoscaling/v1 Scale: the body of ``GET/PUT .../{name}/scale``."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ScaleSpec = Field(default_factory=ScaleSpec)
    status: ScaleStatus | None = None
