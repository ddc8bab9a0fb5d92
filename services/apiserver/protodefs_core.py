"""Protobuf field tables of core/v1 (Kubernetes' ``k8s.io/api/core/v1``), as protobody.py reads them.

Plain data, transcribed by hand from the Go types of ``k8s.io/api/core/v1`` (their
``protobuf:"..."`` struct tags and Go types; the same facts as ``generated.proto``): for each
message, its fields as ``"<number> <json name> <type>"``, separated by ``;``.  A type is
``string``, ``bool``, ``int32``, ``int64``, ``bytes`` (a Go ``[]byte``), a message of this
package, one of another package (``meta.ObjectMeta``) or a special one (``Quantity``,
``IntOrString``, ``Time``, ``MicroTime``, ``Duration``, ``FieldsV1``, ``RawExtension``),
prefixed by ``*`` for a Go pointer (sent only when set), ``[]`` for a repeated field and
``{}`` for a map with string keys.  The json name ``...`` is an embedded struct whose
fields JSON inlines (``Volume.VolumeSource``).  Wire types follow the Go types, not the
tags (``GRPCAction.port`` is tagged ``bytes`` but is an ``int32``).  Only the messages the
served kinds reach are here; the volume sources no schema of ours holds are named in
:data:`NOT_TRANSCRIBED` (a body that uses one is refused, never half read).
"""

from __future__ import annotations

__all__ = ["MESSAGES", "NOT_TRANSCRIBED", "PACKAGE"]

PACKAGE = "core"

NOT_TRANSCRIBED = frozenset({
    "GCEPersistentDiskVolumeSource", "AWSElasticBlockStoreVolumeSource", "GitRepoVolumeSource",
    "ISCSIVolumeSource", "GlusterfsVolumeSource", "RBDVolumeSource", "FlexVolumeSource",
    "CinderVolumeSource", "CephFSVolumeSource", "FlockerVolumeSource", "FCVolumeSource",
    "AzureFileVolumeSource", "VsphereVirtualDiskVolumeSource", "QuobyteVolumeSource",
    "AzureDiskVolumeSource", "PhotonPersistentDiskVolumeSource", "PortworxVolumeSource",
    "ScaleIOVolumeSource", "StorageOSVolumeSource",
})
"""Volume sources of ``VolumeSource`` left out: no schema here holds them."""

MESSAGES: dict[str, str] = {
    "Volume": "1 name string; 2 ... VolumeSource",
    "VolumeSource": (
        "1 hostPath *HostPathVolumeSource; 2 emptyDir *EmptyDirVolumeSource;"
        " 3 gcePersistentDisk *GCEPersistentDiskVolumeSource;"
        " 4 awsElasticBlockStore *AWSElasticBlockStoreVolumeSource; 5 gitRepo *GitRepoVolumeSource;"
        " 6 secret *SecretVolumeSource; 7 nfs *NFSVolumeSource; 8 iscsi *ISCSIVolumeSource;"
        " 9 glusterfs *GlusterfsVolumeSource;"
        " 10 persistentVolumeClaim *PersistentVolumeClaimVolumeSource; 11 rbd *RBDVolumeSource;"
        " 12 flexVolume *FlexVolumeSource; 13 cinder *CinderVolumeSource;"
        " 14 cephfs *CephFSVolumeSource; 15 flocker *FlockerVolumeSource;"
        " 16 downwardAPI *DownwardAPIVolumeSource; 17 fc *FCVolumeSource;"
        " 18 azureFile *AzureFileVolumeSource; 19 configMap *ConfigMapVolumeSource;"
        " 20 vsphereVolume *VsphereVirtualDiskVolumeSource; 21 quobyte *QuobyteVolumeSource;"
        " 22 azureDisk *AzureDiskVolumeSource;"
        " 23 photonPersistentDisk *PhotonPersistentDiskVolumeSource;"
        " 24 portworxVolume *PortworxVolumeSource; 25 scaleIO *ScaleIOVolumeSource;"
        " 26 projected *ProjectedVolumeSource; 27 storageos *StorageOSVolumeSource;"
        " 28 csi *CSIVolumeSource; 29 ephemeral *EphemeralVolumeSource; 30 image *ImageVolumeSource"),
    "PersistentVolumeClaimVolumeSource": "1 claimName string; 2 readOnly bool",
    "PersistentVolumeClaimSpec": (
        "1 accessModes []string; 4 selector *meta.LabelSelector;"
        " 2 resources VolumeResourceRequirements; 3 volumeName string;"
        " 5 storageClassName *string; 6 volumeMode *string;"
        " 7 dataSource *TypedLocalObjectReference; 8 dataSourceRef *TypedObjectReference;"
        " 9 volumeAttributesClassName *string"),
    "TypedObjectReference": "1 apiGroup *string; 2 kind string; 3 name string; 4 namespace *string",
    "HostPathVolumeSource": "1 path string; 2 type *string",
    "EmptyDirVolumeSource": "1 medium string; 2 sizeLimit *Quantity",
    "SecretVolumeSource": "1 secretName string; 2 items []KeyToPath; 3 defaultMode *int32; 4 optional *bool",
    "SecretProjection": "1 ... LocalObjectReference; 2 items []KeyToPath; 4 optional *bool",
    "NFSVolumeSource": "1 server string; 2 path string; 3 readOnly bool",
    "ConfigMapVolumeSource": (
        "1 ... LocalObjectReference; 2 items []KeyToPath; 3 defaultMode *int32; 4 optional *bool"),
    "ConfigMapProjection": "1 ... LocalObjectReference; 2 items []KeyToPath; 4 optional *bool",
    "ServiceAccountTokenProjection": "1 audience string; 2 expirationSeconds *int64; 3 path string",
    "ClusterTrustBundleProjection": (
        "1 name *string; 2 signerName *string; 3 labelSelector *meta.LabelSelector;"
        " 5 optional *bool; 4 path string"),
    "ProjectedVolumeSource": "1 sources []VolumeProjection; 2 defaultMode *int32",
    "VolumeProjection": (
        "1 secret *SecretProjection; 2 downwardAPI *DownwardAPIProjection;"
        " 3 configMap *ConfigMapProjection; 4 serviceAccountToken *ServiceAccountTokenProjection;"
        " 5 clusterTrustBundle *ClusterTrustBundleProjection"),
    "KeyToPath": "1 key string; 2 path string; 3 mode *int32",
    "CSIVolumeSource": (
        "1 driver string; 2 readOnly *bool; 3 fsType *string; 4 volumeAttributes {}string;"
        " 5 nodePublishSecretRef *LocalObjectReference"),
    "EphemeralVolumeSource": "1 volumeClaimTemplate *PersistentVolumeClaimTemplate",
    "PersistentVolumeClaimTemplate": "1 metadata meta.ObjectMeta; 2 spec PersistentVolumeClaimSpec",
    "ContainerPort": (
        "1 name string; 2 hostPort int32; 3 containerPort int32; 4 protocol string; 5 hostIP string"),
    "VolumeMount": (
        "1 name string; 2 readOnly bool; 7 recursiveReadOnly *string; 3 mountPath string;"
        " 4 subPath string; 5 mountPropagation *string; 6 subPathExpr string"),
    "VolumeDevice": "1 name string; 2 devicePath string",
    "EnvVar": "1 name string; 2 value string; 3 valueFrom *EnvVarSource",
    "ImageVolumeSource": "1 reference string; 2 pullPolicy string",
    "EnvVarSource": (
        "1 fieldRef *ObjectFieldSelector; 2 resourceFieldRef *ResourceFieldSelector;"
        " 3 configMapKeyRef *ConfigMapKeySelector; 4 secretKeyRef *SecretKeySelector"),
    "ObjectFieldSelector": "1 apiVersion string; 2 fieldPath string",
    "ResourceFieldSelector": "1 containerName string; 2 resource string; 3 divisor Quantity",
    "ConfigMapKeySelector": "1 ... LocalObjectReference; 2 key string; 3 optional *bool",
    "SecretKeySelector": "1 ... LocalObjectReference; 2 key string; 3 optional *bool",
    "EnvFromSource": (
        "1 prefix string; 2 configMapRef *ConfigMapEnvSource; 3 secretRef *SecretEnvSource"),
    "ConfigMapEnvSource": "1 ... LocalObjectReference; 2 optional *bool",
    "SecretEnvSource": "1 ... LocalObjectReference; 2 optional *bool",
    "HTTPHeader": "1 name string; 2 value string",
    "HTTPGetAction": (
        "1 path string; 2 port IntOrString; 3 host string; 4 scheme string;"
        " 5 httpHeaders []HTTPHeader"),
    "TCPSocketAction": "1 port IntOrString; 2 host string",
    "GRPCAction": "1 port int32; 2 service *string",
    "ExecAction": "1 command []string",
    "SleepAction": "1 seconds int64",
    "Probe": (
        "1 ... ProbeHandler; 2 initialDelaySeconds int32; 3 timeoutSeconds int32;"
        " 4 periodSeconds int32; 5 successThreshold int32; 6 failureThreshold int32;"
        " 7 terminationGracePeriodSeconds *int64"),
    "ContainerResizePolicy": "1 resourceName string; 2 restartPolicy string",
    "Capabilities": "1 add []string; 2 drop []string",
    "ResourceRequirements": "1 limits {}Quantity; 2 requests {}Quantity; 3 claims []ResourceClaim",
    "VolumeResourceRequirements": "1 limits {}Quantity; 2 requests {}Quantity",
    "ResourceClaim": "1 name string",
    "Container": (
        "1 name string; 2 image string; 3 command []string; 4 args []string; 5 workingDir string;"
        " 6 ports []ContainerPort; 19 envFrom []EnvFromSource; 7 env []EnvVar;"
        " 8 resources ResourceRequirements; 23 resizePolicy []ContainerResizePolicy;"
        " 24 restartPolicy *string; 9 volumeMounts []VolumeMount;"
        " 21 volumeDevices []VolumeDevice; 10 livenessProbe *Probe; 11 readinessProbe *Probe;"
        " 22 startupProbe *Probe; 12 lifecycle *Lifecycle; 13 terminationMessagePath string;"
        " 20 terminationMessagePolicy string; 14 imagePullPolicy string;"
        " 15 securityContext *SecurityContext; 16 stdin bool; 17 stdinOnce bool; 18 tty bool"),
    "ProbeHandler": (
        "1 exec *ExecAction; 2 httpGet *HTTPGetAction; 3 tcpSocket *TCPSocketAction;"
        " 4 grpc *GRPCAction"),
    "LifecycleHandler": (
        "1 exec *ExecAction; 2 httpGet *HTTPGetAction; 3 tcpSocket *TCPSocketAction;"
        " 4 sleep *SleepAction"),
    "Lifecycle": "1 postStart *LifecycleHandler; 2 preStop *LifecycleHandler",
    "ContainerStateWaiting": "1 reason string; 2 message string",
    "ContainerStateRunning": "1 startedAt Time",
    "ContainerStateTerminated": (
        "1 exitCode int32; 2 signal int32; 3 reason string; 4 message string; 5 startedAt Time;"
        " 6 finishedAt Time; 7 containerID string"),
    "ContainerState": (
        "1 waiting *ContainerStateWaiting; 2 running *ContainerStateRunning;"
        " 3 terminated *ContainerStateTerminated"),
    "ContainerStatus": (
        "1 name string; 2 state ContainerState; 3 lastState ContainerState; 4 ready bool;"
        " 5 restartCount int32; 6 image string; 7 imageID string; 8 containerID string;"
        " 9 started *bool; 10 allocatedResources {}Quantity; 11 resources *ResourceRequirements;"
        " 12 volumeMounts []VolumeMountStatus; 13 user *ContainerUser"),
    "ContainerUser": "1 linux *LinuxContainerUser",
    "LinuxContainerUser": "1 uid int64; 2 gid int64; 3 supplementalGroups []int64",
    "PodCondition": (
        "1 type string; 2 status string; 3 lastProbeTime Time; 4 lastTransitionTime Time;"
        " 5 reason string; 6 message string"),
    "VolumeMountStatus": "1 name string; 2 mountPath string; 3 readOnly bool; 4 recursiveReadOnly *string",
    "NodeSelector": "1 nodeSelectorTerms []NodeSelectorTerm",
    "NodeSelectorTerm": (
        "1 matchExpressions []NodeSelectorRequirement; 2 matchFields []NodeSelectorRequirement"),
    "NodeSelectorRequirement": "1 key string; 2 operator string; 3 values []string",
    "Affinity": (
        "1 nodeAffinity *NodeAffinity; 2 podAffinity *PodAffinity;"
        " 3 podAntiAffinity *PodAntiAffinity"),
    "PodAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm;"
        " 2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm"),
    "PodAntiAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution []PodAffinityTerm;"
        " 2 preferredDuringSchedulingIgnoredDuringExecution []WeightedPodAffinityTerm"),
    "WeightedPodAffinityTerm": "1 weight int32; 2 podAffinityTerm PodAffinityTerm",
    "PodAffinityTerm": (
        "1 labelSelector *meta.LabelSelector; 2 namespaces []string; 3 topologyKey string;"
        " 4 namespaceSelector *meta.LabelSelector; 5 matchLabelKeys []string;"
        " 6 mismatchLabelKeys []string"),
    "NodeAffinity": (
        "1 requiredDuringSchedulingIgnoredDuringExecution *NodeSelector;"
        " 2 preferredDuringSchedulingIgnoredDuringExecution []PreferredSchedulingTerm"),
    "PreferredSchedulingTerm": "1 weight int32; 2 preference NodeSelectorTerm",
    "Taint": "1 key string; 2 value string; 3 effect string; 4 timeAdded *Time",
    "Toleration": (
        "1 key string; 2 operator string; 3 value string; 4 effect string;"
        " 5 tolerationSeconds *int64"),
    "PodReadinessGate": "1 conditionType string",
    "PodSpec": (
        "1 volumes []Volume; 20 initContainers []Container; 2 containers []Container;"
        " 34 ephemeralContainers []EphemeralContainer; 3 restartPolicy string;"
        " 4 terminationGracePeriodSeconds *int64; 5 activeDeadlineSeconds *int64;"
        " 6 dnsPolicy string; 7 nodeSelector {}string; 8 serviceAccountName string;"
        " 9 serviceAccount string; 21 automountServiceAccountToken *bool; 10 nodeName string;"
        " 11 hostNetwork bool; 12 hostPID bool; 13 hostIPC bool; 27 shareProcessNamespace *bool;"
        " 14 securityContext *PodSecurityContext; 15 imagePullSecrets []LocalObjectReference;"
        " 16 hostname string; 17 subdomain string; 18 affinity *Affinity; 19 schedulerName string;"
        " 22 tolerations []Toleration; 23 hostAliases []HostAlias; 24 priorityClassName string;"
        " 25 priority *int32; 26 dnsConfig *PodDNSConfig; 28 readinessGates []PodReadinessGate;"
        " 29 runtimeClassName *string; 30 enableServiceLinks *bool; 31 preemptionPolicy *string;"
        " 32 overhead {}Quantity; 33 topologySpreadConstraints []TopologySpreadConstraint;"
        " 35 setHostnameAsFQDN *bool; 36 os *PodOS; 37 hostUsers *bool;"
        " 38 schedulingGates []PodSchedulingGate; 39 resourceClaims []PodResourceClaim"),
    "PodResourceClaim": (
        "1 name string; 3 resourceClaimName *string; 4 resourceClaimTemplateName *string"),
    "PodResourceClaimStatus": "1 name string; 2 resourceClaimName *string",
    "PodOS": "1 name string",
    "PodSchedulingGate": "1 name string",
    "TopologySpreadConstraint": (
        "1 maxSkew int32; 2 topologyKey string; 3 whenUnsatisfiable string;"
        " 4 labelSelector *meta.LabelSelector; 5 minDomains *int32; 6 nodeAffinityPolicy *string;"
        " 7 nodeTaintsPolicy *string; 8 matchLabelKeys []string"),
    "HostAlias": "1 ip string; 2 hostnames []string",
    "PodSecurityContext": (
        "1 seLinuxOptions *SELinuxOptions; 8 windowsOptions *WindowsSecurityContextOptions;"
        " 2 runAsUser *int64; 6 runAsGroup *int64; 3 runAsNonRoot *bool;"
        " 4 supplementalGroups []int64; 12 supplementalGroupsPolicy *string; 5 fsGroup *int64;"
        " 7 sysctls []Sysctl; 9 fsGroupChangePolicy *string; 10 seccompProfile *SeccompProfile;"
        " 11 appArmorProfile *AppArmorProfile"),
    "SeccompProfile": "1 type string; 2 localhostProfile *string",
    "AppArmorProfile": "1 type string; 2 localhostProfile *string",
    "PodDNSConfig": "1 nameservers []string; 2 searches []string; 3 options []PodDNSConfigOption",
    "PodDNSConfigOption": "1 name string; 2 value *string",
    "PodIP": "1 ip string",
    "HostIP": "1 ip string",
    # EphemeralContainerCommon has exactly Container's fields (types.go converts one to the other).
    "EphemeralContainer": "1 ... Container; 2 targetContainerName string",
    "PodStatus": (
        "1 phase string; 2 conditions []PodCondition; 3 message string; 4 reason string;"
        " 11 nominatedNodeName string; 5 hostIP string; 16 hostIPs []HostIP; 6 podIP string;"
        " 12 podIPs []PodIP; 7 startTime *Time; 10 initContainerStatuses []ContainerStatus;"
        " 8 containerStatuses []ContainerStatus; 9 qosClass string;"
        " 13 ephemeralContainerStatuses []ContainerStatus; 14 resize string;"
        " 15 resourceClaimStatuses []PodResourceClaimStatus"),
    "Pod": "1 metadata meta.ObjectMeta; 2 spec PodSpec; 3 status PodStatus",
    "PodTemplateSpec": "1 metadata meta.ObjectMeta; 2 spec PodSpec",
    "SessionAffinityConfig": "1 clientIP *ClientIPConfig",
    "ClientIPConfig": "1 timeoutSeconds *int32",
    "ServiceStatus": "1 loadBalancer LoadBalancerStatus; 2 conditions []meta.Condition",
    "LoadBalancerStatus": "1 ingress []LoadBalancerIngress",
    "LoadBalancerIngress": "1 ip string; 2 hostname string; 3 ipMode *string; 4 ports []PortStatus",
    "PortStatus": "1 port int32; 2 protocol string; 3 error *string",
    "ServiceSpec": (
        "1 ports []ServicePort; 2 selector {}string; 3 clusterIP string; 18 clusterIPs []string;"
        " 4 type string; 5 externalIPs []string; 7 sessionAffinity string;"
        " 8 loadBalancerIP string; 9 loadBalancerSourceRanges []string; 10 externalName string;"
        " 11 externalTrafficPolicy string; 12 healthCheckNodePort int32;"
        " 13 publishNotReadyAddresses bool; 14 sessionAffinityConfig *SessionAffinityConfig;"
        " 19 ipFamilies []string; 17 ipFamilyPolicy *string;"
        " 20 allocateLoadBalancerNodePorts *bool; 21 loadBalancerClass *string;"
        " 22 internalTrafficPolicy *string; 23 trafficDistribution *string"),
    "ServicePort": (
        "1 name string; 2 protocol string; 6 appProtocol *string; 3 port int32;"
        " 4 targetPort IntOrString; 5 nodePort int32"),
    "Service": "1 metadata meta.ObjectMeta; 2 spec ServiceSpec; 3 status ServiceStatus",
    "Endpoints": "1 metadata meta.ObjectMeta; 2 subsets []EndpointSubset",
    "EndpointSubset": (
        "1 addresses []EndpointAddress; 2 notReadyAddresses []EndpointAddress;"
        " 3 ports []EndpointPort"),
    "EndpointAddress": (
        "1 ip string; 3 hostname string; 4 nodeName *string; 2 targetRef *ObjectReference"),
    "EndpointPort": "1 name string; 2 port int32; 3 protocol string; 4 appProtocol *string",
    "ReplicationController": (
        "1 metadata meta.ObjectMeta; 2 spec ReplicationControllerSpec;"
        " 3 status ReplicationControllerStatus"),
    "ReplicationControllerSpec": (
        "1 replicas *int32; 4 minReadySeconds int32; 2 selector {}string;"
        " 3 template *PodTemplateSpec"),
    "ReplicationControllerStatus": (
        "1 replicas int32; 2 fullyLabeledReplicas int32; 4 readyReplicas int32;"
        " 5 availableReplicas int32; 3 observedGeneration int64;"
        " 6 conditions []ReplicationControllerCondition"),
    "ReplicationControllerCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time; 4 reason string;"
        " 5 message string"),
    "NodeSpec": (
        "1 podCIDR string; 7 podCIDRs []string; 3 providerID string; 4 unschedulable bool;"
        " 5 taints []Taint; 6 configSource *NodeConfigSource; 2 externalID string"),
    "NodeConfigSource": "2 configMap *ConfigMapNodeConfigSource",
    "ConfigMapNodeConfigSource": (
        "1 namespace string; 2 name string; 3 uid string; 4 resourceVersion string;"
        " 5 kubeletConfigKey string"),
    "DaemonEndpoint": "1 Port int32",
    "NodeDaemonEndpoints": "1 kubeletEndpoint DaemonEndpoint",
    "NodeRuntimeHandlerFeatures": "1 recursiveReadOnlyMounts *bool; 2 userNamespaces *bool",
    "NodeRuntimeHandler": "1 name string; 2 features *NodeRuntimeHandlerFeatures",
    "NodeFeatures": "1 supplementalGroupsPolicy *bool",
    "NodeSystemInfo": (
        "1 machineID string; 2 systemUUID string; 3 bootID string; 4 kernelVersion string;"
        " 5 osImage string; 6 containerRuntimeVersion string; 7 kubeletVersion string;"
        " 8 kubeProxyVersion string; 9 operatingSystem string; 10 architecture string"),
    "NodeConfigStatus": (
        "1 assigned *NodeConfigSource; 2 active *NodeConfigSource;"
        " 3 lastKnownGood *NodeConfigSource; 4 error string"),
    "NodeStatus": (
        "1 capacity {}Quantity; 2 allocatable {}Quantity; 3 phase string;"
        " 4 conditions []NodeCondition; 5 addresses []NodeAddress;"
        " 6 daemonEndpoints NodeDaemonEndpoints; 7 nodeInfo NodeSystemInfo;"
        " 8 images []ContainerImage; 9 volumesInUse []string;"
        " 10 volumesAttached []AttachedVolume; 11 config *NodeConfigStatus;"
        " 12 runtimeHandlers []NodeRuntimeHandler; 13 features *NodeFeatures"),
    "AttachedVolume": "1 name string; 2 devicePath string",
    "ContainerImage": "1 names []string; 2 sizeBytes int64",
    "NodeCondition": (
        "1 type string; 2 status string; 3 lastHeartbeatTime Time; 4 lastTransitionTime Time;"
        " 5 reason string; 6 message string"),
    "NodeAddress": "1 type string; 2 address string",
    "Node": "1 metadata meta.ObjectMeta; 2 spec NodeSpec; 3 status NodeStatus",
    "NamespaceSpec": "1 finalizers []string",
    "NamespaceStatus": "1 phase string; 2 conditions []NamespaceCondition",
    "NamespaceCondition": (
        "1 type string; 2 status string; 4 lastTransitionTime Time; 5 reason string;"
        " 6 message string"),
    "Namespace": "1 metadata meta.ObjectMeta; 2 spec NamespaceSpec; 3 status NamespaceStatus",
    "Binding": "1 metadata meta.ObjectMeta; 2 target ObjectReference",
    "ServiceAccount": (
        "1 metadata meta.ObjectMeta; 2 secrets []ObjectReference;"
        " 3 imagePullSecrets []LocalObjectReference; 4 automountServiceAccountToken *bool"),
    "ObjectReference": (
        "1 kind string; 2 namespace string; 3 name string; 4 uid string; 5 apiVersion string;"
        " 6 resourceVersion string; 7 fieldPath string"),
    "LocalObjectReference": "1 name string",
    "TypedLocalObjectReference": "1 apiGroup *string; 2 kind string; 3 name string",
    "EventSource": "1 component string; 2 host string",
    "Event": (
        "1 metadata meta.ObjectMeta; 2 involvedObject ObjectReference; 3 reason string;"
        " 4 message string; 5 source EventSource; 6 firstTimestamp Time; 7 lastTimestamp Time;"
        " 8 count int32; 9 type string; 10 eventTime MicroTime; 11 series *EventSeries;"
        " 12 action string; 13 related *ObjectReference; 14 reportingComponent string;"
        " 15 reportingInstance string"),
    "EventSeries": "1 count int32; 2 lastObservedTime MicroTime",
    "ResourceQuotaSpec": (
        "1 hard {}Quantity; 2 scopes []string; 3 scopeSelector *ScopeSelector"),
    "ScopeSelector": "1 matchExpressions []ScopedResourceSelectorRequirement",
    "ScopedResourceSelectorRequirement": "1 scopeName string; 2 operator string; 3 values []string",
    "ResourceQuotaStatus": "1 hard {}Quantity; 2 used {}Quantity",
    "ResourceQuota": (
        "1 metadata meta.ObjectMeta; 2 spec ResourceQuotaSpec; 3 status ResourceQuotaStatus"),
    "Secret": (
        "1 metadata meta.ObjectMeta; 5 immutable *bool; 2 data {}bytes; 4 stringData {}string;"
        " 3 type string"),
    "ConfigMap": (
        "1 metadata meta.ObjectMeta; 4 immutable *bool; 2 data {}string; 3 binaryData {}bytes"),
    "ComponentCondition": "1 type string; 2 status string; 3 message string; 4 error string",
    "ComponentStatus": "1 metadata meta.ObjectMeta; 2 conditions []ComponentCondition",
    "DownwardAPIVolumeSource": "1 items []DownwardAPIVolumeFile; 2 defaultMode *int32",
    "DownwardAPIVolumeFile": (
        "1 path string; 2 fieldRef *ObjectFieldSelector; 3 resourceFieldRef *ResourceFieldSelector;"
        " 4 mode *int32"),
    "DownwardAPIProjection": "1 items []DownwardAPIVolumeFile",
    "SecurityContext": (
        "1 capabilities *Capabilities; 2 privileged *bool; 3 seLinuxOptions *SELinuxOptions;"
        " 10 windowsOptions *WindowsSecurityContextOptions; 4 runAsUser *int64;"
        " 8 runAsGroup *int64; 5 runAsNonRoot *bool; 6 readOnlyRootFilesystem *bool;"
        " 7 allowPrivilegeEscalation *bool; 9 procMount *string;"
        " 11 seccompProfile *SeccompProfile; 12 appArmorProfile *AppArmorProfile"),
    "SELinuxOptions": "1 user string; 2 role string; 3 type string; 4 level string",
    "WindowsSecurityContextOptions": (
        "1 gmsaCredentialSpecName *string; 2 gmsaCredentialSpec *string;"
        " 3 runAsUserName *string; 4 hostProcess *bool"),
    "Sysctl": "1 name string; 2 value string",
}
