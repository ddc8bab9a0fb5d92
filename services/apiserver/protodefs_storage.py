"""Protobuf field tables of persistent storage, in the format of protodefs_core.py:
core/v1 PersistentVolume and PersistentVolumeClaim (:data:`CORE`, package ``core``) and
storage.k8s.io/v1 StorageClass (:data:`STORAGE`), transcribed from the Go types of
``k8s.io/api/core/v1`` and ``k8s.io/api/storage/v1``.

Of ``PersistentVolumeSource`` only the sources the schema holds are listed (hostPath 3,
nfs 5, local 20, csi 22); a body with another one has an unknown field, skipped with a
warning as Kubernetes' decoder skips it, and then fails validation (no volume type).
"""

from __future__ import annotations

__all__ = ["CORE", "STORAGE"]

CORE: dict[str, str] = {
    "PersistentVolume": (
        "1 metadata meta.ObjectMeta; 2 spec PersistentVolumeSpec; 3 status PersistentVolumeStatus"),
    "PersistentVolumeSpec": (
        "1 capacity {}Quantity; 2 ... PersistentVolumeSource; 3 accessModes []string;"
        " 4 claimRef *ObjectReference; 5 persistentVolumeReclaimPolicy string;"
        " 6 storageClassName string; 7 mountOptions []string; 8 volumeMode *string;"
        " 9 nodeAffinity *VolumeNodeAffinity; 10 volumeAttributesClassName *string"),
    "PersistentVolumeSource": (
        "3 hostPath *HostPathVolumeSource; 5 nfs *NFSVolumeSource; 20 local *LocalVolumeSource;"
        " 22 csi *CSIPersistentVolumeSource"),
    "LocalVolumeSource": "1 path string; 2 fsType *string",
    "CSIPersistentVolumeSource": (
        "1 driver string; 2 volumeHandle string; 3 readOnly bool; 4 fsType string;"
        " 5 volumeAttributes {}string; 6 controllerPublishSecretRef *SecretReference;"
        " 7 nodeStageSecretRef *SecretReference; 8 nodePublishSecretRef *SecretReference;"
        " 9 controllerExpandSecretRef *SecretReference; 10 nodeExpandSecretRef *SecretReference"),
    "SecretReference": "1 name string; 2 namespace string",
    "VolumeNodeAffinity": "1 required *NodeSelector",
    "PersistentVolumeStatus": (
        "1 phase string; 2 message string; 3 reason string; 4 lastPhaseTransitionTime *Time"),
    "PersistentVolumeClaim": (
        "1 metadata meta.ObjectMeta; 2 spec PersistentVolumeClaimSpec;"
        " 3 status PersistentVolumeClaimStatus"),
    "PersistentVolumeClaimStatus": (
        "1 phase string; 2 accessModes []string; 3 capacity {}Quantity;"
        " 4 conditions []PersistentVolumeClaimCondition; 5 allocatedResources {}Quantity;"
        " 7 allocatedResourceStatuses {}string; 8 currentVolumeAttributesClassName *string;"
        " 9 modifyVolumeStatus *ModifyVolumeStatus"),
    "PersistentVolumeClaimCondition": (
        "1 type string; 2 status string; 3 lastProbeTime Time; 4 lastTransitionTime Time;"
        " 5 reason string; 6 message string"),
    "ModifyVolumeStatus": "1 targetVolumeAttributesClassName string; 2 status string",
    "TopologySelectorTerm": "1 matchLabelExpressions []TopologySelectorLabelRequirement",
    "TopologySelectorLabelRequirement": "1 key string; 2 values []string",
}

STORAGE: dict[str, str] = {
    "StorageClass": (
        "1 metadata meta.ObjectMeta; 2 provisioner string; 3 parameters {}string;"
        " 4 reclaimPolicy *string; 5 mountOptions []string; 6 allowVolumeExpansion *bool;"
        " 7 volumeBindingMode *string; 8 allowedTopologies []core.TopologySelectorTerm"),
}
