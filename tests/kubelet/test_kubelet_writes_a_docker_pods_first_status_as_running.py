"""On Docker the node agent starts a pod's sandbox and container without waiting for any
status write: the pod's first status write already says Running (no Pending status before
it), and a pod of an image the node already checked costs the daemon five Engine API calls
from its arrival to that write (the sandbox's create, start and inspect, the container's
create and start), on Docker's default bridge as here (no pod network); on the node's pod
network the agent chooses the address and the inspect goes
(test_docker_runtime_on_a_pod_network_starts_a_pod_in_four_calls.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from ctrlharness import Env
from dockerfixtures import counted_runtime, purge, remove_node_containers
from polling import until

from jetkube.schemas.objects import Obj
from jetkube.services.kubelet.testing import start_node

PODS = "/api/v1/namespaces/default/pods"


def pod(name: str, node: str, image: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": image,
                                     "imagePullPolicy": "IfNotPresent",
                                     "command": ["sleep", "60"]}]}}


async def test_a_docker_pods_first_status_write_says_running_after_five_calls(
        env: Env, docker_client: Any, busybox_image: str, tmp_path: Path) -> None:
    rt, counter, name, scope = counted_runtime(tmp_path / "rt")
    node = await start_node(env.rt, name, runtime=rt,  # type: ignore[arg-type]
                            root_dir=tmp_path / "agent")
    writes: dict[str, list[Obj]] = {}
    api = node.shared.status.api
    patch = api.patch_together

    async def recording(resource: str, namespace: str, pod_name: str, body: Any,
                        **kw: Any) -> Any:
        if resource == "pods" and kw.get("subresource") == "status":
            writes.setdefault(pod_name, []).append(body[-1]["value"])
        return await patch(resource, namespace, pod_name, body, **kw)

    api.patch_together = recording  # type: ignore[method-assign]
    try:
        await env.api.ok("POST", PODS, pod("first", name, busybox_image))
        await until(lambda: writes.get("first"), timeout=30, message="first's status")
        before = counter.snapshot()
        await env.api.ok("POST", PODS, pod("second", name, busybox_image))
        await until(lambda: writes.get("second"), timeout=30, message="second's status")
        assert counter.since(before) == Counter({
            "POST /containers/create": 2, "POST /containers/{id}/start": 2,
            "GET /containers/{id}/json": 1})
        for first in (writes["first"][0], writes["second"][0]):
            assert first["phase"] == "Running", first
            state = first["containerStatuses"][0]["state"]
            assert state.get("running", {}).get("startedAt"), first
    finally:
        await node.stop()
        await rt.close()
        remove_node_containers(docker_client, name)
        await asyncio.to_thread(purge, docker_client, scope)
        rt.client.close()
