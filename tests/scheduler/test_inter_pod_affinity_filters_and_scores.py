"""InterPodAffinity as kube-scheduler's plugin: required anti-affinity keeps a pod out of a
domain holding a matching pod (and existing pods' anti-affinity keeps matching pods out of
theirs), required affinity needs a matching pod in the domain (except for the first pod
of a group that matches its own terms), namespaces and namespaceSelector choose whose pods
count, and preferred terms score by weight, normalized to 0..100."""

from __future__ import annotations

from jetkube.schemas.objects import Obj
from jetkube.services.scheduler.framework import Code, CycleState, Status
from jetkube.services.scheduler.nodeinfo import HOSTNAME_LABEL
from jetkube.services.scheduler.plugins.inter_pod_affinity import (
    REASON_AFFINITY,
    REASON_ANTI_AFFINITY,
    REASON_EXISTING_ANTI_AFFINITY,
    InterPodAffinity,
)
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod

ZONE = "topology.kubernetes.io/zone"
NODES = [make_node("a1", labels={ZONE: "a"}), make_node("a2", labels={ZONE: "a"}),
         make_node("b1", labels={ZONE: "b"})]


def term(app: str, key: str = HOSTNAME_LABEL, **extra: object) -> Obj:
    return {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key, **extra}


def affinity(*, affinity: list[Obj] | None = None, anti: list[Obj] | None = None,
             preferred: list[Obj] | None = None, preferred_anti: list[Obj] | None = None) -> Obj:
    out: Obj = {}
    if affinity or preferred:
        out["podAffinity"] = {k: v for k, v in (
            ("requiredDuringSchedulingIgnoredDuringExecution", affinity),
            ("preferredDuringSchedulingIgnoredDuringExecution", preferred)) if v}
    if anti or preferred_anti:
        out["podAntiAffinity"] = {k: v for k, v in (
            ("requiredDuringSchedulingIgnoredDuringExecution", anti),
            ("preferredDuringSchedulingIgnoredDuringExecution", preferred_anti)) if v}
    return out


def feasible(pods: list[Obj], pod: Obj, namespaces: dict[str, dict[str, str]] | None = None
             ) -> dict[str, Status | None]:
    """Each node's filter status for ``pod`` (None: it fits)."""
    cache = make_cache(NODES, pods)
    plugin = InterPodAffinity({}, FakeHandle(cache, namespaces=namespaces))
    state, pi = CycleState(), pod_info(pod)
    st = plugin.pre_filter(state, pi)
    if st is not None and st.code is Code.SKIP:
        return dict.fromkeys(cache.nodes)
    assert st is None
    return {n: plugin.filter(state, pi, cache.nodes[n]) for n in ("a1", "a2", "b1")}


def fits(statuses: dict[str, Status | None]) -> list[str]:
    return [n for n, st in statuses.items() if st is None]


def test_required_anti_affinity_on_hostname_avoids_nodes_with_a_matching_pod() -> None:
    web = affinity(anti=[term("web")])
    got = feasible([make_pod("w1", labels={"app": "web"}, node_name="a1", affinity=web)],
                   make_pod("w2", labels={"app": "web"}, affinity=web))
    assert fits(got) == ["a2", "b1"]
    a1 = got["a1"]
    assert a1 is not None and a1.code is Code.UNSCHEDULABLE
    assert a1.reasons == (REASON_ANTI_AFFINITY,)


def test_required_anti_affinity_on_zone_avoids_the_whole_zone() -> None:
    got = feasible([make_pod("w1", labels={"app": "web"}, node_name="a1")],
                   make_pod("w2", affinity=affinity(anti=[term("web", ZONE)])))
    assert fits(got) == ["b1"]


def test_existing_pods_anti_affinity_keeps_matching_pods_out() -> None:
    lonely = make_pod("db", labels={"app": "db"}, node_name="b1",
                      affinity=affinity(anti=[term("web")]))
    got = feasible([lonely], make_pod("w", labels={"app": "web"}))
    assert fits(got) == ["a1", "a2"]
    b1 = got["b1"]
    assert b1 is not None and b1.reasons == (REASON_EXISTING_ANTI_AFFINITY,)


def test_required_affinity_needs_a_matching_pod_in_the_domain() -> None:
    cache_pod = make_pod("c", labels={"app": "cache"}, node_name="a2")
    got = feasible([cache_pod], make_pod("w", affinity=affinity(affinity=[term("cache", ZONE)])))
    assert fits(got) == ["a1", "a2"]
    b1 = got["b1"]
    assert b1 is not None and b1.code is Code.UNSCHEDULABLE_AND_UNRESOLVABLE
    assert b1.reasons == (REASON_AFFINITY,)


def test_the_first_pod_of_a_self_affine_group_may_go_anywhere() -> None:
    together = affinity(affinity=[term("web", ZONE)])
    assert fits(feasible([], make_pod("w1", labels={"app": "web"}, affinity=together))) == [
        "a1", "a2", "b1"]
    # but not a pod that does not match its own terms
    assert fits(feasible([], make_pod("x", labels={"app": "x"}, affinity=together))) == []


def test_terms_count_only_pods_of_their_namespaces() -> None:
    elsewhere = make_pod("w1", namespace="other", labels={"app": "web"}, node_name="a1")
    assert fits(feasible([elsewhere], make_pod("w2", affinity=affinity(
        anti=[term("web")])))) == ["a1", "a2", "b1"]
    assert fits(feasible([elsewhere], make_pod("w2", affinity=affinity(
        anti=[term("web", namespaces=["other"])])))) == ["a2", "b1"]
    by_selector = affinity(anti=[term("web", namespaceSelector={
        "matchLabels": {"team": "x"}})])
    assert fits(feasible([elsewhere], make_pod("w2", affinity=by_selector),
                         namespaces={"other": {"team": "x"}})) == ["a2", "b1"]
    assert fits(feasible([elsewhere], make_pod("w2", affinity=by_selector),
                         namespaces={"other": {"team": "y"}})) == ["a1", "a2", "b1"]


def test_pods_without_terms_skip_when_no_pod_has_required_anti_affinity() -> None:
    cache = make_cache(NODES, [make_pod("w1", labels={"app": "web"}, node_name="a1")])
    st = InterPodAffinity({}, FakeHandle(cache)).pre_filter(CycleState(), pod_info(
        make_pod("plain")))
    assert st is not None and st.code is Code.SKIP


def scores(pods: list[Obj], pod: Obj) -> dict[str, int]:
    cache = make_cache(NODES, pods)
    plugin = InterPodAffinity({}, FakeHandle(cache))
    state, pi = CycleState(), pod_info(pod)
    nodes = [cache.nodes[n] for n in ("a1", "a2", "b1")]
    assert plugin.pre_score(state, pi, nodes) is None
    out = [plugin.score(state, pi, n) for n in nodes]
    plugin.normalize_score(state, pi, out)
    return dict(zip(("a1", "a2", "b1"), out, strict=True))


def test_preferred_affinity_and_anti_affinity_score_by_weight() -> None:
    pods = [make_pod("c", labels={"app": "cache"}, node_name="a1"),
            make_pod("w", labels={"app": "web"}, node_name="b1")]
    near_cache = affinity(preferred=[{"weight": 10, "podAffinityTerm": term("cache", ZONE)}])
    assert scores(pods, make_pod("p", affinity=near_cache)) == {"a1": 100, "a2": 100, "b1": 0}
    away = affinity(preferred_anti=[{"weight": 50, "podAffinityTerm": term("web")}],
                    preferred=[{"weight": 10, "podAffinityTerm": term("cache")}])
    assert scores(pods, make_pod("p", affinity=away)) == {"a1": 100, "a2": 83, "b1": 0}


def test_existing_pods_terms_attract_the_incoming_pod() -> None:
    wants_web = make_pod("c", labels={"app": "cache"}, node_name="b1",
                         affinity=affinity(affinity=[term("web")]))
    got = scores([wants_web], make_pod("w", labels={"app": "web"}))
    assert got == {"a1": 0, "a2": 0, "b1": 100}  # hardPodAffinityWeight 1


def test_no_terms_anywhere_skip_scoring() -> None:
    cache = make_cache(NODES, [make_pod("w1", labels={"app": "web"}, node_name="a1")])
    st = InterPodAffinity({}, FakeHandle(cache)).pre_score(
        CycleState(), pod_info(make_pod("plain")), list(cache.nodes.values()))
    assert st is not None and st.code is Code.SKIP


def test_a_removed_or_relabelled_pod_stops_counting() -> None:
    web = affinity(anti=[term("web")])
    cache = make_cache(NODES, [make_pod("w1", labels={"app": "web"}, node_name="a1",
                                        affinity=web),
                               make_pod("w2", labels={"app": "web"}, node_name="a2")])
    plugin = InterPodAffinity({}, FakeHandle(cache))

    def fitting() -> list[str]:
        state, pi = CycleState(), pod_info(make_pod("new", labels={"app": "web"},
                                                    affinity=web))
        assert plugin.pre_filter(state, pi) is None
        return [n for n in ("a1", "a2", "b1") if plugin.filter(state, pi, cache.nodes[n]) is None]

    assert fitting() == ["b1"]
    cache.remove_pod("default/w1")
    assert fitting() == ["a1", "b1"]
    cache.update_pod(pod_info(make_pod("w2", labels={"app": "db"}, node_name="a2")))
    assert fitting() == ["a1", "a2", "b1"]
    assert not list(cache.pods_with_label("app", "web"))
