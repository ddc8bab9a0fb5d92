"""batch/v1 Job with ``SetDefaults_Job`` (parallelism, completions,
backoffLimit, completionMode, suspend, podReplacementPolicy).  The selector
stays optional: the API server generates it unless ``manualSelector`` is true.

CronJob with ``SetDefaults_CronJob`` (concurrencyPolicy Allow, suspend false, history
limits 3 successful and 1 failed); its ``jobTemplate.spec`` is a JobSpec (so it gets the
Job defaults too, where Kubernetes leaves them to the Job's creation).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Int32, Int64, K8sModel, Time
from .meta import LabelSelector, ObjectMeta, ObjectReference
from .pod import PodTemplateSpec


class PodFailurePolicyOnExitCodesRequirement(K8sModel):
    containerName: str | None = None
    operator: Literal["In", "NotIn"]
    values: list[Int32]


class PodFailurePolicyOnPodConditionsPattern(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"] = "True"


class PodFailurePolicyRule(K8sModel):
    action: Literal["FailJob", "FailIndex", "Ignore", "Count"]
    onExitCodes: PodFailurePolicyOnExitCodesRequirement | None = None
    onPodConditions: list[PodFailurePolicyOnPodConditionsPattern] | None = None


class PodFailurePolicy(K8sModel):
    rules: list[PodFailurePolicyRule]


class SuccessPolicyRule(K8sModel):
    succeededIndexes: str | None = None
    succeededCount: Int32 | None = None


class SuccessPolicy(K8sModel):
    rules: list[SuccessPolicyRule]


class JobSpec(K8sModel):
    parallelism: Int32 | None = None
    completions: Int32 | None = None
    activeDeadlineSeconds: Int64 | None = None
    podFailurePolicy: PodFailurePolicy | None = None
    successPolicy: SuccessPolicy | None = None
    backoffLimit: Int32 | None = None
    backoffLimitPerIndex: Int32 | None = None
    maxFailedIndexes: Int32 | None = None
    selector: LabelSelector | None = None
    manualSelector: bool | None = None
    template: PodTemplateSpec
    ttlSecondsAfterFinished: Int32 | None = None
    completionMode: Literal["NonIndexed", "Indexed"] = "NonIndexed"
    suspend: bool = False
    podReplacementPolicy: Literal["TerminatingOrFailed", "Failed"] | None = None
    managedBy: str | None = None

    @model_validator(mode="after")
    def _defaults(self) -> JobSpec:
        if self.completions is None and self.parallelism is None:
            self.completions = 1
        if self.parallelism is None:
            self.parallelism = 1
        if self.backoffLimit is None:
            # with backoffLimitPerIndex the global limit is effectively unbounded
            self.backoffLimit = 2147483647 if self.backoffLimitPerIndex is not None else 6
        if self.podReplacementPolicy is None:
            self.podReplacementPolicy = (
                "Failed" if self.podFailurePolicy is not None else "TerminatingOrFailed"
            )
        return self


class JobCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastProbeTime: Time | None = None
    lastTransitionTime: Time | None = None
    reason: str | None = None
    message: str | None = None


class UncountedTerminatedPods(K8sModel):
    succeeded: list[str] | None = None
    failed: list[str] | None = None


class JobStatus(K8sModel):
    conditions: list[JobCondition] | None = None
    startTime: Time | None = None
    completionTime: Time | None = None
    active: Int32 | None = None
    succeeded: Int32 | None = None
    failed: Int32 | None = None
    terminating: Int32 | None = None
    completedIndexes: str | None = None
    failedIndexes: str | None = None
    uncountedTerminatedPods: UncountedTerminatedPods | None = None
    ready: Int32 | None = None


class Job(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: JobSpec
    status: JobStatus | None = None


class JobTemplateSpec(K8sModel):
    metadata: ObjectMeta | None = None
    spec: JobSpec


class CronJobSpec(K8sModel):
    schedule: str = ""
    timeZone: str | None = None
    startingDeadlineSeconds: Int64 | None = None
    concurrencyPolicy: Literal["Allow", "Forbid", "Replace"] = "Allow"
    suspend: bool = False
    jobTemplate: JobTemplateSpec
    successfulJobsHistoryLimit: Int32 = 3
    failedJobsHistoryLimit: Int32 = 1


class CronJobStatus(K8sModel):
    active: list[ObjectReference] | None = None
    lastScheduleTime: Time | None = None
    lastSuccessfulTime: Time | None = None


class CronJob(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: CronJobSpec
    status: CronJobStatus | None = None
