"""Semantic validation of StatefulSets and ControllerRevisions, as Kubernetes'
``ValidateStatefulSet``/``ValidateStatefulSetUpdate`` and ``ValidateControllerRevision``.

validation.py calls :func:`check_statefulset` after the selector check all workloads
share, and :func:`check_controller_revision`; validation_update.py calls the ``*_update``
functions with the two canonical dicts.  Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from .fielderrors import (
    Errors,
    check,
    dns1123_label,
    forbidden,
    invalid,
    non_negative,
    not_supported,
    required,
)
from .objects import get_path
from .pod import PodTemplateSpec
from .statefulset import (
    DELETE,
    ON_DELETE,
    ORDERED_READY,
    PARALLEL,
    RETAIN,
    ROLLING_UPDATE,
    ControllerRevision,
    StatefulSet,
)
from .validation_pod import validate_pod_template
from .validation_storage import check_persistent_volume_claim
from .volumes import PersistentVolumeClaimVolumeSource, Volume

_MUTABLE_SPEC = ("replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit",
                 "persistentVolumeClaimRetentionPolicy", "minReadySeconds")


def _max_unavailable(errs: Errors, path: str, value: int | str | None) -> None:
    """RollingUpdate's maxUnavailable: a positive int, or a percent from 1% to 100%."""
    if value is None:
        return
    if isinstance(value, str):
        if not (value.endswith("%") and value[:-1].isdigit()):
            errs.append(invalid(path, value, "a valid percent string must be a numeric string "
                                             "followed by an ending '%' (e.g. '1%',  or '93%', "
                                             "regex used for validation is '[0-9]+%')"))
            return
        number = int(value[:-1])
        if number > 100:
            errs.append(invalid(path, value, "must not be greater than 100%"))
    else:
        number = value
        non_negative(errs, path, value)
    if number == 0:
        errs.append(invalid(path, value, "must be greater than 0"))


def _with_claim_volumes(o: StatefulSet) -> PodTemplateSpec:
    """The template as the controller stamps pods out: with a volume per claim template
    (replacing a template volume of that name), so containers may mount them."""
    claims = [c.metadata.name for c in o.spec.volumeClaimTemplates or () if c.metadata.name]
    if not claims:
        return o.spec.template
    template = o.spec.template.model_copy(deep=True)
    template.spec.volumes = [
        *(Volume(name=name, persistentVolumeClaim=PersistentVolumeClaimVolumeSource(
            claimName=name)) for name in claims),
        *(v for v in template.spec.volumes or () if v.name not in claims)]
    return template


def check_statefulset(errs: Errors, o: Any) -> None:
    """Everything but the selector (validation.py checks that as for every workload)."""
    assert isinstance(o, StatefulSet)
    s = o.spec
    if s.podManagementPolicy not in (ORDERED_READY, PARALLEL):
        errs.append(invalid("spec.podManagementPolicy", s.podManagementPolicy,
                            f"must be '{ORDERED_READY}' or '{PARALLEL}'"))
    st = s.updateStrategy
    if st.type == ON_DELETE:
        if st.rollingUpdate is not None:
            errs.append(invalid("spec.updateStrategy.rollingUpdate",
                                st.rollingUpdate.to_dict(),
                                f"only allowed for updateStrategy '{ROLLING_UPDATE}'"))
    elif st.type == ROLLING_UPDATE:
        if st.rollingUpdate is not None:
            non_negative(errs, "spec.updateStrategy.rollingUpdate.partition",
                         st.rollingUpdate.partition)
            _max_unavailable(errs, "spec.updateStrategy.rollingUpdate.maxUnavailable",
                             st.rollingUpdate.maxUnavailable)
    else:
        errs.append(invalid("spec.updateStrategy", st.type,
                            f"must be '{ROLLING_UPDATE}' or '{ON_DELETE}'"))
    policy = s.persistentVolumeClaimRetentionPolicy
    for field in ("whenDeleted", "whenScaled"):
        value = getattr(policy, field)
        if value not in (RETAIN, DELETE):
            errs.append(not_supported(f"spec.persistentVolumeClaimRetentionPolicy.{field}",
                                      value, (RETAIN, DELETE)))
    non_negative(errs, "spec.replicas", s.replicas)
    non_negative(errs, "spec.minReadySeconds", s.minReadySeconds)
    if s.ordinals is not None:
        non_negative(errs, "spec.ordinals.start", s.ordinals.start)
    validate_pod_template(errs, "spec.template", _with_claim_volumes(o), ("Always",))
    for i, claim in enumerate(s.volumeClaimTemplates or ()):
        path = f"spec.volumeClaimTemplates[{i}]"
        if not claim.metadata.name:
            errs.append(required(path + ".metadata.name"))
        else:  # it names the pod's volume, a DNS-1123 label
            check(errs, path + ".metadata.name", claim.metadata.name, dns1123_label)
        claim_errs: Errors = []
        check_persistent_volume_claim(claim_errs, claim)
        errs.extend({**e, "field": f"{path}.{e['field']}"} for e in claim_errs)


def check_controller_revision(errs: Errors, o: Any) -> None:
    assert isinstance(o, ControllerRevision)
    if o.data is None:
        errs.append(required("data"))
    non_negative(errs, "revision", o.revision)


def statefulset_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Only replicas, ordinals, template, updateStrategy, revisionHistoryLimit, the PVC
    retention policy and minReadySeconds may change."""
    o, n = old.get("spec") or {}, new.get("spec") or {}
    if ({k: v for k, v in o.items() if k not in _MUTABLE_SPEC}
            != {k: v for k, v in n.items() if k not in _MUTABLE_SPEC}):
        errs.append(forbidden(
            "spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', "
                    "'template', 'updateStrategy', 'revisionHistoryLimit', "
                    "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                    "forbidden"))


def controller_revision_update(errs: Errors, old: dict[str, Any], new: dict[str, Any]) -> None:
    if get_path(old, "data") != get_path(new, "data"):
        errs.append(invalid("data", new.get("data"), "field is immutable"))
