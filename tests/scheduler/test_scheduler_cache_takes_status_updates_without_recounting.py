"""An update of an assigned pod that changes nothing a node sums (its status, say) only
swaps the object the cache holds: the node keeps its sums and its generation (so what
was remembered on it stays valid), while the new object is what plugins see; an update
that does change the count (new labels) is recounted.  The cache also knows how many
nodes carry each label key."""

from __future__ import annotations

from jetkube.services.scheduler.nodeinfo import HOSTNAME_LABEL, ZONE_LABEL
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import make_cache, make_node, make_pod


def test_a_status_update_keeps_the_nodes_sums_and_holds_the_new_object() -> None:
    placed = make_pod("p", cpu="500m", node_name="a", labels={"app": "web"}, owner_uid="rs")
    cache = make_cache([make_node("a")], [placed])
    node = cache.nodes["a"]
    generation, before = node.generation, cache.get_pod("default/p")
    assert before is not None
    running = {**placed, "status": {"phase": "Running"}}
    cache.update_pod(before.with_object(running))
    after = cache.get_pod("default/p")
    assert after is not None and after.pod is running
    assert node.generation == generation and node.req_cpu == 500 and node.pod_count == 1
    assert node.pods["default/p"] is after
    assert list(cache.pods_with_label("app", "web")) == [after]
    assert cache.owner_nodes("rs") == {"a": 1}


def test_an_update_with_new_labels_is_recounted() -> None:
    placed = make_pod("p", cpu="500m", node_name="a", labels={"app": "web"})
    cache = make_cache([make_node("a")], [placed])
    generation = cache.nodes["a"].generation
    cache.update_pod(pod_info(make_pod("p", cpu="500m", node_name="a", labels={"app": "db"})))
    assert cache.nodes["a"].generation > generation and cache.nodes["a"].req_cpu == 500
    assert not list(cache.pods_with_label("app", "web"))
    assert [p.name for p in cache.pods_with_label("app", "db")] == ["p"]


def test_the_cache_counts_the_nodes_carrying_each_label_key() -> None:
    cache = make_cache([make_node("a", labels={ZONE_LABEL: "z1"}), make_node("b")])
    assert cache.nodes_labelled(HOSTNAME_LABEL) == 2
    assert cache.nodes_labelled(ZONE_LABEL) == 1
    cache.set_node(make_node("b", labels={ZONE_LABEL: "z2"}))
    assert cache.nodes_labelled(ZONE_LABEL) == 2
    cache.remove_node("a")
    cache.remove_node("a")
    assert cache.nodes_labelled(ZONE_LABEL) == 1 and cache.nodes_labelled(HOSTNAME_LABEL) == 1
    cache.set_node(make_node("b"))
    assert cache.nodes_labelled(ZONE_LABEL) == 0
