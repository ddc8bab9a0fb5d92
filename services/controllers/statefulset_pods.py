"""A StatefulSet's pods: identity, storage and revisions (Kubernetes' ``stateful_set_utils``).

- **Identity.** Pod ``<set>-<ordinal>`` (parsed back with ``(.*)-([0-9]+)$``), labelled
  ``statefulset.kubernetes.io/pod-name`` and ``apps.kubernetes.io/pod-index``; created with
  ``spec.hostname`` = its name and ``spec.subdomain`` = the set's ``serviceName``, so a
  headless Service of that name publishes ``<pod>.<service>.<ns>.svc.<domain>``.
- **Storage.** One volume per ``volumeClaimTemplates`` entry, named after the template,
  pointing to the claim ``<template>-<set>-<ordinal>`` (replacing a template volume of the
  same name).
- **Revisions.** A revision's data is the patch that restores the set's pod template
  (``{"spec": {"template": {..., "$patch": "replace"}}}``, Kubernetes' ``getPatch``);
  :func:`apply_revision` is the set with that template.  A pod names its revision in the
  ``controller-revision-hash`` label.
- **Pod state.** Kubernetes' ``isCreated``, ``isRunningAndReady``, ``isHealthy``...
"""

from __future__ import annotations

import copy
import re
from datetime import datetime

from jetkube.schemas.objects import Obj
from jetkube.services.machinery.apimachinery import new_controller_ref

from .replicaset_pods import available_in, deleting, is_ready, meta, pod_from_template, spec, status

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


# --- identity ------------------------------------------------------------------------------

def parent_and_ordinal(pod: Obj) -> tuple[str, int]:
    """``("web", 2)`` for ``web-2``; ``("", -1)`` for a name without an ordinal."""
    m = _ORDINAL.match(str(meta(pod).get("name") or ""))
    if m is None:
        return "", -1
    return m.group(1), int(m.group(2))


def ordinal_of(pod: Obj) -> int:
    return parent_and_ordinal(pod)[1]


def is_member_of(sts: Obj, pod: Obj) -> bool:
    return parent_and_ordinal(pod)[0] == meta(sts).get("name")


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{meta(sts).get('name')}-{ordinal}"


def start_ordinal(sts: Obj) -> int:
    return int((spec(sts).get("ordinals") or {}).get("start") or 0)


def end_ordinal(sts: Obj) -> int:
    """One past the highest ordinal a replica may have."""
    return start_ordinal(sts) + int(spec(sts).get("replicas", 1) or 0)


def in_ordinal_range(sts: Obj, pod: Obj) -> bool:
    return start_ordinal(sts) <= ordinal_of(pod) < end_ordinal(sts)


def identity_matches(sts: Obj, pod: Obj) -> bool:
    parent, ordinal = parent_and_ordinal(pod)
    labels = meta(pod).get("labels") or {}
    return (ordinal >= 0 and parent == meta(sts).get("name")
            and meta(pod).get("name") == pod_name(sts, ordinal)
            and meta(pod).get("namespace") == meta(sts).get("namespace")
            and labels.get(POD_NAME_LABEL) == meta(pod).get("name")
            and labels.get(POD_INDEX_LABEL) == str(ordinal))


def update_identity(sts: Obj, pod: Obj) -> None:
    """Name, namespace and identity labels for the pod's ordinal (in place)."""
    ordinal = ordinal_of(pod)
    md = pod["metadata"]
    md["name"] = pod_name(sts, ordinal)
    md["namespace"] = meta(sts).get("namespace")
    md["labels"] = {**(md.get("labels") or {}), POD_NAME_LABEL: md["name"],
                    POD_INDEX_LABEL: str(ordinal)}


# --- storage -------------------------------------------------------------------------------

def claim_name(template: Obj, sts: Obj, ordinal: int) -> str:
    return f"{meta(template).get('name')}-{meta(sts).get('name')}-{ordinal}"


def claims_for(sts: Obj, ordinal: int) -> dict[str, str]:
    """Volume name (the template's) → claim name, for one ordinal."""
    return {str(meta(t).get("name")): claim_name(t, sts, ordinal)
            for t in spec(sts).get("volumeClaimTemplates") or ()}


def storage_matches(sts: Obj, pod: Obj) -> bool:
    ordinal = ordinal_of(pod)
    if ordinal < 0:
        return False
    volumes = {v.get("name"): v for v in spec(pod).get("volumes") or ()}
    for volume, claim in claims_for(sts, ordinal).items():
        v = volumes.get(volume)
        if v is None or (v.get("persistentVolumeClaim") or {}).get("claimName") != claim:
            return False
    return True


def update_storage(sts: Obj, pod: Obj) -> None:
    """The claims' volumes first, then the pod's other volumes (in place)."""
    claims = claims_for(sts, ordinal_of(pod))
    if not claims:
        return
    pod_spec = pod["spec"]
    volumes = [{"name": v, "persistentVolumeClaim": {"claimName": c}} for v, c in claims.items()]
    volumes += [v for v in pod_spec.get("volumes") or () if v.get("name") not in claims]
    pod_spec["volumes"] = volumes


# --- pods and revisions -----------------------------------------------------------------------

def new_pod(sts: Obj, ordinal: int, revision: str) -> Obj:
    """Kubernetes' ``newStatefulSetPod`` + ``setPodRevision``."""
    pod = pod_from_template(sts, spec(sts).get("template") or {},
                            new_controller_ref(sts, "apps/v1", "StatefulSet"))
    md = pod["metadata"]
    del md["generateName"]
    md["name"] = pod_name(sts, ordinal)
    update_identity(sts, pod)
    pod["spec"]["hostname"] = md["name"]
    if spec(sts).get("serviceName"):
        pod["spec"]["subdomain"] = spec(sts)["serviceName"]
    update_storage(sts, pod)
    md["labels"][REVISION_LABEL] = revision
    return pod


def revision_data(sts: Obj) -> Obj:
    """Kubernetes' ``getPatch``: the set's template, to be put back whole."""
    template = copy.deepcopy(spec(sts).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def apply_revision(sts: Obj, revision: Obj) -> Obj:
    """The set as ``revision`` had it (its pod template)."""
    out = copy.deepcopy(sts)
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    out["spec"]["template"] = template
    return out


def pod_revision(pod: Obj) -> str:
    return str((meta(pod).get("labels") or {}).get(REVISION_LABEL) or "")


# --- pod state ---------------------------------------------------------------------------------

def is_created(pod: Obj) -> bool:
    return bool(status(pod).get("phase"))


def is_failed(pod: Obj) -> bool:
    return status(pod).get("phase") == "Failed"


def is_succeeded(pod: Obj) -> bool:
    return status(pod).get("phase") == "Succeeded"


def is_pending(pod: Obj) -> bool:
    return status(pod).get("phase") == "Pending"


def is_terminating(pod: Obj) -> bool:
    return deleting(pod)


def is_running_and_ready(pod: Obj) -> bool:
    return status(pod).get("phase") == "Running" and is_ready(pod)


def is_running_and_available(pod: Obj, min_ready: int, now: datetime) -> bool:
    return status(pod).get("phase") == "Running" and available_in(pod, min_ready, now) == 0.0


def is_healthy(pod: Obj) -> bool:
    """Running, ready and not being deleted (Kubernetes' ``isHealthy``)."""
    return is_running_and_ready(pod) and not is_terminating(pod)


def is_unavailable(pod: Obj, min_ready: int, now: datetime) -> bool:
    return not is_running_and_available(pod, min_ready, now) or is_terminating(pod)
