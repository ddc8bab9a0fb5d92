"""NodeResourcesFit compares the pod's requests with allocatable minus what is already
requested on the node, and names every resource that is short."""

from __future__ import annotations

from collections.abc import Sequence

from jetkube.schemas.objects import Obj
from jetkube.services.scheduler.framework import Code, CycleState, Status
from jetkube.services.scheduler.plugins.node_resources_fit import NodeResourcesFit
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_pod, node_info

FIT = NodeResourcesFit({}, FakeHandle(make_cache([])))


def _filter(pod: Obj, node: Obj, on_node: Sequence[Obj] = ()) -> Status | None:
    return FIT.filter(CycleState(), pod_info(pod), node_info(node, on_node))


def test_rejects_a_pod_asking_more_cpu_than_is_left() -> None:
    from jetkube.services.scheduler.testing import make_node

    node = make_node("n1", cpu="1")
    busy = make_pod("a", cpu="600m", node_name="n1")
    st = _filter(make_pod("p", cpu="500m"), node, [busy])
    assert st is not None and st.code is Code.UNSCHEDULABLE
    assert st.reasons == ("Insufficient cpu",)
    assert _filter(make_pod("p", cpu="400m"), node, [busy]) is None


def test_names_every_short_resource_and_the_pod_count() -> None:
    from jetkube.services.scheduler.testing import make_node

    node = make_node("n1", cpu="1", memory="1Gi", pods="1")
    busy = make_pod("a", node_name="n1")
    st = _filter(make_pod("p", cpu="2", memory="2Gi"), node, [busy])
    assert st is not None
    assert st.reasons == ("Too many pods", "Insufficient cpu", "Insufficient memory")


def test_init_containers_count_as_a_maximum_and_overhead_is_added() -> None:
    spec_pod = make_pod("p", cpu="100m", containers=2, overhead={"cpu": "50m"},
                        init_containers=[{"name": "i", "image": "x",
                                          "resources": {"requests": {"cpu": "300m"}}}])
    pi = pod_info(spec_pod)
    assert pi.requests.cpu == 300 + 50  # max(100+100, 300) + overhead


def test_sidecar_init_containers_add_to_the_app_containers() -> None:
    spec_pod = make_pod("p", cpu="100m", init_containers=[
        {"name": "side", "image": "x", "restartPolicy": "Always",
         "resources": {"requests": {"cpu": "200m"}}},
        {"name": "init", "image": "x", "resources": {"requests": {"cpu": "250m"}}}])
    # app 100m + sidecar 200m = 300m; the plain init runs beside the sidecar: 250+200 = 450m
    assert pod_info(spec_pod).requests.cpu == 450


def test_extended_resources_and_ephemeral_storage_are_checked() -> None:
    from jetkube.services.scheduler.testing import make_node

    node = make_node("n1", ephemeral="1Gi", extended={"example.com/gpu": "1"})
    st = _filter(make_pod("p", ephemeral="2Gi", extended={"example.com/gpu": "2"}), node)
    assert st is not None
    assert st.reasons == ("Insufficient ephemeral-storage", "Insufficient example.com/gpu")
    ignoring = NodeResourcesFit({"ignoredResourceGroups": ["example.com"]},
                                FakeHandle(make_cache([])))
    st2 = ignoring.filter(CycleState(), pod_info(make_pod("p", extended={"example.com/gpu": "2"})),
                          node_info(node))
    assert st2 is None


def test_batch_filter_agrees_with_the_per_node_filter() -> None:
    from jetkube.services.scheduler.testing import make_node

    nodes = [make_node(f"n{i}", cpu=str(i % 3 + 1), pods=str(i % 4)) for i in range(12)]
    cache = make_cache(nodes)
    infos = cache.node_list()
    pod = pod_info(make_pod("p", cpu="1500m"))
    rejected: dict[str, Status] = {}
    passed = FIT.filter_nodes(CycleState(), pod, infos, rejected)
    one_by_one = [n for n in infos if FIT.filter(CycleState(), pod, n) is None]
    assert passed == one_by_one
    assert set(rejected) == {n.name for n in infos} - {n.name for n in passed}
