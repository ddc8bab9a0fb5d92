"""A ReplicaSet sync walks every pod it owns, but reads a pod's conditions and labels only
when the pod has changed since the previous sync (one new version, one new reading)."""

from __future__ import annotations

from typing import Any

import pytest
from workload_helpers import NS, make_ready, replicaset, running

from jetkube.schemas.objects import Obj
from jetkube.services.controllers import replicaset_facts
from jetkube.services.controllers.replicaset import ReplicaSetController


async def test_a_sync_after_one_pod_changed_reads_only_that_pod(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async with running(replicaset_ctl=False) as env:
        ctl = ReplicaSetController(env.rt)
        env.rt.informers.start()
        await env.rt.informers.wait_for_cache_sync()
        rs = await env.client.create("replicasets", NS, replicaset("web", 6))
        key = ctl.rs_informer.key_of(rs)
        await env.until(lambda: ctl.rs_informer.get(key) is not None)
        await ctl.reconcile(key)
        await env.until(lambda: len(ctl.pods) == 6 and ctl.expectations.satisfied(key))

        reads: list[str] = []
        real = replicaset_facts.pod_facts

        def counting(pod: Obj, *rest: Any) -> replicaset_facts.PodFacts:
            reads.append(pod["metadata"]["name"])
            return real(pod, *rest)

        monkeypatch.setattr(replicaset_facts, "pod_facts", counting)
        await ctl.reconcile(key)
        assert len(reads) == 6  # the first sync with these pods in the cache reads each
        reads.clear()
        await ctl.reconcile(key)
        assert reads == []  # nothing changed: nothing read again

        target = ctl.pods.list(NS)[0]
        rv = target["metadata"]["resourceVersion"]
        await make_ready(env, target)
        await env.until(lambda: ctl.pods.get(ctl.pods.key_of(target))["metadata"][
            "resourceVersion"] != rv)
        await ctl.reconcile(key)
        assert reads == [target["metadata"]["name"]]
        st = (await env.client.get("replicasets", NS, "web"))["status"]
        assert (st["replicas"], st["readyReplicas"], st["availableReplicas"]) == (6, 1, 1)
