"""Which PersistentVolume a PersistentVolumeClaim may bind, on canonical dicts: the
persistentvolume controller (static binding) and the scheduler's VolumeBinding plugin
(which nodes a claim can bind on) share it, as Kubernetes' ``FindMatchingVolume`` and
``CheckNodeAffinity`` in ``k8s.io/component-helpers/storage/volume``.

A volume matches a claim when it is not being deleted, not bound to another claim
(``claimRef`` empty, or naming this claim), has every access mode the claim asks for, the
claim's class (``""`` when unset), the claim's volume mode, labels the claim's selector
matches, at least the storage the claim requests, and (for a node) node affinity that
admits the node.  Among matches the one with the fewest access modes wins, then the
smallest; a volume pre-bound to the claim (its ``claimRef`` names it) wins outright.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .labelmatch import requirement_matches
from .meta import selector_dict_matches
from .objects import Obj
from .quantity import compare_quantities, parse_quantity
from .storageutil import STORAGE


def pod_claim_names(pod: Obj) -> list[str]:
    """The claims a pod's volumes name: ``persistentVolumeClaim.claimName``, and for an
    ``ephemeral`` volume the claim made for it, ``<pod>-<volume>``."""
    pod_name = str((pod.get("metadata") or {}).get("name") or "")
    out: list[str] = []
    for v in (pod.get("spec") or {}).get("volumes") or ():
        if v.get("persistentVolumeClaim"):
            out.append(str(v["persistentVolumeClaim"].get("claimName") or ""))
        elif v.get("ephemeral") is not None:
            out.append(f"{pod_name}-{v.get('name')}")
    return [n for n in out if n]


def claim_class(claim: Obj) -> str:
    """``GetPersistentVolumeClaimClass``: the claim's class, ``""`` when it has none."""
    return str((claim.get("spec") or {}).get("storageClassName") or "")


def volume_class(volume: Obj) -> str:
    """``GetPersistentVolumeClass``: the volume's class, ``""`` when it has none."""
    return str((volume.get("spec") or {}).get("storageClassName") or "")


def claim_request(claim: Obj) -> str:
    """The storage a claim requests (``"0"`` when it names none: validation refuses that)."""
    spec = claim.get("spec") or {}
    return str(((spec.get("resources") or {}).get("requests") or {}).get(STORAGE) or "0")


def volume_capacity(volume: Obj) -> str:
    return str(((volume.get("spec") or {}).get("capacity") or {}).get(STORAGE) or "0")


def is_volume_bound_to_claim(volume: Obj, claim: Obj) -> bool:
    """``IsVolumeBoundToClaim``: the volume's claimRef names the claim (and its uid, when
    the claimRef carries one)."""
    ref = (volume.get("spec") or {}).get("claimRef")
    if not ref:
        return False
    md = claim.get("metadata") or {}
    if ref.get("name") != md.get("name") or ref.get("namespace") != md.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == md.get("uid")


def _term_matches(term: Mapping[str, Any], node_name: str, labels: Mapping[str, str]) -> bool:
    reqs = [(r, labels.get(str(r.get("key") or ""))) for r in term.get("matchExpressions") or ()]
    reqs += [(r, node_name if r.get("key") == "metadata.name" else None)
             for r in term.get("matchFields") or ()]
    return bool(reqs) and all(requirement_matches(r.get("operator"), value,
                                                  tuple(r.get("values") or ()))
                              for r, value in reqs)


def node_affinity_matches(volume: Obj, node_name: str, labels: Mapping[str, str]) -> bool:
    """``CheckNodeAffinity``: the volume may be used on the node (no node affinity: any)."""
    required = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required"))
    if not required:
        return True
    return any(_term_matches(t, node_name, labels)
               for t in required.get("nodeSelectorTerms") or ())


def pinned_node(volume: Obj) -> str | None:
    """The one node a volume's node affinity names by ``kubernetes.io/hostname`` (as a
    local volume's does), or None."""
    required = (((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required")) or {}
    for term in required.get("nodeSelectorTerms") or ():
        for r in term.get("matchExpressions") or ():
            values = r.get("values") or []
            if r.get("key") == "kubernetes.io/hostname" and r.get("operator") == "In" \
                    and len(values) == 1:
                return str(values[0])
    return None


def _modes(o: Obj) -> set[str]:
    return set((o.get("spec") or {}).get("accessModes") or ())


def _volume_mode(o: Obj) -> str:
    return str((o.get("spec") or {}).get("volumeMode") or "Filesystem")


def mismatch(volume: Obj, claim: Obj) -> str | None:
    """Why ``volume`` cannot serve ``claim`` (class, access modes, volume mode, size,
    selector), or None: ``checkVolumeSatisfyClaim``, for a claim that names its volume."""
    if compare_quantities(volume_capacity(volume), claim_request(claim)) < 0:
        return "requested PV is too small"
    if volume_class(volume) != claim_class(claim):
        return "storageClassName does not match"
    if _volume_mode(volume) != _volume_mode(claim):
        return "incompatible volumeMode"
    if not _modes(claim) <= _modes(volume):
        return "incompatible accessMode"
    return None


def find_matching_volume(claim: Obj, volumes: Iterable[Obj], *,
                         node: tuple[str, Mapping[str, str]] | None = None,
                         delay_binding: bool = False,
                         excluded: frozenset[str] = frozenset()) -> Obj | None:
    """``FindMatchingVolume`` (with ``findByClaim``'s access-mode order): the best volume
    for ``claim``, or None.  ``node`` (name, labels): only volumes whose node affinity
    admits it.  ``delay_binding`` (the claim's class waits for its first consumer) without
    a node: only a volume pre-bound to the claim, since the scheduler picks the node first.
    ``excluded``: volume names not to pick (chosen for another claim of the same pod)."""
    request = claim_request(claim)
    selector = (claim.get("spec") or {}).get("selector")
    want_modes = _modes(claim)
    best: tuple[int, Any] | None = None
    best_volume: Obj | None = None
    for volume in volumes:
        md = volume.get("metadata") or {}
        spec = volume.get("spec") or {}
        if md.get("name") in excluded or md.get("deletionTimestamp"):
            continue
        bound_here = is_volume_bound_to_claim(volume, claim)
        if spec.get("claimRef") is not None and not bound_here:
            continue
        if compare_quantities(volume_capacity(volume), request) < 0:
            continue
        if _volume_mode(volume) != _volume_mode(claim):
            continue
        affinity_ok = node is None or node_affinity_matches(volume, node[0], node[1])
        if bound_here:
            return volume if affinity_ok else None  # pre-bound: this one or none
        if node is None and delay_binding:
            continue  # the scheduler binds it, once it has chosen a node
        if (volume.get("status") or {}).get("phase") != "Available":
            continue
        if selector is not None and not selector_dict_matches(selector, md.get("labels") or {}):
            continue
        if volume_class(volume) != claim_class(claim) or not affinity_ok:
            continue
        if not want_modes <= _modes(volume):
            continue
        rank = (len(_modes(volume)), parse_quantity(volume_capacity(volume)))
        if best is None or rank < best:
            best, best_volume = rank, volume
    return best_volume
