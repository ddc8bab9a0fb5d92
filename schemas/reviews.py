"""authorization.k8s.io/v1 SelfSubjectAccessReview and SelfSubjectRulesReview, and
authentication.k8s.io/v1 SelfSubjectReview: questions a user asks about itself (``kubectl
auth can-i``, ``kubectl auth can-i --list``, ``kubectl auth whoami``).  They are created,
answered in ``status`` and never stored."""

from __future__ import annotations

from pydantic import Field

from .base import K8sModel
from .meta import ObjectMeta


class ResourceAttributes(K8sModel):
    namespace: str | None = None
    verb: str | None = None
    group: str | None = None
    version: str | None = None
    resource: str | None = None
    subresource: str | None = None
    name: str | None = None


class NonResourceAttributes(K8sModel):
    path: str | None = None
    verb: str | None = None


class SelfSubjectAccessReviewSpec(K8sModel):
    resourceAttributes: ResourceAttributes | None = None
    nonResourceAttributes: NonResourceAttributes | None = None


class SubjectAccessReviewStatus(K8sModel):
    allowed: bool
    denied: bool | None = None
    reason: str | None = None
    evaluationError: str | None = None


class SelfSubjectAccessReview(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SelfSubjectAccessReviewSpec
    status: SubjectAccessReviewStatus | None = None


class SelfSubjectRulesReviewSpec(K8sModel):
    namespace: str | None = None


class ResourceRule(K8sModel):
    verbs: list[str]
    apiGroups: list[str] | None = None
    resources: list[str] | None = None
    resourceNames: list[str] | None = None


class NonResourceRule(K8sModel):
    verbs: list[str]
    nonResourceURLs: list[str] | None = None


class SubjectRulesReviewStatus(K8sModel):
    resourceRules: list[ResourceRule]
    nonResourceRules: list[NonResourceRule]
    incomplete: bool
    evaluationError: str | None = None


class SelfSubjectRulesReview(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: SelfSubjectRulesReviewSpec = Field(default_factory=SelfSubjectRulesReviewSpec)
    status: SubjectRulesReviewStatus | None = None


class UserInfo(K8sModel):
    username: str | None = None
    uid: str | None = None
    groups: list[str] | None = None
    extra: dict[str, list[str]] | None = None


class SelfSubjectReviewStatus(K8sModel):
    userInfo: UserInfo | None = None


class SelfSubjectReview(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    status: SelfSubjectReviewStatus | None = None
