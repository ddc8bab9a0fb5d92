"""Strategic merge keys: the lists of objects that merge element by element, and the
field that identifies an element (Kubernetes' ``patchMergeKey``).

One table for the API server's strategic merge patch and kctl's client-side
apply.  Lists not named here (``tolerations``, ``taints``, ``args``…) are atomic:
a patch replaces them whole, as in Kubernetes.
"""

from __future__ import annotations

from collections.abc import Mapping

# field name → candidate merge keys, the usual one first
STRATEGIC_MERGE_KEYS: Mapping[str, tuple[str, ...]] = {
    "containers": ("name",),
    "initContainers": ("name",),
    "ephemeralContainers": ("name",),
    "env": ("name",),
    "volumes": ("name",),
    "volumeMounts": ("mountPath",),
    "volumeDevices": ("devicePath",),
    "imagePullSecrets": ("name",),
    "hostAliases": ("ip",),
    "ports": ("containerPort", "port"),  # a container's ports; a Service's merge by port
    "conditions": ("type",),
    "addresses": ("type",),  # a Node's status.addresses
    "topologySpreadConstraints": ("topologyKey",),
    "resourceClaims": ("name",),
    "ownerReferences": ("uid",),
}
