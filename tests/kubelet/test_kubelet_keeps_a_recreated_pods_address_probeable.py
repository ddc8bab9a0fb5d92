"""A pod deleted and recreated under the same name can get the same address before the old
pod's teardown ends (Docker hands the freed IP out again).  The old teardown must not take
the address away from the new sandbox: the agent probes only addresses it created, so the
new pod would stay Running and never Ready (seen in the StatefulSet e2e: web-2 after a
scale-down, scale-up and image change)."""

from __future__ import annotations

from typing import Any

from jetkube.services.kubelet.context import NodeContext


def _ctx() -> NodeContext:
    unused: Any = None  # what allowed() and the address book never touch
    return NodeContext(config=unused, runtime=unused, api=unused, clock=unused, events=unused,
                       status=unused, objects=unused, allocatable={})


def test_an_old_teardown_leaves_the_new_sandboxs_address() -> None:
    ctx = _ctx()
    ctx.add_pod_ip("10.244.1.7")  # the old web-2
    assert ctx.allowed("10.244.1.7")
    ctx.add_pod_ip("10.244.1.7")  # the new web-2, same address, before the old one is gone
    ctx.remove_pod_ip("10.244.1.7")  # the old teardown ends
    assert ctx.allowed("10.244.1.7")  # the new pod is still probed
    ctx.remove_pod_ip("10.244.1.7")
    assert not ctx.allowed("10.244.1.7")  # nobody holds it: refused again


def test_only_loopback_and_own_sandboxes_are_allowed() -> None:
    ctx = _ctx()
    assert ctx.allowed("127.0.0.1") and ctx.allowed("localhost")
    assert not ctx.allowed("192.0.2.10")
