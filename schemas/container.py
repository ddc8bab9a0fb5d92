"""core/v1 Container and what hangs off it: ports, env, resources, probes,
lifecycle hooks, security context and volume mounts, with Kubernetes' defaults
(``SetDefaults_Container``, ``_Probe``, ``_HTTPGetAction``, ``_ContainerPort``…).
"""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from .base import Int32, Int64, IntOrString, K8sModel
from .quantity import Quantity, ResourceList

Protocol = Literal["TCP", "UDP", "SCTP"]
PullPolicy = Literal["Always", "Never", "IfNotPresent"]


class ContainerPort(K8sModel):
    name: str | None = None
    hostPort: Int32 | None = None
    containerPort: Int32
    protocol: Protocol = "TCP"
    hostIP: str | None = None


class ObjectFieldSelector(K8sModel):
    apiVersion: str = "v1"
    fieldPath: str


class ResourceFieldSelector(K8sModel):
    containerName: str | None = None
    resource: str
    divisor: Quantity | None = None


class ConfigMapKeySelector(K8sModel):
    name: str | None = None
    key: str
    optional: bool | None = None


class SecretKeySelector(K8sModel):
    name: str | None = None
    key: str
    optional: bool | None = None


class FileKeySelector(K8sModel):
    volumeName: str
    path: str
    key: str
    optional: bool | None = None


class EnvVarSource(K8sModel):
    fieldRef: ObjectFieldSelector | None = None
    resourceFieldRef: ResourceFieldSelector | None = None
    configMapKeyRef: ConfigMapKeySelector | None = None
    secretKeyRef: SecretKeySelector | None = None
    fileKeyRef: FileKeySelector | None = None


class EnvVar(K8sModel):
    name: str
    value: str | None = None
    valueFrom: EnvVarSource | None = None


class ConfigMapEnvSource(K8sModel):
    name: str | None = None
    optional: bool | None = None


class SecretEnvSource(K8sModel):
    name: str | None = None
    optional: bool | None = None


class EnvFromSource(K8sModel):
    prefix: str | None = None
    configMapRef: ConfigMapEnvSource | None = None
    secretRef: SecretEnvSource | None = None


class ResourceClaim(K8sModel):
    name: str
    request: str | None = None


class ResourceRequirements(K8sModel):
    limits: ResourceList | None = None
    requests: ResourceList | None = None
    claims: list[ResourceClaim] | None = None

    @model_validator(mode="after")
    def _default_requests(self) -> ResourceRequirements:
        # SetDefaults_Pod: a limit with no request makes the request equal the limit
        lim = self.limits
        if lim:
            req = self.requests
            if req is None:
                self.requests = dict(lim)
            else:
                for k, v in lim.items():
                    if k not in req:
                        req[k] = v
        return self


class ContainerResizePolicy(K8sModel):
    resourceName: str
    restartPolicy: Literal["NotRequired", "RestartContainer"]


class VolumeMount(K8sModel):
    name: str
    readOnly: bool | None = None
    recursiveReadOnly: Literal["Disabled", "IfPossible", "Enabled"] | None = None
    mountPath: str
    subPath: str | None = None
    mountPropagation: Literal["None", "HostToContainer", "Bidirectional"] | None = None
    subPathExpr: str | None = None


class VolumeDevice(K8sModel):
    name: str
    devicePath: str


# ---------------------------------------------------------------- probes & hooks


class ExecAction(K8sModel):
    command: list[str] | None = None


class HTTPHeader(K8sModel):
    name: str
    value: str


class HTTPGetAction(K8sModel):
    path: str = "/"
    port: IntOrString
    host: str | None = None
    scheme: Literal["HTTP", "HTTPS"] = "HTTP"
    httpHeaders: list[HTTPHeader] | None = None


class TCPSocketAction(K8sModel):
    port: IntOrString
    host: str | None = None


class GRPCAction(K8sModel):
    port: Int32
    service: str | None = None


class SleepAction(K8sModel):
    seconds: Int64


class Probe(K8sModel):
    exec: ExecAction | None = None
    httpGet: HTTPGetAction | None = None
    tcpSocket: TCPSocketAction | None = None
    grpc: GRPCAction | None = None
    initialDelaySeconds: Int32 | None = None
    timeoutSeconds: Int32 = 1
    periodSeconds: Int32 = 10
    successThreshold: Int32 = 1
    failureThreshold: Int32 = 3
    terminationGracePeriodSeconds: Int64 | None = None


class LifecycleHandler(K8sModel):
    exec: ExecAction | None = None
    httpGet: HTTPGetAction | None = None
    tcpSocket: TCPSocketAction | None = None
    sleep: SleepAction | None = None


class Lifecycle(K8sModel):
    postStart: LifecycleHandler | None = None
    preStop: LifecycleHandler | None = None
    stopSignal: str | None = None


# ---------------------------------------------------------------- security


class Capabilities(K8sModel):
    add: list[str] | None = None
    drop: list[str] | None = None


class SELinuxOptions(K8sModel):
    user: str | None = None
    role: str | None = None
    type: str | None = None
    level: str | None = None


class WindowsSecurityContextOptions(K8sModel):
    gmsaCredentialSpecName: str | None = None
    gmsaCredentialSpec: str | None = None
    runAsUserName: str | None = None
    hostProcess: bool | None = None


class SeccompProfile(K8sModel):
    type: Literal["Unconfined", "RuntimeDefault", "Localhost"]
    localhostProfile: str | None = None


class AppArmorProfile(K8sModel):
    type: Literal["Unconfined", "RuntimeDefault", "Localhost"]
    localhostProfile: str | None = None


class SecurityContext(K8sModel):
    capabilities: Capabilities | None = None
    privileged: bool | None = None
    seLinuxOptions: SELinuxOptions | None = None
    windowsOptions: WindowsSecurityContextOptions | None = None
    runAsUser: Int64 | None = None
    runAsGroup: Int64 | None = None
    runAsNonRoot: bool | None = None
    readOnlyRootFilesystem: bool | None = None
    allowPrivilegeEscalation: bool | None = None
    procMount: Literal["Default", "Unmasked"] | None = None
    seccompProfile: SeccompProfile | None = None
    appArmorProfile: AppArmorProfile | None = None


# ---------------------------------------------------------------- container


def default_pull_policy(image: str) -> PullPolicy:
    """``Always`` for ``:latest`` or untagged images without a digest, else
    ``IfNotPresent`` (SetDefaults_Container)."""
    name, at, _digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return "IfNotPresent" if at else "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


class Container(K8sModel):
    name: str
    image: str | None = None
    command: list[str] | None = None
    args: list[str] | None = None
    workingDir: str | None = None
    ports: list[ContainerPort] | None = None
    envFrom: list[EnvFromSource] | None = None
    env: list[EnvVar] | None = None
    resources: ResourceRequirements | None = None
    resizePolicy: list[ContainerResizePolicy] | None = None
    restartPolicy: Literal["Always"] | None = None
    volumeMounts: list[VolumeMount] | None = None
    volumeDevices: list[VolumeDevice] | None = None
    livenessProbe: Probe | None = None
    readinessProbe: Probe | None = None
    startupProbe: Probe | None = None
    lifecycle: Lifecycle | None = None
    terminationMessagePath: str = "/dev/termination-log"
    terminationMessagePolicy: Literal["File", "FallbackToLogsOnError"] = "File"
    imagePullPolicy: PullPolicy | None = None
    securityContext: SecurityContext | None = None
    stdin: bool | None = None
    stdinOnce: bool | None = None
    tty: bool | None = None

    @model_validator(mode="after")
    def _defaults(self) -> Container:
        if self.imagePullPolicy is None and self.image:
            self.imagePullPolicy = default_pull_policy(self.image)
        if self.resources is None:
            # Kubernetes always serializes `resources: {}` on a container
            self.resources = ResourceRequirements()
        return self


class EphemeralContainer(Container):
    targetContainerName: str | None = None

