"""core/v1 ServiceAccount, and authentication.k8s.io/v1 TokenRequest: the body of a
ServiceAccount's ``token`` subresource (``kubectl create token``), created and answered in
``status``, never stored."""

from __future__ import annotations

from pydantic import Field

from .base import Int64, K8sModel, Time
from .meta import LocalObjectReference, ObjectMeta, ObjectReference


class ServiceAccount(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    secrets: list[ObjectReference] | None = None
    imagePullSecrets: list[LocalObjectReference] | None = None
    automountServiceAccountToken: bool | None = None


class BoundObjectReference(K8sModel):
    kind: str | None = None
    apiVersion: str | None = None
    name: str | None = None
    uid: str | None = None


class TokenRequestSpec(K8sModel):
    audiences: list[str] = Field(default_factory=list)
    expirationSeconds: Int64 | None = 3600
    boundObjectRef: BoundObjectReference | None = None


class TokenRequestStatus(K8sModel):
    token: str
    expirationTimestamp: Time


class TokenRequest(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: TokenRequestSpec
    status: TokenRequestStatus | None = None
