"""``FindMatchingVolume`` as Kubernetes orders it (schemas/volumematch.py, shared by the
binder and the scheduler's VolumeBinding): a volume pre-bound to the claim wins, even
over a better fit, unless its node affinity excludes the node; among free Available
volumes, the fewest access modes first, then the smallest that fits; class, volume
mode, selector, size, phase and deletion rule volumes out; with delayed binding and no
node only a pre-bound volume is taken; excluded names are skipped."""

from __future__ import annotations

from typing import Any

from jetkube.schemas.objects import Obj
from jetkube.schemas.volumematch import find_matching_volume, node_affinity_matches, pinned_node


def volume(name: str, size: str = "1Gi", modes: tuple[str, ...] = ("ReadWriteOnce",),
           phase: str = "Available", node: str | None = None, **extra: Any) -> Obj:
    spec: Obj = {"capacity": {"storage": size}, "accessModes": list(modes)}
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    md: Obj = {"name": name, "labels": extra.pop("labels", {})}
    if extra.pop("deleting", False):
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec.update(extra)
    return {"metadata": md, "spec": spec, "status": {"phase": phase}}


CLAIM: Obj = {"metadata": {"name": "c", "namespace": "ns", "uid": "u1"},
              "spec": {"accessModes": ["ReadWriteOnce"],
                       "resources": {"requests": {"storage": "1Gi"}}}}


def name_of(v: Obj | None) -> str | None:
    return None if v is None else str(v["metadata"]["name"])


def test_fewest_access_modes_then_smallest_fit() -> None:
    vols = [volume("many-modes", "1Gi", ("ReadWriteOnce", "ReadOnlyMany")),
            volume("big", "5Gi"), volume("fits", "2Gi"), volume("small", "500Mi")]
    assert name_of(find_matching_volume(CLAIM, vols)) == "fits"
    assert name_of(find_matching_volume(CLAIM, vols[:1])) == "many-modes"


def test_volumes_ruled_out() -> None:
    vols = [volume("classy", storageClassName="fast"), volume("block", volumeMode="Block"),
            volume("pending", phase="Pending"), volume("going", deleting=True),
            volume("taken", claimRef={"namespace": "ns", "name": "other", "uid": "u2"}),
            volume("read-only", modes=("ReadOnlyMany",))]
    assert find_matching_volume(CLAIM, vols) is None
    selective = {**CLAIM, "spec": {**CLAIM["spec"], "selector": {"matchLabels": {"t": "a"}}}}
    assert find_matching_volume(selective, [volume("unlabelled")]) is None
    assert name_of(find_matching_volume(selective, [volume("a", labels={"t": "a"})])) == "a"


def test_pre_bound_volume_wins_unless_its_node_is_excluded() -> None:
    pre = volume("mine", "10Gi", node="n1",
                 claimRef={"namespace": "ns", "name": "c"})  # bound by name, no uid yet
    vols = [volume("better-fit"), pre]
    assert name_of(find_matching_volume(CLAIM, vols)) == "mine"
    n1 = ("n1", {"kubernetes.io/hostname": "n1"})
    assert name_of(find_matching_volume(CLAIM, vols, node=n1)) == "mine"
    assert find_matching_volume(CLAIM, vols, node=("n2", {"kubernetes.io/hostname": "n2"})) \
        is None


def test_delayed_binding_without_a_node_takes_only_a_pre_bound_volume() -> None:
    vols = [volume("on-n1", node="n1"), volume("on-n2", node="n2")]
    assert find_matching_volume(CLAIM, vols, delay_binding=True) is None
    n2 = ("n2", {"kubernetes.io/hostname": "n2"})
    assert name_of(find_matching_volume(CLAIM, vols, node=n2, delay_binding=True)) == "on-n2"
    assert find_matching_volume(CLAIM, vols, node=n2, delay_binding=True,
                                excluded=frozenset({"on-n2"})) is None


def test_node_affinity_and_the_pinned_node() -> None:
    v = volume("local", node="n1")
    assert node_affinity_matches(v, "n1", {"kubernetes.io/hostname": "n1"})
    assert not node_affinity_matches(v, "n2", {"kubernetes.io/hostname": "n2"})
    assert node_affinity_matches(volume("anywhere"), "n2", {})
    assert pinned_node(v) == "n1" and pinned_node(volume("anywhere")) is None
