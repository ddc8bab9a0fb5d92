"""A pod with activeDeadlineSeconds is failed by its node agent once it has been active
that long (reason DeadlineExceeded), its containers stopped and never restarted."""

from __future__ import annotations

from ctrlharness import Env

from jetkube.services.kubelet.testing import start_node

PODS = "/api/v1/namespaces/default/pods"


async def test_active_deadline_fails_the_pod(env: Env) -> None:
    node = await start_node(env.rt)
    await env.api.ok("POST", PODS, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job-1"},
        "spec": {"nodeName": "node-1", "activeDeadlineSeconds": 30, "restartPolicy": "OnFailure",
                 "containers": [{"name": "c", "image": "busybox:1.36"}]}})
    await env.until(lambda: "Started" in node.reasons("job-1"))
    await env.clock.advance(29)
    await env.settle()
    await node.shared.status.wait_idle()
    assert (await env.api.ok("GET", f"{PODS}/job-1"))["status"]["phase"] == "Running"
    await env.clock.advance(1)
    await env.settle()
    await node.shared.status.wait_idle()
    st = (await env.api.ok("GET", f"{PODS}/job-1"))["status"]
    assert st["phase"] == "Failed" and st["reason"] == "DeadlineExceeded"
    assert st["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 143
    assert "DeadlineExceeded" in node.reasons("job-1")
    await env.clock.advance(600)
    assert node.reasons("job-1").count("Started") == 1
    await node.stop()
