"""Protobuf field tables of the served groups besides core: apps/v1, batch/v1,
rbac.authorization.k8s.io/v1, coordination.k8s.io/v1, discovery.k8s.io/v1
(``EndpointSlice``), autoscaling/v1 (``Scale``), policy/v1
(``Eviction``, the body of ``pods/eviction``; policy/v1beta1's is the same message), and the
self-reviews of authorization.k8s.io/v1 and authentication.k8s.io/v1 (what ``kubectl auth
can-i`` and ``whoami`` send; the alpha selector attributes and ``UserInfo.extra`` are left
out, so they are skipped with a warning).

Plain data in the format of protodefs_core.py, transcribed from the Go types of
``k8s.io/api/<group>/<version>``; one table per package.
"""

from __future__ import annotations

__all__ = ["APPS", "AUTHENTICATION", "AUTHORIZATION", "AUTOSCALING", "BATCH", "COORDINATION",
           "DISCOVERY", "POLICY", "RBAC"]

APPS: dict[str, str] = {
    "Deployment": (
        "1 metadata meta.ObjectMeta; 2 spec DeploymentSpec; 3 status DeploymentStatus"),
    "DeploymentSpec": (
        "1 replicas *int32; 2 selector *meta.LabelSelector; 3 template core.PodTemplateSpec;"
        " 4 strategy DeploymentStrategy; 5 minReadySeconds int32;"
        " 6 revisionHistoryLimit *int32; 7 paused bool; 9 progressDeadlineSeconds *int32"),
    "DeploymentStrategy": "1 type string; 2 rollingUpdate *RollingUpdateDeployment",
    "RollingUpdateDeployment": "1 maxUnavailable *IntOrString; 2 maxSurge *IntOrString",
    "DeploymentStatus": (
        "1 observedGeneration int64; 2 replicas int32; 3 updatedReplicas int32;"
        " 7 readyReplicas int32; 4 availableReplicas int32; 5 unavailableReplicas int32;"
        " 6 conditions []DeploymentCondition; 8 collisionCount *int32"),
    "DeploymentCondition": (
        "1 type string; 2 status string; 6 lastUpdateTime Time; 7 lastTransitionTime Time;"
        " 4 reason string; 5 message string"),
    "DaemonSetUpdateStrategy": "1 type string; 2 rollingUpdate *RollingUpdateDaemonSet",
    "RollingUpdateDaemonSet": "1 maxUnavailable *IntOrString; 2 maxSurge *IntOrString",
    "DaemonSetSpec": (
        "1 selector *meta.LabelSelector; 2 template core.PodTemplateSpec;"
        " 3 updateStrategy DaemonSetUpdateStrategy; 4 minReadySeconds int32;"
        " 6 revisionHistoryLimit *int32"),
    "DaemonSetStatus": (
        "1 currentNumberScheduled int32; 2 numberMisscheduled int32;"
        " 3 desiredNumberScheduled int32; 4 numberReady int32; 5 observedGeneration int64;"
        " 6 updatedNumberScheduled int32; 7 numberAvailable int32; 8 numberUnavailable int32;"
        " 9 collisionCount *int32; 10 conditions []DaemonSetCondition"),
    "DaemonSetCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time; 4 reason string;"
        " 5 message string"),
    "DaemonSet": "1 metadata meta.ObjectMeta; 2 spec DaemonSetSpec; 3 status DaemonSetStatus",
    "StatefulSet": (
        "1 metadata meta.ObjectMeta; 2 spec StatefulSetSpec; 3 status StatefulSetStatus"),
    "StatefulSetSpec": (
        "1 replicas *int32; 2 selector *meta.LabelSelector; 3 template core.PodTemplateSpec;"
        " 4 volumeClaimTemplates []core.PersistentVolumeClaim; 5 serviceName string;"
        " 6 podManagementPolicy string; 7 updateStrategy StatefulSetUpdateStrategy;"
        " 8 revisionHistoryLimit *int32; 9 minReadySeconds int32;"
        " 10 persistentVolumeClaimRetentionPolicy"
        " *StatefulSetPersistentVolumeClaimRetentionPolicy; 11 ordinals *StatefulSetOrdinals"),
    "StatefulSetUpdateStrategy": "1 type string; 2 rollingUpdate *RollingUpdateStatefulSetStrategy",
    "RollingUpdateStatefulSetStrategy": "1 partition *int32; 2 maxUnavailable *IntOrString",
    "StatefulSetPersistentVolumeClaimRetentionPolicy": "1 whenDeleted string; 2 whenScaled string",
    "StatefulSetOrdinals": "1 start int32",
    "StatefulSetStatus": (
        "1 observedGeneration int64; 2 replicas int32; 3 readyReplicas int32;"
        " 4 currentReplicas int32; 5 updatedReplicas int32; 6 currentRevision string;"
        " 7 updateRevision string; 9 collisionCount *int32; 10 conditions []StatefulSetCondition;"
        " 11 availableReplicas int32"),
    "StatefulSetCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time; 4 reason string;"
        " 5 message string"),
    "ControllerRevision": "1 metadata meta.ObjectMeta; 2 data RawExtension; 3 revision int64",
    "ReplicaSet": "1 metadata meta.ObjectMeta; 2 spec ReplicaSetSpec; 3 status ReplicaSetStatus",
    "ReplicaSetSpec": (
        "1 replicas *int32; 4 minReadySeconds int32; 2 selector *meta.LabelSelector;"
        " 3 template core.PodTemplateSpec"),
    "ReplicaSetStatus": (
        "1 replicas int32; 2 fullyLabeledReplicas int32; 4 readyReplicas int32;"
        " 5 availableReplicas int32; 3 observedGeneration int64;"
        " 6 conditions []ReplicaSetCondition"),
    "ReplicaSetCondition": (
        "1 type string; 2 status string; 3 lastTransitionTime Time; 4 reason string;"
        " 5 message string"),
}

DISCOVERY: dict[str, str] = {
    "EndpointSlice": (
        "1 metadata meta.ObjectMeta; 4 addressType string; 2 endpoints []Endpoint;"
        " 3 ports []EndpointPort"),
    "Endpoint": (
        "1 addresses []string; 2 conditions EndpointConditions; 3 hostname *string;"
        " 4 targetRef *core.ObjectReference; 5 deprecatedTopology {}string; 6 nodeName *string;"
        " 7 zone *string; 8 hints *EndpointHints"),
    "EndpointConditions": "1 ready *bool; 2 serving *bool; 3 terminating *bool",
    "EndpointHints": "1 forZones []ForZone; 2 forNodes []ForNode",
    "ForZone": "1 name string",
    "ForNode": "1 name string",
    "EndpointPort": "1 name *string; 2 protocol *string; 3 port *int32; 4 appProtocol *string",
}

BATCH: dict[str, str] = {
    "Job": "1 metadata meta.ObjectMeta; 2 spec JobSpec; 3 status JobStatus",
    "JobSpec": (
        "1 parallelism *int32; 2 completions *int32; 3 activeDeadlineSeconds *int64;"
        " 11 podFailurePolicy *PodFailurePolicy; 7 backoffLimit *int32;"
        " 4 selector *meta.LabelSelector; 5 manualSelector *bool; 6 template core.PodTemplateSpec;"
        " 8 ttlSecondsAfterFinished *int32; 9 completionMode *string; 10 suspend *bool;"
        " 12 backoffLimitPerIndex *int32; 13 maxFailedIndexes *int32;"
        " 14 podReplacementPolicy *string; 15 managedBy *string; 16 successPolicy *SuccessPolicy"),
    "SuccessPolicy": "1 rules []SuccessPolicyRule",
    "SuccessPolicyRule": "1 succeededIndexes *string; 2 succeededCount *int32",
    "PodFailurePolicy": "1 rules []PodFailurePolicyRule",
    "PodFailurePolicyRule": (
        "1 action string; 2 onExitCodes *PodFailurePolicyOnExitCodesRequirement;"
        " 3 onPodConditions []PodFailurePolicyOnPodConditionsPattern"),
    "PodFailurePolicyOnExitCodesRequirement": (
        "1 containerName *string; 2 operator string; 3 values []int32"),
    "PodFailurePolicyOnPodConditionsPattern": "1 type string; 2 status string",
    "JobStatus": (
        "1 conditions []JobCondition; 2 startTime *Time; 3 completionTime *Time; 4 active int32;"
        " 5 succeeded int32; 6 failed int32; 7 completedIndexes string;"
        " 8 uncountedTerminatedPods *UncountedTerminatedPods; 9 ready *int32;"
        " 10 failedIndexes *string; 11 terminating *int32"),
    "UncountedTerminatedPods": "1 succeeded []string; 2 failed []string",
    "JobCondition": (
        "1 type string; 2 status string; 3 lastProbeTime Time; 4 lastTransitionTime Time;"
        " 5 reason string; 6 message string"),
    "CronJob": "1 metadata meta.ObjectMeta; 2 spec CronJobSpec; 3 status CronJobStatus",
    "CronJobSpec": (
        "1 schedule string; 8 timeZone *string; 2 startingDeadlineSeconds *int64;"
        " 3 concurrencyPolicy string; 4 suspend *bool; 5 jobTemplate JobTemplateSpec;"
        " 6 successfulJobsHistoryLimit *int32; 7 failedJobsHistoryLimit *int32"),
    "JobTemplateSpec": "1 metadata meta.ObjectMeta; 2 spec JobSpec",
    "CronJobStatus": (
        "1 active []core.ObjectReference; 4 lastScheduleTime *Time; 5 lastSuccessfulTime *Time"),
}

RBAC: dict[str, str] = {
    "PolicyRule": (
        "1 verbs []string; 2 apiGroups []string; 3 resources []string; 4 resourceNames []string;"
        " 5 nonResourceURLs []string"),
    "Subject": "1 kind string; 2 apiGroup string; 3 name string; 4 namespace string",
    "RoleRef": "1 apiGroup string; 2 kind string; 3 name string",
    "Role": "1 metadata meta.ObjectMeta; 2 rules []PolicyRule",
    "RoleBinding": "1 metadata meta.ObjectMeta; 2 subjects []Subject; 3 roleRef RoleRef",
    "ClusterRole": (
        "1 metadata meta.ObjectMeta; 2 rules []PolicyRule; 3 aggregationRule *AggregationRule"),
    "AggregationRule": "1 clusterRoleSelectors []meta.LabelSelector",
    "ClusterRoleBinding": "1 metadata meta.ObjectMeta; 2 subjects []Subject; 3 roleRef RoleRef",
}

COORDINATION: dict[str, str] = {
    "Lease": "1 metadata meta.ObjectMeta; 2 spec LeaseSpec",
    "LeaseSpec": (
        "1 holderIdentity *string; 2 leaseDurationSeconds *int32; 3 acquireTime *MicroTime;"
        " 4 renewTime *MicroTime; 5 leaseTransitions *int32"),
}

AUTOSCALING: dict[str, str] = {
    "Scale": "1 metadata meta.ObjectMeta; 2 spec ScaleSpec; 3 status ScaleStatus",
    "ScaleSpec": "1 replicas int32",
    "ScaleStatus": "1 replicas int32; 2 selector string",
}

POLICY: dict[str, str] = {
    "Eviction": "1 metadata meta.ObjectMeta; 2 deleteOptions *meta.DeleteOptions",
}

AUTHORIZATION: dict[str, str] = {
    "SelfSubjectAccessReview": (
        "1 metadata meta.ObjectMeta; 2 spec SelfSubjectAccessReviewSpec;"
        " 3 status SubjectAccessReviewStatus"),
    "SelfSubjectAccessReviewSpec": (
        "1 resourceAttributes *ResourceAttributes; 2 nonResourceAttributes *NonResourceAttributes"),
    "ResourceAttributes": (
        "1 namespace string; 2 verb string; 3 group string; 4 version string;"
        " 5 resource string; 6 subresource string; 7 name string"),
    "NonResourceAttributes": "1 path string; 2 verb string",
    "SubjectAccessReviewStatus": (
        "1 allowed bool; 4 denied bool; 2 reason string; 3 evaluationError string"),
    "SelfSubjectRulesReview": (
        "1 metadata meta.ObjectMeta; 2 spec SelfSubjectRulesReviewSpec;"
        " 3 status SubjectRulesReviewStatus"),
    "SelfSubjectRulesReviewSpec": "1 namespace string",
    "SubjectRulesReviewStatus": (
        "1 resourceRules []ResourceRule; 2 nonResourceRules []NonResourceRule;"
        " 3 incomplete bool; 4 evaluationError string"),
    "ResourceRule": (
        "1 verbs []string; 2 apiGroups []string; 3 resources []string;"
        " 4 resourceNames []string"),
    "NonResourceRule": "1 verbs []string; 2 nonResourceURLs []string",
}

AUTHENTICATION: dict[str, str] = {
    "SelfSubjectReview": "1 metadata meta.ObjectMeta; 2 status SelfSubjectReviewStatus",
    "SelfSubjectReviewStatus": "1 userInfo UserInfo",
    "TokenRequest": "1 metadata meta.ObjectMeta; 2 spec TokenRequestSpec; 3 status TokenRequestStatus",
    "TokenRequestSpec": (
        "1 audiences []string; 4 expirationSeconds *int64; 3 boundObjectRef *BoundObjectReference"),
    "BoundObjectReference": "1 kind string; 2 apiVersion string; 3 name string; 4 uid string",
    "TokenRequestStatus": "1 token string; 2 expirationTimestamp Time",
    "UserInfo": "1 username string; 2 uid string; 3 groups []string",
}
