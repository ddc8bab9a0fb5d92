"""PodTopologySpread: the system default constraints spread pods of one controller
owner across nodes and zones; explicit DoNotSchedule constraints filter by skew."""

from __future__ import annotations

from jetkube.services.scheduler.framework import Code, CycleState
from jetkube.services.scheduler.plugins.pod_topology_spread import PodTopologySpread
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod

ZONE = "topology.kubernetes.io/zone"


def _scores(plugin: PodTopologySpread, pod: dict, nodes: list) -> list[int]:  # type: ignore[type-arg]
    state = CycleState()
    pi = pod_info(pod)
    st = plugin.pre_score(state, pi, nodes)
    assert st is None
    scores = plugin.score_nodes(state, pi, nodes)
    assert scores == [plugin.score(state, pi, n) for n in nodes]
    plugin.normalize_score(state, pi, scores)
    return scores


def test_pods_of_one_owner_prefer_nodes_with_fewer_of_them() -> None:
    cache = make_cache([make_node("a"), make_node("b"), make_node("c")],
                       [make_pod("x1", owner_uid="rs1", node_name="a"),
                        make_pod("x2", owner_uid="rs1", node_name="a"),
                        make_pod("x3", owner_uid="rs1", node_name="b"),
                        make_pod("other", owner_uid="rs2", node_name="c")])
    pts = PodTopologySpread({}, FakeHandle(cache))
    scores = _scores(pts, make_pod("new", owner_uid="rs1"), cache.node_list())
    assert scores[2] == 100 and scores[2] > scores[1] > scores[0]


def test_zones_are_spread_too() -> None:
    nodes = [make_node("a1", labels={ZONE: "a"}), make_node("a2", labels={ZONE: "a"}),
             make_node("b1", labels={ZONE: "b"})]
    cache = make_cache(nodes, [make_pod("x1", owner_uid="rs1", node_name="a1")])
    pts = PodTopologySpread({}, FakeHandle(cache))
    by_name = dict(zip(["a1", "a2", "b1"],
                       _scores(pts, make_pod("new", owner_uid="rs1"),
                               [cache.nodes[n] for n in ("a1", "a2", "b1")]), strict=True))
    assert by_name["b1"] > by_name["a2"] > by_name["a1"]


def test_pods_without_an_owner_or_constraints_skip_scoring() -> None:
    pts = PodTopologySpread({}, FakeHandle(make_cache([make_node("a")])))
    st = pts.pre_score(CycleState(), pod_info(make_pod("p")), [])
    assert st is not None and st.code is Code.SKIP


def test_do_not_schedule_constraint_rejects_a_node_that_would_exceed_max_skew() -> None:
    nodes = [make_node("a1", labels={ZONE: "a"}), make_node("b1", labels={ZONE: "b"}),
             make_node("nozone")]
    cache = make_cache(nodes, [make_pod("w1", labels={"app": "web"}, node_name="a1"),
                               make_pod("w2", labels={"app": "web"}, node_name="a1")])
    pts = PodTopologySpread({}, FakeHandle(cache))
    pod = pod_info(make_pod("w3", labels={"app": "web"}, spread=[{
        "maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule",
        "labelSelector": {"matchLabels": {"app": "web"}}}]))
    state = CycleState()
    assert pts.pre_filter(state, pod) is None
    st = pts.filter(state, pod, cache.nodes["a1"])
    assert st is not None and st.reasons == ("node(s) didn't match pod topology spread constraints",)
    assert pts.filter(state, pod, cache.nodes["b1"]) is None
    missing = pts.filter(state, pod, cache.nodes["nozone"])
    assert missing is not None and missing.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE


def test_nodes_without_a_zone_make_one_more_zone_domain_as_in_kubernetes() -> None:
    # Go reads a missing label as "": the zone-less node adds a domain (3, weight log 5)
    nodes = [make_node("a1", labels={ZONE: "a"}), make_node("a2", labels={ZONE: "a"}),
             make_node("b1", labels={ZONE: "b"}), make_node("nozone")]
    cache = make_cache(nodes, [make_pod("x1", owner_uid="rs1", node_name="a1"),
                               make_pod("x2", owner_uid="rs1", node_name="nozone")])
    pts = PodTopologySpread({}, FakeHandle(cache))
    pi = pod_info(make_pod("new", owner_uid="rs1"))
    state = CycleState()
    ordered = [cache.nodes[n] for n in ("a1", "a2", "b1", "nozone")]
    assert pts.pre_score(state, pi, ordered) is None
    # hostname: count * log(4 + 2) + 2; zone: count * log(3 + 2) + 4, only where labelled
    assert pts.score_nodes(state, pi, ordered) == [9, 8, 6, 4]
