"""OrderedReady creates web-0, web-1, web-2 one at a time, each Running and Ready before
the next; Parallel creates them all at once.  Each pod has its stable identity."""

from __future__ import annotations

from ctrlharness import make_env
from statefulset_helpers import NS, get_set, manifest, names, pods, run, start

from jetkube.schemas import format_time
from jetkube.services.controllers import statefulset
from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions


async def test_ordered_ready_waits_for_each_pod_to_be_ready_before_the_next() -> None:
    env = await start()
    try:
        assert await names(env) == ["web-0"]
        await env.settle()
        assert await names(env) == ["web-0"]  # not Ready yet: web-1 waits
        await run(env, "web-0")
        await env.until(lambda: names(env), message="web-1 created")
        assert await names(env) == ["web-0", "web-1"]
        await run(env, "web-1")
        assert await names(env) == ["web-0", "web-1", "web-2"]
        await run(env)
        st = (await get_set(env))["status"]
        assert (st["replicas"], st["readyReplicas"], st["availableReplicas"],
                st["currentReplicas"], st["updatedReplicas"]) == (3, 3, 3, 3, 3)
        assert st["currentRevision"] == st["updateRevision"]
        assert st["observedGeneration"] == 1 and st["collisionCount"] == 0
    finally:
        await env.close()


async def test_pods_get_their_ordinal_identity_and_revision() -> None:
    env = await start(replicas=1)
    try:
        pod = (await pods(env))["web-0"]
        sts = await get_set(env)
        labels = pod["metadata"]["labels"]
        assert labels["statefulset.kubernetes.io/pod-name"] == "web-0"
        assert labels["apps.kubernetes.io/pod-index"] == "0"
        assert labels["app"] == "web"
        assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-0", "nginx")
        ref = pod["metadata"]["ownerReferences"][0]
        assert (ref["kind"], ref["name"], ref["uid"], ref["controller"]) == (
            "StatefulSet", "web", sts["metadata"]["uid"], True)
        revisions = await env.objects(f"/apis/apps/v1/namespaces/{NS}/controllerrevisions")
        assert len(revisions) == 1
        rev = revisions[0]
        assert labels["controller-revision-hash"] == rev["metadata"]["name"]
        assert rev["metadata"]["name"].startswith("web-") and rev["revision"] == 1
        assert rev["data"]["spec"]["template"]["$patch"] == "replace"
        assert rev["metadata"]["labels"]["app"] == "web"
        assert rev["metadata"]["ownerReferences"][0]["uid"] == sts["metadata"]["uid"]
    finally:
        await env.close()


async def test_parallel_creates_every_pod_at_once() -> None:
    env = await start(podManagementPolicy="Parallel")
    try:
        assert await names(env) == ["web-0", "web-1", "web-2"]
    finally:
        await env.close()


async def test_each_pod_is_created_once_while_the_cache_catches_up() -> None:
    env = await start(replicas=5, podManagementPolicy="Parallel")
    try:
        for _ in range(5):
            await env.settle()
        assert await names(env) == [f"web-{i}" for i in range(5)]
        assert env.client.calls.count(("create", "pods")) == 5
    finally:
        await env.close()


async def test_an_orphan_with_a_members_name_is_adopted_and_others_are_left_alone() -> None:
    env = await make_env()
    try:
        for name in ("web-0", "stray"):
            await env.client.create("pods", NS, {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "httpd:1"}]}})
        await env.start(statefulset.build(ControllerContext(env.rt, ControllerManagerOptions())))
        await env.client.create("statefulsets", NS, manifest(replicas=1))
        await env.settle()
        got = await pods(env)
        sts = await get_set(env)
        assert [r["uid"] for r in got["web-0"]["metadata"]["ownerReferences"]] == [
            sts["metadata"]["uid"]]
        assert "ownerReferences" not in got["stray"]["metadata"]
        assert env.client.calls.count(("create", "pods")) == 2  # only the test's own
    finally:
        await env.close()


async def test_ordered_ready_waits_min_ready_seconds_of_availability() -> None:
    env = await start(replicas=2, minReadySeconds=10)
    try:
        await env.client.bind(NS, "web-0", "n1")
        pod = await env.client.get("pods", NS, "web-0")
        pod["status"] = {"phase": "Running", "conditions": [
            {"type": "Ready", "status": "True",
             "lastTransitionTime": format_time(env.clock.now())}]}
        await env.client.update_status("pods", NS, "web-0", pod)
        await env.settle()
        assert await names(env) == ["web-0"]  # ready, not yet available
        st = (await get_set(env))["status"]
        assert (st["readyReplicas"], st["availableReplicas"]) == (1, 0)
        await env.clock.advance(10)
        await env.settle()
        assert await names(env) == ["web-0", "web-1"]
        assert (await get_set(env))["status"]["availableReplicas"] == 1
    finally:
        await env.close()


async def test_ordinals_start_numbers_the_pods_from_there() -> None:
    env = await start(replicas=2, ordinals={"start": 5}, podManagementPolicy="Parallel")
    try:
        assert await names(env) == ["web-5", "web-6"]
        assert (await pods(env))["web-5"]["metadata"]["labels"]["apps.kubernetes.io/pod-index"] \
            == "5"
    finally:
        await env.close()
