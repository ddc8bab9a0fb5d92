"""core/v1 Pod: PodSpec (with ``SetDefaults_PodSpec``), PodTemplateSpec,
PodStatus and container statuses, the Pod object itself, the ``Binding`` body
of the ``pods/binding`` subresource, and ``qos_class`` (what the kubelet
records in ``status.qosClass``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, model_validator

from .base import Int32, Int64, K8sModel, StrMap, Time
from .container import (
    AppArmorProfile,
    Container,
    EphemeralContainer,
    ResourceRequirements,
    SeccompProfile,
    SELinuxOptions,
    WindowsSecurityContextOptions,
)
from .meta import LocalObjectReference, ObjectMeta, ObjectReference
from .quantity import ResourceList, parse_quantity
from .scheduling import Affinity, Toleration, TopologySpreadConstraint
from .volumes import Volume

RestartPolicy = Literal["Always", "OnFailure", "Never"]
PodPhase = Literal["Pending", "Running", "Succeeded", "Failed", "Unknown"]


class Sysctl(K8sModel):
    name: str
    value: str


class PodSecurityContext(K8sModel):
    seLinuxOptions: SELinuxOptions | None = None
    windowsOptions: WindowsSecurityContextOptions | None = None
    runAsUser: Int64 | None = None
    runAsGroup: Int64 | None = None
    runAsNonRoot: bool | None = None
    supplementalGroups: list[Int64] | None = None
    supplementalGroupsPolicy: Literal["Merge", "Strict"] | None = None
    fsGroup: Int64 | None = None
    sysctls: list[Sysctl] | None = None
    fsGroupChangePolicy: Literal["OnRootMismatch", "Always"] | None = None
    seccompProfile: SeccompProfile | None = None
    appArmorProfile: AppArmorProfile | None = None
    seLinuxChangePolicy: str | None = None


class PodDNSConfigOption(K8sModel):
    name: str | None = None
    value: str | None = None


class PodDNSConfig(K8sModel):
    nameservers: list[str] | None = None
    searches: list[str] | None = None
    options: list[PodDNSConfigOption] | None = None


class HostAlias(K8sModel):
    ip: str
    hostnames: list[str] | None = None


class PodReadinessGate(K8sModel):
    conditionType: str


class PodOS(K8sModel):
    name: str


class PodSchedulingGate(K8sModel):
    name: str


class PodResourceClaim(K8sModel):
    name: str
    resourceClaimName: str | None = None
    resourceClaimTemplateName: str | None = None


class PodSpec(K8sModel):
    volumes: list[Volume] | None = None
    initContainers: list[Container] | None = None
    containers: list[Container]
    ephemeralContainers: list[EphemeralContainer] | None = None
    restartPolicy: RestartPolicy = "Always"
    terminationGracePeriodSeconds: Int64 = 30
    activeDeadlineSeconds: Int64 | None = None
    dnsPolicy: Literal["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"] = (
        "ClusterFirst"
    )
    nodeSelector: StrMap | None = None
    serviceAccountName: str | None = None
    serviceAccount: str | None = None
    automountServiceAccountToken: bool | None = None
    nodeName: str | None = None
    hostNetwork: bool | None = None
    hostPID: bool | None = None
    hostIPC: bool | None = None
    shareProcessNamespace: bool | None = None
    securityContext: PodSecurityContext = Field(default_factory=PodSecurityContext)
    imagePullSecrets: list[LocalObjectReference] | None = None
    hostname: str | None = None
    subdomain: str | None = None
    affinity: Affinity | None = None
    schedulerName: str = "default-scheduler"
    tolerations: list[Toleration] | None = None
    hostAliases: list[HostAlias] | None = None
    priorityClassName: str | None = None
    priority: Int32 | None = None
    dnsConfig: PodDNSConfig | None = None
    readinessGates: list[PodReadinessGate] | None = None
    runtimeClassName: str | None = None
    enableServiceLinks: bool = True
    preemptionPolicy: Literal["PreemptLowerPriority", "Never"] | None = None
    overhead: ResourceList | None = None
    topologySpreadConstraints: list[TopologySpreadConstraint] | None = None
    setHostnameAsFQDN: bool | None = None
    os: PodOS | None = None
    hostUsers: bool | None = None
    schedulingGates: list[PodSchedulingGate] | None = None
    resourceClaims: list[PodResourceClaim] | None = None
    resources: ResourceRequirements | None = None

    @model_validator(mode="after")
    def _defaults(self) -> PodSpec:
        # v1 conversion keeps the deprecated serviceAccount in step
        if self.serviceAccountName and not self.serviceAccount:
            self.serviceAccount = self.serviceAccountName
        elif self.serviceAccount and not self.serviceAccountName:
            self.serviceAccountName = self.serviceAccount
        if self.hostNetwork:
            # SetDefaults_PodSpec: with host networking hostPort defaults to containerPort
            for group in (self.initContainers, self.containers):
                for c in group or ():
                    for p in c.ports or ():
                        if p.hostPort is None:
                            p.hostPort = p.containerPort
        return self


class PodTemplateSpec(K8sModel):
    metadata: ObjectMeta | None = None
    spec: PodSpec


# ---------------------------------------------------------------- status


class PodCondition(K8sModel):
    type: str
    observedGeneration: Int64 | None = None
    status: Literal["True", "False", "Unknown"]
    lastProbeTime: Time | None = None
    lastTransitionTime: Time | None = None
    reason: str | None = None
    message: str | None = None


class PodIP(K8sModel):
    ip: str


class HostIP(K8sModel):
    ip: str


class ContainerStateWaiting(K8sModel):
    reason: str | None = None
    message: str | None = None


class ContainerStateRunning(K8sModel):
    startedAt: Time | None = None


class ContainerStateTerminated(K8sModel):
    exitCode: Int32
    signal: Int32 | None = None
    reason: str | None = None
    message: str | None = None
    startedAt: Time | None = None
    finishedAt: Time | None = None
    containerID: str | None = None


class ContainerState(K8sModel):
    waiting: ContainerStateWaiting | None = None
    running: ContainerStateRunning | None = None
    terminated: ContainerStateTerminated | None = None


class ContainerStatus(K8sModel):
    name: str
    state: ContainerState | None = None
    lastState: ContainerState | None = None
    ready: bool
    restartCount: Int32
    image: str
    imageID: str
    containerID: str | None = None
    started: bool | None = None
    allocatedResources: ResourceList | None = None
    resources: ResourceRequirements | None = None
    user: dict[str, object] | None = None
    stopSignal: str | None = None


class PodStatus(K8sModel):
    observedGeneration: Int64 | None = None
    phase: PodPhase | None = None
    conditions: list[PodCondition] | None = None
    message: str | None = None
    reason: str | None = None
    nominatedNodeName: str | None = None
    hostIP: str | None = None
    hostIPs: list[HostIP] | None = None
    podIP: str | None = None
    podIPs: list[PodIP] | None = None
    startTime: Time | None = None
    initContainerStatuses: list[ContainerStatus] | None = None
    containerStatuses: list[ContainerStatus] | None = None
    qosClass: Literal["Guaranteed", "Burstable", "BestEffort"] | None = None
    ephemeralContainerStatuses: list[ContainerStatus] | None = None
    resize: str | None = None


class Pod(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: PodSpec
    status: PodStatus | None = None


class Binding(K8sModel):
    """Body of ``POST .../pods/{name}/binding``: bind the pod to ``target`` (a Node)."""

    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    target: ObjectReference


# ---------------------------------------------------------------- QoS


QOSClass = Literal["Guaranteed", "Burstable", "BestEffort"]


def qos_class(spec: PodSpec | Mapping[str, Any]) -> QOSClass:
    """The pod's QoS class, as ``qos.GetPodQOS`` computes it (cpu and memory only).

    ``spec`` is a :class:`PodSpec` or its canonical dict (the kubelet's view)."""
    if isinstance(spec, PodSpec):
        resources: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = [
            ((c.resources.requests if c.resources else None) or {},
             (c.resources.limits if c.resources else None) or {})
            for c in [*(spec.initContainers or ()), *spec.containers]]
    else:
        resources = []
        for c in [*(spec.get("initContainers") or ()), *(spec.get("containers") or ())]:
            res = c.get("resources") or {}
            resources.append((res.get("requests") or {}, res.get("limits") or {}))
    guaranteed = True
    any_set = False
    for req, lim in resources:
        for name in ("cpu", "memory"):
            if (name in req and parse_quantity(req[name]) != 0) or (
                    name in lim and parse_quantity(lim[name]) != 0):
                any_set = True
            if name not in lim or name not in req or (
                    parse_quantity(req[name]) != parse_quantity(lim[name])):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"
