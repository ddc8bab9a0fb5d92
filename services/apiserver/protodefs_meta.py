"""Protobuf field tables of meta/v1 (``k8s.io/apimachinery/pkg/apis/meta/v1``).

Plain data in the format of protodefs_core.py: the object metadata, label selectors,
conditions and the ``DeleteOptions`` a DELETE may carry.  ``Time``, ``MicroTime``,
``Duration`` and ``FieldsV1`` are special messages protobody.py maps itself.
"""

from __future__ import annotations

__all__ = ["MESSAGES", "PACKAGE"]

PACKAGE = "meta"

MESSAGES: dict[str, str] = {
    "ObjectMeta": (
        "1 name string; 2 generateName string; 3 namespace string; 4 selfLink string;"
        " 5 uid string; 6 resourceVersion string; 7 generation int64;"
        " 8 creationTimestamp Time; 9 deletionTimestamp *Time;"
        " 10 deletionGracePeriodSeconds *int64; 11 labels {}string; 12 annotations {}string;"
        " 13 ownerReferences []OwnerReference; 14 finalizers []string;"
        " 17 managedFields []ManagedFieldsEntry"),
    "OwnerReference": (
        "5 apiVersion string; 1 kind string; 3 name string; 4 uid string; 6 controller *bool;"
        " 7 blockOwnerDeletion *bool"),
    "DeleteOptions": (
        "1 gracePeriodSeconds *int64; 2 preconditions *Preconditions; 3 orphanDependents *bool;"
        " 4 propagationPolicy *string; 5 dryRun []string;"
        " 6 ignoreStoreReadErrorWithClusterBreakingPotential *bool"),
    "Preconditions": "1 uid *string; 2 resourceVersion *string",
    "LabelSelector": "1 matchLabels {}string; 2 matchExpressions []LabelSelectorRequirement",
    "LabelSelectorRequirement": "1 key string; 2 operator string; 3 values []string",
    "ManagedFieldsEntry": (
        "1 manager string; 2 operation string; 3 apiVersion string; 4 time *Time;"
        " 6 fieldsType string; 7 fieldsV1 *FieldsV1; 8 subresource string"),
    "Condition": (
        "1 type string; 2 status string; 3 observedGeneration int64; 4 lastTransitionTime Time;"
        " 5 reason string; 6 message string"),
}
