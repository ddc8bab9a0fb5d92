"""NodeUnschedulable (cordoned nodes), NodeName (the named node only) and NodePorts
(host port conflicts)."""

from __future__ import annotations

from jetkube.services.scheduler.framework import Code, CycleState
from jetkube.services.scheduler.plugins.node_name import NodeName
from jetkube.services.scheduler.plugins.node_ports import NodePorts
from jetkube.services.scheduler.plugins.node_unschedulable import NodeUnschedulable
from jetkube.services.scheduler.podinfo import pod_info
from jetkube.services.scheduler.testing import FakeHandle, make_cache, make_node, make_pod, node_info

H = FakeHandle(make_cache([]))


def test_cordoned_nodes_are_skipped_unless_tolerated() -> None:
    nu = NodeUnschedulable({}, H)
    cordoned = node_info(make_node("n1", unschedulable=True))
    st = nu.filter(CycleState(), pod_info(make_pod("p")), cordoned)
    assert st is not None and st.reasons == ("node(s) were unschedulable",)
    tolerant = make_pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable",
                                           "operator": "Exists", "effect": "NoSchedule"}])
    assert nu.filter(CycleState(), pod_info(tolerant), cordoned) is None
    assert nu.filter(CycleState(), pod_info(make_pod("p")), node_info(make_node("n2"))) is None


def test_node_name_fits_only_the_named_node() -> None:
    nn = NodeName({}, H)
    pinned = pod_info(make_pod("p", node_name="n2"))
    assert nn.filter(CycleState(), pinned, node_info(make_node("n2"))) is None
    st = nn.filter(CycleState(), pinned, node_info(make_node("n1")))
    assert st is not None and st.reasons == ("node(s) didn't match the requested node name",)
    skip = nn.pre_filter(CycleState(), pod_info(make_pod("q")))
    assert skip is not None and skip.code is Code.SKIP


def test_host_ports_conflict_on_the_same_protocol_and_port() -> None:
    np = NodePorts({}, H)
    node = node_info(make_node("n1"), [make_pod("a", host_ports=[8080], node_name="n1")])
    st = np.filter(CycleState(), pod_info(make_pod("p", host_ports=[8080])), node)
    assert st is not None and st.code is Code.UNSCHEDULABLE
    assert st.reasons == ("node(s) didn't have free ports for the requested pod ports",)
    assert np.filter(CycleState(), pod_info(make_pod("p", host_ports=[8081])), node) is None
    skip = np.pre_filter(CycleState(), pod_info(make_pod("q")))
    assert skip is not None and skip.code is Code.SKIP
    node.remove_pod("default/a")
    assert np.filter(CycleState(), pod_info(make_pod("p", host_ports=[8080])), node) is None
