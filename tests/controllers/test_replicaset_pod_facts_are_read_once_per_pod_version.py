"""The ReplicaSet sync's per-pod facts (replicaset_facts.py): worked out once per version
of a pod (its resourceVersion), and the same answers as reading the pod itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jetkube.schemas.meta import selector_dict_matches
from jetkube.schemas.objects import Obj
from jetkube.services.controllers.replicaset_facts import PodFactsCache, label_items, pod_facts
from jetkube.services.controllers.replicaset_pods import available_in, is_active, is_ready

T0 = "2026-01-01T00:00:00Z"


def pod(name: str, rv: str, labels: dict[str, Any], *, phase: str = "Running",
        ready: bool = True, deleting: bool = False) -> Obj:
    md: Obj = {"name": name, "namespace": "default", "resourceVersion": rv, "labels": labels}
    if deleting:
        md["deletionTimestamp"] = T0
    conds = [{"type": "Ready", "status": "True" if ready else "False", "lastTransitionTime": T0}]
    return {"metadata": md, "spec": {}, "status": {"phase": phase, "conditions": conds}}


def test_facts_are_kept_while_the_resource_version_stays_and_redone_when_it_moves() -> None:
    cache = PodFactsCache()
    first = cache.of("pods.default.a", pod("a", "5", {"app": "web"}, ready=False))
    assert not first.ready
    # an equal object at the same revision: the facts already held answer
    assert cache.of("pods.default.a", pod("a", "5", {"app": "web"}, ready=False)) is first
    newer = cache.of("pods.default.a", pod("a", "6", {"app": "web"}, ready=True))
    assert newer is not first and newer.ready
    cache.forget("pods.default.a")
    assert len(cache) == 0


def test_facts_answer_as_the_pod_readers_do() -> None:
    now = datetime(2026, 1, 1, 0, 0, 4, tzinfo=UTC)
    for p in (pod("a", "1", {"app": "web"}), pod("b", "1", {}, ready=False),
              pod("c", "1", {"app": "web"}, phase="Succeeded"),
              pod("d", "1", {"app": "web"}, deleting=True)):
        f = pod_facts(p)
        assert (f.active, f.ready) == (is_active(p), is_ready(p))
        for min_ready in (0, 3, 10):
            assert f.available_in(min_ready, now.timestamp()) == available_in(p, min_ready, now)


def test_select_splits_active_pods_by_the_selector_and_drops_finished_ones() -> None:
    cache = PodFactsCache()
    items = [("pods.default.a", pod("a", "1", {"app": "web", "tier": "x"})),
             ("pods.default.b", pod("b", "1", {"app": "db"})),
             ("pods.default.c", pod("c", "1", {"app": "web"}, phase="Failed")),
             ("pods.default.d", pod("d", "1", {"app": "web"}, deleting=True))]
    hit, miss = cache.select(items, {"matchLabels": {"app": "web"}})
    assert [p["metadata"]["name"] for p, _ in hit] == ["a"]
    assert [p["metadata"]["name"] for p in miss] == ["b"]
    hit, miss = cache.select(items, None)  # no selector: nothing matches
    assert hit == [] and len(miss) == 2


def test_select_agrees_with_selector_dict_matches_for_every_kind_of_selector() -> None:
    labels = [{"app": "web"}, {"app": "web", "tier": "front"}, {"tier": "front"}, {},
              {"app": "web", "bad": 3}]
    selectors: list[Obj] = [
        {"matchLabels": {"app": "web"}},
        {"matchLabels": {"app": "web", "tier": "front"}},
        {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front"]}]},
        {"matchLabels": {"app": "web"},
         "matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]},
        {"matchLabels": {"bad": 3}},
    ]
    items = [(f"pods.default.p{i}", pod(f"p{i}", "1", lb)) for i, lb in enumerate(labels)]
    for sel in selectors:
        hit, _ = PodFactsCache().select(items, sel)
        assert [p["metadata"]["name"] for p, _ in hit] == [
            p["metadata"]["name"] for _, p in items
            if selector_dict_matches(sel, p["metadata"]["labels"])], sel


def test_label_items_give_set_matches_as_a_subset_test() -> None:
    want = label_items({"app": "web"})
    assert want is not None
    assert want <= pod_facts(pod("a", "1", {"app": "web", "x": "y"})).label_set
    assert not want <= pod_facts(pod("b", "1", {"app": "db"})).label_set
    assert label_items({"n": 1}) is None  # not a plain string map: callers match it the long way


def test_a_pod_ready_exactly_min_ready_seconds_ago_is_available_to_the_microsecond() -> None:
    p = pod("a", "1", {"app": "web"})
    for stamp in ("2026-01-01T00:00:00.123457Z", "2026-03-07T11:59:59.999999Z",
                  "2026-12-31T23:59:59.000001Z"):
        p["status"]["conditions"][0]["lastTransitionTime"] = stamp
        since = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        for min_ready in (1, 7, 30):
            now = since + timedelta(seconds=min_ready)
            assert available_in(p, min_ready, now) == 0.0
            assert pod_facts(p).available_in(min_ready, now.timestamp()) == 0.0
            early = now - timedelta(microseconds=1)
            assert pod_facts(p).available_in(min_ready, early.timestamp()) == pytest.approx(
                available_in(p, min_ready, early)) == 1e-6


def test_pods_with_the_same_labels_share_one_label_set() -> None:
    cache = PodFactsCache()
    a = cache.of("pods.default.a", pod("a", "1", {"app": "web", "pod-template-hash": "h"}))
    b = cache.of("pods.default.b", pod("b", "1", {"pod-template-hash": "h", "app": "web"}))
    c = cache.of("pods.default.c", pod("c", "1", {"app": "db"}))
    assert a.label_set is b.label_set and c.label_set is not a.label_set
