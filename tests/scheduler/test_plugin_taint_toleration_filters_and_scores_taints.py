"""TaintToleration: untolerated NoSchedule/NoExecute taints reject a node with
Kubernetes' message; untolerated PreferNoSchedule taints lower its score."""

from __future__ import annotations

from jetkube.services.scheduler.framework import Code, CycleState
from jetkube.services.scheduler.plugins.taint_toleration import TaintToleration
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod, node_info

TT = TaintToleration({}, FakeHandle(make_cache([])))
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}


def test_untolerated_no_schedule_taint_rejects_the_node() -> None:
    node = node_info(make_node("n1", taints=[{"key": "dedicated", "value": "gpu",
                                              "effect": "NoSchedule"}]))
    st = TT.filter(CycleState(), pod_info(make_pod("p")), node)
    assert st is not None and st.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert st.reasons == ("node(s) had untolerated taint {dedicated: gpu}",)


def test_a_matching_toleration_lets_the_pod_on() -> None:
    node = node_info(make_node("n1", taints=[{"key": "dedicated", "value": "gpu",
                                              "effect": "NoExecute"}]))
    equal = make_pod("p", tolerations=[{"key": "dedicated", "operator": "Equal", "value": "gpu",
                                        "effect": "NoExecute"}])
    exists = make_pod("q", tolerations=[{"operator": "Exists"}])
    wrong = make_pod("r", tolerations=[{"key": "dedicated", "value": "cpu"}])
    assert TT.filter(CycleState(), pod_info(equal), node) is None
    assert TT.filter(CycleState(), pod_info(exists), node) is None
    assert TT.filter(CycleState(), pod_info(wrong), node) is not None


def test_not_ready_nodes_are_kept_out_by_their_taint() -> None:
    # the API server's default tolerations cover only NoExecute not-ready/unreachable
    pod = make_pod("p", tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                      "effect": "NoExecute", "tolerationSeconds": 300}])
    st = TT.filter(CycleState(), pod_info(pod), node_info(make_node("n1", taints=[NOT_READY])))
    assert st is not None
    assert st.reasons == ("node(s) had untolerated taint {node.kubernetes.io/not-ready: }",)


def test_prefer_no_schedule_taints_lower_the_score() -> None:
    soft = {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}
    nodes = [node_info(make_node("clean")), node_info(make_node("one", taints=[soft])),
             node_info(make_node("two", taints=[soft, {**soft, "key": "old"}]))]
    pod = pod_info(make_pod("p"))
    state = CycleState()
    TT.pre_score(state, pod, nodes)
    scores = TT.score_nodes(state, pod, nodes)
    assert scores == [0, 1, 2]
    TT.normalize_score(state, pod, scores)
    assert scores == [100, 50, 0]
    tolerant = pod_info(make_pod("q", tolerations=[{"key": "spot", "operator": "Exists"}]))
    state2 = CycleState()
    TT.pre_score(state2, tolerant, nodes)
    assert TT.score_nodes(state2, tolerant, nodes) == [0, 0, 1]


def test_scoring_is_skipped_when_filtering_saw_no_tainted_node() -> None:
    soft = {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}
    clean = [node_info(make_node("a")), node_info(make_node("b"))]
    pod = pod_info(make_pod("p"))
    state = CycleState()
    assert TT.filter_nodes(state, pod, clean, {}) == clean
    st = TT.pre_score(state, pod, clean)
    assert st is not None and st.code is Code.SKIP
    mixed = [*clean, node_info(make_node("c", taints=[soft]))]
    state2 = CycleState()
    TT.filter_nodes(state2, pod, clean, {})
    assert TT.filter_nodes(state2, pod, mixed[2:], {}) == mixed[2:]
    assert TT.pre_score(state2, pod, mixed) is None
