"""core/v1 ReplicationController, with Kubernetes' ``SetDefaults_ReplicationController``
(``replicas`` 1; an empty ``selector``, and empty object labels, taken from the template's
labels) and ``ValidateReplicationController`` (``check_replicationcontroller``).

A ReplicationController is the older ReplicaSet: its selector is a plain label map
(equality only) instead of a ``LabelSelector``, and unlike a ReplicaSet's it may change.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from .base import Int32, Int64, K8sModel, StrMap, Time
from .fielderrors import Errors, invalid, non_negative, required
from .meta import ObjectMeta, set_matches
from .pod import PodTemplateSpec
from .validation_meta import template_metadata_labels, validate_labels
from .validation_pod import validate_pod_template


class ReplicationControllerCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastTransitionTime: Time | None = None
    reason: str | None = None
    message: str | None = None


class ReplicationControllerSpec(K8sModel):
    replicas: Int32 = 1
    minReadySeconds: Int32 | None = None
    selector: StrMap | None = None
    template: PodTemplateSpec | None = None


class ReplicationControllerStatus(K8sModel):
    replicas: Int32 = 0
    fullyLabeledReplicas: Int32 | None = None
    readyReplicas: Int32 | None = None
    availableReplicas: Int32 | None = None
    observedGeneration: Int64 | None = None
    conditions: list[ReplicationControllerCondition] | None = None


class ReplicationController(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReplicationControllerSpec = Field(default_factory=ReplicationControllerSpec)
    status: ReplicationControllerStatus | None = None

    @model_validator(mode="after")
    def _defaults(self) -> ReplicationController:
        tpl = self.spec.template
        labels = dict((tpl.metadata.labels or {}) if tpl is not None and tpl.metadata else {})
        if labels:
            if not self.spec.selector:
                self.spec.selector = dict(labels)
            if not self.metadata.labels:
                self.metadata.labels = dict(labels)
        return self


def check_replicationcontroller(errs: Errors, o: Any) -> None:
    """``ValidateReplicationControllerSpec``: a non-empty selector that the template's labels
    match, a template whose pods restart Always (the metadata is checked by the caller)."""
    assert isinstance(o, ReplicationController)
    s = o.spec
    non_negative(errs, "spec.replicas", s.replicas)
    non_negative(errs, "spec.minReadySeconds", s.minReadySeconds)
    if not s.selector:
        errs.append(required("spec.selector"))
    else:
        validate_labels(errs, "spec.selector", s.selector)
        labels = template_metadata_labels(s.template.metadata if s.template else None)
        if s.template is not None and not set_matches(s.selector, labels):
            errs.append(invalid("spec.template.metadata.labels", labels,
                                "`selector` does not match template `labels`"))
    validate_pod_template(errs, "spec.template", s.template, ("Always",))
