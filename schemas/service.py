"""core/v1 Service and Endpoints, with ``SetDefaults_Service`` (type ClusterIP,
sessionAffinity None, port protocol TCP, ``targetPort`` = ``port``, traffic
policies, ClientIP affinity timeout).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import Int32, IntOrString, K8sModel, StrMap
from .container import Protocol
from .meta import Condition, ObjectMeta, ObjectReference

ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]


class ServicePort(K8sModel):
    name: str | None = None
    protocol: Protocol = "TCP"
    appProtocol: str | None = None
    port: Int32
    targetPort: IntOrString | None = None
    nodePort: Int32 | None = None


class ClientIPConfig(K8sModel):
    timeoutSeconds: Int32 | None = None


class SessionAffinityConfig(K8sModel):
    clientIP: ClientIPConfig | None = None


class ServiceSpec(K8sModel):
    ports: list[ServicePort] | None = None
    selector: StrMap | None = None
    clusterIP: str | None = None
    clusterIPs: list[str] | None = None
    type: ServiceType = "ClusterIP"
    externalIPs: list[str] | None = None
    sessionAffinity: Literal["None", "ClientIP"] = "None"
    loadBalancerIP: str | None = None
    loadBalancerSourceRanges: list[str] | None = None
    externalName: str | None = None
    externalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    healthCheckNodePort: Int32 | None = None
    publishNotReadyAddresses: bool | None = None
    sessionAffinityConfig: SessionAffinityConfig | None = None
    ipFamilies: list[Literal["IPv4", "IPv6"]] | None = None
    ipFamilyPolicy: Literal["SingleStack", "PreferDualStack", "RequireDualStack"] | None = None
    allocateLoadBalancerNodePorts: bool | None = None
    loadBalancerClass: str | None = None
    internalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    trafficDistribution: str | None = None

    @model_validator(mode="after")
    def _defaults(self) -> ServiceSpec:
        typ = self.type
        for p in self.ports or ():
            if p.targetPort is None:
                p.targetPort = p.port
        if typ != "ExternalName" and self.internalTrafficPolicy is None:
            self.internalTrafficPolicy = "Cluster"
        if typ in ("NodePort", "LoadBalancer"):
            if self.externalTrafficPolicy is None:
                self.externalTrafficPolicy = "Cluster"
            if typ == "LoadBalancer" and self.allocateLoadBalancerNodePorts is None:
                self.allocateLoadBalancerNodePorts = True
        if self.sessionAffinity == "ClientIP":
            cfg = self.sessionAffinityConfig
            if cfg is None:
                cfg = self.sessionAffinityConfig = SessionAffinityConfig()
            if cfg.clientIP is None:
                cfg.clientIP = ClientIPConfig()
            if cfg.clientIP.timeoutSeconds is None:
                cfg.clientIP.timeoutSeconds = 10800
        # clusterIPs[0] and clusterIP are kept equal
        if self.clusterIP and not self.clusterIPs:
            self.clusterIPs = [self.clusterIP]
        elif self.clusterIPs and not self.clusterIP:
            self.clusterIP = self.clusterIPs[0]
        return self


class PortStatus(K8sModel):
    port: Int32
    protocol: Protocol
    error: str | None = None


class LoadBalancerIngress(K8sModel):
    ip: str | None = None
    hostname: str | None = None
    ipMode: Literal["VIP", "Proxy"] | None = None
    ports: list[PortStatus] | None = None


class LoadBalancerStatus(K8sModel):
    ingress: list[LoadBalancerIngress] | None = None


class ServiceStatus(K8sModel):
    loadBalancer: LoadBalancerStatus | None = None
    conditions: list[Condition] | None = None


class Service(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ServiceSpec = Field(default_factory=ServiceSpec)
    status: ServiceStatus | None = None


# ---------------------------------------------------------------- Endpoints


class EndpointAddress(K8sModel):
    ip: str
    hostname: str | None = None
    nodeName: str | None = None
    targetRef: ObjectReference | None = None


class EndpointPort(K8sModel):
    name: str | None = None
    port: Int32
    protocol: Protocol = "TCP"
    appProtocol: str | None = None


class EndpointSubset(K8sModel):
    addresses: list[EndpointAddress] | None = None
    notReadyAddresses: list[EndpointAddress] | None = None
    ports: list[EndpointPort] | None = None


class Endpoints(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    subsets: list[EndpointSubset] | None = None
