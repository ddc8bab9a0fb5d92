"""rbac.authorization.k8s.io/v1: Role, ClusterRole (with aggregationRule),
RoleBinding, ClusterRoleBinding.  Subjects of kind User/Group default their
``apiGroup`` to ``rbac.authorization.k8s.io`` as Kubernetes does.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import K8sModel
from .meta import LabelSelector, ObjectMeta

RBAC_GROUP = "rbac.authorization.k8s.io"


class PolicyRule(K8sModel):
    verbs: list[str]
    apiGroups: list[str] | None = None
    resources: list[str] | None = None
    resourceNames: list[str] | None = None
    nonResourceURLs: list[str] | None = None


class AggregationRule(K8sModel):
    clusterRoleSelectors: list[LabelSelector] | None = None


class Role(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    rules: list[PolicyRule] | None = None


class ClusterRole(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    rules: list[PolicyRule] | None = None
    aggregationRule: AggregationRule | None = None


class Subject(K8sModel):
    kind: Literal["User", "Group", "ServiceAccount"]
    apiGroup: str | None = None
    name: str
    namespace: str | None = None

    @model_validator(mode="after")
    def _defaults(self) -> Subject:
        if self.apiGroup is None and self.kind != "ServiceAccount":
            self.apiGroup = RBAC_GROUP
        return self


class RoleRef(K8sModel):
    apiGroup: str
    kind: Literal["Role", "ClusterRole"]
    name: str


class RoleBinding(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subjects: list[Subject] | None = None
    roleRef: RoleRef


class ClusterRoleBinding(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subjects: list[Subject] | None = None
    roleRef: RoleRef
