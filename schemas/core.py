"""core/v1 cluster and configuration objects: Namespace, Node, ConfigMap,
Secret (``stringData`` folds into ``data`` as Kubernetes' conversion does),
Event, ResourceQuota and ComponentStatus; plus coordination.k8s.io/v1 Lease.
"""

from __future__ import annotations

import base64
from typing import Literal

from pydantic import Field, model_validator

from .base import Base64Bytes, Int32, Int64, K8sModel, MicroTime, StrMap, Time
from .meta import ObjectMeta, ObjectReference
from .quantity import ResourceList
from .scheduling import Taint

# ---------------------------------------------------------------- Namespace


class NamespaceSpec(K8sModel):
    finalizers: list[str] = Field(default_factory=lambda: ["kubernetes"])


class NamespaceCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastTransitionTime: Time | None = None
    reason: str | None = None
    message: str | None = None


class NamespaceStatus(K8sModel):
    phase: Literal["Active", "Terminating"] = "Active"
    conditions: list[NamespaceCondition] | None = None


class Namespace(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: NamespaceSpec = Field(default_factory=NamespaceSpec)
    status: NamespaceStatus = Field(default_factory=NamespaceStatus)


# ---------------------------------------------------------------- Node


class NodeConfigSource(K8sModel):
    configMap: dict[str, str] | None = None


class NodeSpec(K8sModel):
    podCIDR: str | None = None
    podCIDRs: list[str] | None = None
    providerID: str | None = None
    unschedulable: bool | None = None
    taints: list[Taint] | None = None
    configSource: NodeConfigSource | None = None
    externalID: str | None = None

    @model_validator(mode="after")
    def _defaults(self) -> NodeSpec:
        # the first podCIDRs entry and podCIDR are kept equal
        if self.podCIDR and not self.podCIDRs:
            self.podCIDRs = [self.podCIDR]
        elif self.podCIDRs and not self.podCIDR:
            self.podCIDR = self.podCIDRs[0]
        return self


class NodeCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    lastHeartbeatTime: Time | None = None
    lastTransitionTime: Time | None = None
    reason: str | None = None
    message: str | None = None


class NodeAddress(K8sModel):
    type: str
    address: str


class DaemonEndpoint(K8sModel):
    Port: Int32  # sic: Kubernetes spells this field with a capital P


class NodeDaemonEndpoints(K8sModel):
    kubeletEndpoint: DaemonEndpoint | None = None


class NodeSwapStatus(K8sModel):
    capacity: Int64 | None = None


class NodeSystemInfo(K8sModel):
    machineID: str = ""
    systemUUID: str = ""
    bootID: str = ""
    kernelVersion: str = ""
    osImage: str = ""
    containerRuntimeVersion: str = ""
    kubeletVersion: str = ""
    kubeProxyVersion: str | None = None
    operatingSystem: str = ""
    architecture: str = ""
    swap: NodeSwapStatus | None = None


class ContainerImage(K8sModel):
    names: list[str] | None = None
    sizeBytes: Int64 | None = None


class AttachedVolume(K8sModel):
    name: str
    devicePath: str


class NodeRuntimeHandlerFeatures(K8sModel):
    recursiveReadOnlyMounts: bool | None = None
    userNamespaces: bool | None = None


class NodeRuntimeHandler(K8sModel):
    name: str | None = None
    features: NodeRuntimeHandlerFeatures | None = None


class NodeStatus(K8sModel):
    capacity: ResourceList | None = None
    allocatable: ResourceList | None = None
    phase: str | None = None
    conditions: list[NodeCondition] | None = None
    addresses: list[NodeAddress] | None = None
    daemonEndpoints: NodeDaemonEndpoints | None = None
    nodeInfo: NodeSystemInfo | None = None
    images: list[ContainerImage] | None = None
    volumesInUse: list[str] | None = None
    volumesAttached: list[AttachedVolume] | None = None
    runtimeHandlers: list[NodeRuntimeHandler] | None = None


class Node(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: NodeSpec = Field(default_factory=NodeSpec)
    status: NodeStatus | None = None


# ---------------------------------------------------------------- ConfigMap, Secret


class ConfigMap(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    immutable: bool | None = None
    data: StrMap | None = None
    binaryData: dict[str, Base64Bytes] | None = None


class Secret(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    immutable: bool | None = None
    data: dict[str, Base64Bytes] | None = None
    stringData: StrMap | None = None
    type: str = "Opaque"

    @model_validator(mode="after")
    def _fold_string_data(self) -> Secret:
        # v1 conversion: stringData is write-only, merged over data (it wins)
        if self.stringData is not None:
            data = dict(self.data or {})
            for k, v in self.stringData.items():
                data[k] = base64.b64encode(v.encode()).decode()
            self.data = data
            self.stringData = None
        return self


# ---------------------------------------------------------------- Event


class EventSource(K8sModel):
    component: str | None = None
    host: str | None = None


class EventSeries(K8sModel):
    count: Int32 | None = None
    lastObservedTime: MicroTime | None = None


class Event(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    involvedObject: ObjectReference
    reason: str | None = None
    message: str | None = None
    source: EventSource | None = None
    firstTimestamp: Time | None = None
    lastTimestamp: Time | None = None
    count: Int32 | None = None
    type: str | None = None
    eventTime: MicroTime | None = None
    series: EventSeries | None = None
    action: str | None = None
    related: ObjectReference | None = None
    reportingComponent: str | None = None
    reportingInstance: str | None = None


# ---------------------------------------------------------------- ResourceQuota

QuotaScope = Literal[
    "Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass",
    "CrossNamespacePodAffinity",
]


class ScopedResourceSelectorRequirement(K8sModel):
    scopeName: QuotaScope
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[str] | None = None


class ScopeSelector(K8sModel):
    matchExpressions: list[ScopedResourceSelectorRequirement] | None = None


class ResourceQuotaSpec(K8sModel):
    hard: ResourceList | None = None
    scopes: list[QuotaScope] | None = None
    scopeSelector: ScopeSelector | None = None


class ResourceQuotaStatus(K8sModel):
    hard: ResourceList | None = None
    used: ResourceList | None = None


class ResourceQuota(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ResourceQuotaSpec | None = None
    status: ResourceQuotaStatus | None = None


# ---------------------------------------------------------------- ComponentStatus


class ComponentCondition(K8sModel):
    type: str
    status: Literal["True", "False", "Unknown"]
    message: str | None = None
    error: str | None = None


class ComponentStatus(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    conditions: list[ComponentCondition] | None = None


# ---------------------------------------------------------------- Lease


class LeaseSpec(K8sModel):
    holderIdentity: str | None = None
    leaseDurationSeconds: Int32 | None = None
    acquireTime: MicroTime | None = None
    renewTime: MicroTime | None = None
    leaseTransitions: Int32 | None = None
    strategy: str | None = None
    preferredHolder: str | None = None


class Lease(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: LeaseSpec | None = None

