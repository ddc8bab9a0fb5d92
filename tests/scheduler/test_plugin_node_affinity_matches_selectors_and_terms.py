"""NodeAffinity: nodeSelector and required terms filter; preferred terms score."""

from __future__ import annotations

from jetkube.services.scheduler.framework import Code, CycleState
from jetkube.services.scheduler.plugins.node_affinity import NodeAffinity
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod, node_info

NA = NodeAffinity({}, FakeHandle(make_cache([])))
SSD = node_info(make_node("ssd", labels={"disk": "ssd", "gen": "5"}))
HDD = node_info(make_node("hdd", labels={"disk": "hdd", "gen": "3"}))


def _fits(pod: dict, node: object) -> bool:  # type: ignore[type-arg]
    state = CycleState()
    pi = pod_info(pod)
    st = NA.pre_filter(state, pi)
    if st is not None and st.code is Code.SKIP:
        return True
    return NA.filter(state, pi, node) is None  # type: ignore[arg-type]


def test_node_selector_must_match_every_label() -> None:
    pod = make_pod("p", node_selector={"disk": "ssd"})
    assert _fits(pod, SSD) and not _fits(pod, HDD)
    st = NA.filter(CycleState(), pod_info(pod), HDD)
    assert st is not None and st.reasons == ("node(s) didn't match Pod's node affinity/selector",)


def test_a_pod_without_constraints_skips_the_filter() -> None:
    st = NA.pre_filter(CycleState(), pod_info(make_pod("p")))
    assert st is not None and st.code is Code.SKIP


def test_required_terms_are_ored_and_expressions_anded() -> None:
    def req(*terms: dict) -> dict:  # type: ignore[type-arg]
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": list(terms)}}}

    gt4 = {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}
    hdd_name = {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["hdd"]}]}
    assert _fits(make_pod("p", affinity=req(gt4)), SSD)
    assert not _fits(make_pod("p", affinity=req(gt4)), HDD)
    assert _fits(make_pod("p", affinity=req(gt4, hdd_name)), HDD)
    both = {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]},
                                 {"key": "zone", "operator": "DoesNotExist"}]}
    assert _fits(make_pod("p", affinity=req(both)), SSD)
    notin = {"matchExpressions": [{"key": "disk", "operator": "NotIn", "values": ["ssd"]}]}
    assert not _fits(make_pod("p", affinity=req(notin)), SSD)
    assert not _fits(make_pod("p", affinity=req({})), SSD)  # an empty term matches nothing


def test_preferred_terms_score_by_weight() -> None:
    aff = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 80, "preference": {"matchExpressions": [
            {"key": "disk", "operator": "In", "values": ["ssd"]}]}},
        {"weight": 20, "preference": {"matchExpressions": [
            {"key": "gen", "operator": "Exists"}]}}]}}
    pod = pod_info(make_pod("p", affinity=aff))
    state = CycleState()
    assert NA.pre_score(state, pod, [SSD, HDD]) is None
    scores = [NA.score(state, pod, n) for n in (SSD, HDD)]
    assert scores == [100, 20]
    NA.normalize_score(state, pod, scores)
    assert scores == [100, 20]
