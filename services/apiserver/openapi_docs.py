"""The descriptions of /openapi/v3 (what ``kubectl explain`` prints): the models of
jetkube.schemas carry no field docs, so kinds and the most used fields are described here,
briefly and in our own words; any other field has no description.

Keys: a kind's class name (:data:`KIND_DOCS`); a top-level field of every kind
(:data:`KIND_FIELD_DOCS`); ``Class.field`` by the field's name on the wire (:data:`FIELD_DOCS`).
"""

from __future__ import annotations

KIND_DOCS = {
    "Namespace": "A Namespace scopes the names of the objects in it; deleting it deletes them.",
    "Node": "A Node is a machine that runs pods; its node agent registers it and reports on it.",
    "Pod": "A Pod is a group of containers run together on one node, sharing its network "
           "namespace and volumes.",
    "Service": "A Service gives the pods its selector matches one stable virtual IP and ports.",
    "Endpoints": "Endpoints are the addresses and ports of the pods behind a Service.",
    "ConfigMap": "A ConfigMap holds configuration (not secret) as key-value pairs for pods.",
    "Secret": "A Secret holds a small amount of sensitive data, base64 in data; stringData is "
              "plain text folded into data on write. Sealed at rest by the API server.",
    "Event": "An Event reports something that happened to an object; it expires after the "
             "API server's event TTL.",
    "ResourceQuota": "A ResourceQuota caps the resources and object counts of a namespace.",
    "ComponentStatus": "The health of a control-plane component (deprecated in Kubernetes).",
    "Deployment": "A Deployment keeps a number of replicas of a pod template running and rolls "
                  "template changes out through ReplicaSets.",
    "ReplicaSet": "A ReplicaSet keeps a number of pods matching its selector running.",
    "ReplicationController": "A ReplicationController keeps a number of pods matching its "
                             "equality-based selector running (the older ReplicaSet).",
    "EndpointSlice": "An EndpointSlice holds up to 100 endpoints of a Service (its "
                     "kubernetes.io/service-name label) with their conditions and ports.",
    "DaemonSet": "A DaemonSet runs one copy of a pod on every eligible node.",
    "StatefulSet": "A StatefulSet runs pods with stable names <set>-<ordinal>, stable storage "
                   "(a claim per ordinal) and ordered creation, scaling and rolling updates.",
    "ControllerRevision": "An immutable snapshot of a controller's state (for a StatefulSet, "
                          "its pod template) with a revision number: its rollout history.",
    "Job": "A Job runs pods until enough of them have completed successfully.",
    "CronJob": "A CronJob creates a Job from its template at each time of a cron schedule.",
    "PersistentVolume": "A PersistentVolume is a piece of storage in the cluster, bound to at "
                        "most one claim; its reclaim policy says what happens when the claim "
                        "goes.",
    "PersistentVolumeClaim": "A PersistentVolumeClaim asks for storage of a class, size and "
                             "access mode; it is bound to a volume that satisfies it.",
    "StorageClass": "A StorageClass names a provisioner that makes volumes for claims of the "
                    "class, how it binds them, and their reclaim policy.",
    "Lease": "A Lease says who holds a named lock and until when (leader election, heartbeats).",
    "ServiceAccount": "A ServiceAccount is an identity for the processes of pods: its tokens "
                      "(TokenRequest) authenticate them to the API server.",
    "Role": "A Role grants permissions within one namespace.",
    "ClusterRole": "A ClusterRole grants permissions cluster-wide, or in the namespace of a "
                   "RoleBinding that names it.",
    "RoleBinding": "A RoleBinding grants a Role's or ClusterRole's permissions to subjects in "
                   "one namespace.",
    "ClusterRoleBinding": "A ClusterRoleBinding grants a ClusterRole's permissions to subjects "
                          "across the cluster.",
    "Binding": "A Binding assigns a pod to a node: the body of pods/binding.",
    "Scale": "The replica count of a scalable resource: the body of its scale subresource.",
    "SelfSubjectAccessReview": "Asks whether the requesting user may do something (kubectl "
                               "auth can-i); answered in status, never stored.",
    "SelfSubjectRulesReview": "Asks what the requesting user may do in a namespace (kubectl "
                              "auth can-i --list); answered in status, never stored.",
    "SelfSubjectReview": "Asks who the server takes the requesting user for (kubectl auth "
                         "whoami); answered in status, never stored.",
}
KIND_FIELD_DOCS = {
    "apiVersion": "The version of the schema this object follows, e.g. v1 or apps/v1.",
    "kind": "The type of this object, in CamelCase, e.g. Deployment.",
    "metadata": "The object's metadata: name, namespace, labels, annotations and the fields "
                "the server sets.",
    "spec": "The desired state of the object.",
    "status": "The observed state of the object, written by the system.",
}
FIELD_DOCS = {
    "ObjectMeta.name": "The object's name, unique within its namespace (or the cluster, for "
                       "cluster-scoped kinds); cannot change.",
    "ObjectMeta.generateName": "With no name, the server makes a unique one from this prefix.",
    "ObjectMeta.namespace": "The namespace of the object; empty for cluster-scoped kinds.",
    "ObjectMeta.labels": "Identifying key-value pairs that selectors match.",
    "ObjectMeta.annotations": "Non-identifying key-value pairs for tools and people.",
    "ObjectMeta.uid": "Set by the server: unique among all objects ever created.",
    "ObjectMeta.resourceVersion": "Set by the server: the version of this object, for "
                                  "optimistic concurrency and watches.",
    "ObjectMeta.generation": "Set by the server: counts changes of the desired state.",
    "ObjectMeta.creationTimestamp": "Set by the server: when the object was created.",
    "ObjectMeta.deletionTimestamp": "Set by the server: when the object is to be gone, once "
                                    "its deletion was asked for.",
    "ObjectMeta.ownerReferences": "The objects this one belongs to; the garbage collector "
                                  "deletes it when all of them are gone.",
    "ObjectMeta.finalizers": "Names that must all be removed before the object is deleted.",
    "DeploymentSpec.replicas": "How many pods to run.",
    "DeploymentSpec.selector": "Selects the pods this Deployment manages; must match the "
                               "template's labels.",
    "DeploymentSpec.template": "The pods to create.",
    "DeploymentSpec.strategy": "How old pods are replaced by new ones.",
    "DeploymentSpec.minReadySeconds": "How long a new pod must be ready before it counts as "
                                      "available.",
    "DeploymentSpec.revisionHistoryLimit": "How many old ReplicaSets to keep for rollback.",
    "DeploymentSpec.paused": "While true, template changes are not rolled out.",
    "DeploymentSpec.progressDeadlineSeconds": "Seconds without progress after which the "
                                              "rollout is reported as failed.",
    "DeploymentStrategy.type": "Recreate: remove all old pods, then create new ones. "
                               "RollingUpdate: replace them gradually.",
    "DeploymentStrategy.rollingUpdate": "The limits of a RollingUpdate.",
    "StatefulSetSpec.serviceName": "The headless Service that gives each pod its DNS name "
                                   "<pod>.<serviceName>.<namespace>.svc.<domain>.",
    "StatefulSetSpec.podManagementPolicy": "OrderedReady: create pods in ordinal order, each "
                                           "Running and Ready before the next, and remove them "
                                           "in reverse. Parallel: all at once.",
    "StatefulSetSpec.volumeClaimTemplates": "Claims made for each pod, named "
                                            "<template>-<set>-<ordinal>, mounted as the "
                                            "volume of the template's name.",
    "StatefulSetSpec.persistentVolumeClaimRetentionPolicy": "Whether the claims are deleted "
                                                            "with the set (whenDeleted) or with "
                                                            "pods scaled away (whenScaled).",
    "RollingUpdateStatefulSetStrategy.partition": "Only pods with an ordinal at or above it are "
                                                  "updated.",
    "RollingUpdateDeployment.maxUnavailable": "How many pods may be unavailable during the "
                                              "update: a number or a percentage of replicas.",
    "RollingUpdateDeployment.maxSurge": "How many pods may exist above replicas during the "
                                        "update: a number or a percentage of replicas.",
    "PodTemplateSpec.metadata": "The metadata of the pods made from this template.",
    "PodTemplateSpec.spec": "The spec of the pods made from this template.",
    "PodSpec.containers": "The containers of the pod: at least one.",
    "PodSpec.initContainers": "Containers run one after the other, each to completion, "
                              "before the containers start.",
    "PodSpec.volumes": "Volumes the containers may mount.",
    "PodSpec.restartPolicy": "When the node agent restarts the pod's containers.",
    "PodSpec.nodeName": "The node the pod is bound to; set by the scheduler.",
    "PodSpec.nodeSelector": "Labels a node must have for the pod to be scheduled there.",
    "PodSpec.serviceAccountName": "The service account the pod runs as.",
    "PodSpec.terminationGracePeriodSeconds": "Seconds between the stop signal and the kill.",
    "PodSpec.tolerations": "Taints the pod tolerates.",
    "PodSpec.affinity": "Scheduling constraints on nodes and on other pods.",
    "Container.name": "The container's name, unique within the pod.",
    "Container.image": "The image to run.",
    "Container.command": "The executable and arguments; replaces the image's entrypoint.",
    "Container.args": "Arguments; replace the image's cmd.",
    "Container.ports": "Ports the container listens on (informational).",
    "Container.env": "Environment variables to set.",
    "Container.resources": "Requests (what scheduling reserves) and limits (the most used).",
    "Container.volumeMounts": "Volumes of the pod to mount into the container.",
    "Container.imagePullPolicy": "When to pull the image: Always, Never or IfNotPresent.",
    "ContainerPort.containerPort": "The port number the container listens on.",
    "ServiceSpec.selector": "Pods with these labels receive the Service's traffic.",
    "ServiceSpec.ports": "The ports the Service exposes.",
    "ServiceSpec.type": "How the Service is exposed: ClusterIP, NodePort, LoadBalancer or "
                        "ExternalName.",
    "ServiceSpec.clusterIP": "The Service's virtual IP; allocated by the server when empty.",
    "ServicePort.port": "The port the Service exposes.",
    "ServicePort.targetPort": "The pods' port, a number or a container port's name; "
                              "defaults to port.",
    "ConfigMap.data": "Configuration as UTF-8 strings.",
    "ConfigMap.binaryData": "Configuration as base64-encoded bytes.",
    "Secret.data": "Secret values, base64-encoded.",
    "Secret.stringData": "Secret values as plain strings; folded into data on write.",
    "Secret.type": "What the secret is for, e.g. Opaque.",
}
