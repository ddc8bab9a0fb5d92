"""The REST verbs through the API server's one code path (in-memory store)."""

from __future__ import annotations

from apiharness import make_api, pod

PODS = "/api/v1/namespaces/default/pods"


async def test_create_sets_server_fields_and_defaults() -> None:
    api = await make_api()
    out = await api.ok("POST", PODS, pod("web"))
    md = out["metadata"]
    assert md["uid"] and md["creationTimestamp"] and md["resourceVersion"].isdigit()
    assert md["generation"] == 1 and md["namespace"] == "default"
    assert out["spec"]["restartPolicy"] == "Always"
    assert out["status"] == {"phase": "Pending"}
    tolerations = {t["key"] for t in out["spec"]["tolerations"]}
    assert {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"} <= tolerations


async def test_get_returns_what_create_returned() -> None:
    api = await make_api()
    created = await api.ok("POST", PODS, pod("web"))
    got = await api.ok("GET", f"{PODS}/web")
    assert got == created


async def test_generate_name_makes_a_unique_name() -> None:
    api = await make_api()
    body = pod("")
    body["metadata"] = {"generateName": "web-"}
    a = await api.ok("POST", PODS, body)
    b = await api.ok("POST", PODS, body)
    assert a["metadata"]["name"].startswith("web-") and a["metadata"]["name"] != b["metadata"]["name"]


async def test_update_bumps_generation_only_on_spec_change() -> None:
    api = await make_api()
    d = {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}
    path = "/apis/apps/v1/namespaces/default/deployments"
    out = await api.ok("POST", path, d)
    out["metadata"]["labels"] = {"tier": "front"}
    out2 = await api.ok("PUT", f"{path}/web", out)
    assert out2["metadata"]["generation"] == 1
    out2["spec"]["replicas"] = 3
    out3 = await api.ok("PUT", f"{path}/web", out2)
    assert out3["metadata"]["generation"] == 2


async def test_update_ignores_status_and_status_subresource_ignores_spec() -> None:
    api = await make_api()
    out = await api.ok("POST", PODS, pod("web"))
    out["status"] = {"phase": "Running"}
    out2 = await api.ok("PUT", f"{PODS}/web", out)
    assert out2["status"]["phase"] == "Pending"
    out2["status"] = {"phase": "Running"}
    out2["spec"]["activeDeadlineSeconds"] = 5
    out3 = await api.ok("PUT", f"{PODS}/web/status", out2)
    assert out3["status"]["phase"] == "Running"
    assert "activeDeadlineSeconds" not in out3["spec"]


async def test_noop_update_writes_nothing() -> None:
    api = await make_api()
    out = await api.ok("POST", PODS, pod("web"))
    again = await api.ok("PUT", f"{PODS}/web", out)
    assert again["metadata"]["resourceVersion"] == out["metadata"]["resourceVersion"]


async def test_merge_json_and_strategic_patches() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("web", {"app": "web"}))
    out = await api.ok("PATCH", f"{PODS}/web", {"metadata": {"labels": {"tier": "x"}}},
                       content_type="application/merge-patch+json")
    assert out["metadata"]["labels"] == {"app": "web", "tier": "x"}
    out = await api.ok("PATCH", f"{PODS}/web",
                       [{"op": "remove", "path": "/metadata/labels/tier"}],
                       content_type="application/json-patch+json")
    assert out["metadata"]["labels"] == {"app": "web"}
    out = await api.ok("PATCH", f"{PODS}/web",
                       {"spec": {"containers": [{"name": "c", "image": "busybox:1.37"}]}},
                       content_type="application/strategic-merge-patch+json")
    assert out["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert out["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"


async def test_delete_removes_an_unbound_pod_at_once() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("web"))
    await api.ok("DELETE", f"{PODS}/web")
    code, st = await api.call("GET", f"{PODS}/web")
    assert code == 404 and st["reason"] == "NotFound"


async def test_delete_of_a_bound_pod_is_graceful() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("web", nodeName="node-1"))
    out = await api.ok("DELETE", f"{PODS}/web")
    assert out["metadata"]["deletionTimestamp"]
    assert out["metadata"]["deletionGracePeriodSeconds"] == 30
    await api.ok("GET", f"{PODS}/web")  # still there until the node agent finishes
    await api.ok("DELETE", f"{PODS}/web", query={"gracePeriodSeconds": "0"})
    assert (await api.call("GET", f"{PODS}/web"))[0] == 404


async def test_finalizers_hold_an_object_until_removed() -> None:
    api = await make_api()
    cm = {"apiVersion": "v1", "kind": "ConfigMap",
          "metadata": {"name": "c", "finalizers": ["example.com/hold"]}, "data": {"a": "1"}}
    path = "/api/v1/namespaces/default/configmaps"
    await api.ok("POST", path, cm)
    out = await api.ok("DELETE", f"{path}/c")
    assert out["metadata"]["deletionTimestamp"]
    out["metadata"]["finalizers"] = []
    await api.ok("PUT", f"{path}/c", out)
    assert (await api.call("GET", f"{path}/c"))[0] == 404


async def test_orphan_and_foreground_propagation_add_finalizers() -> None:
    api = await make_api()
    path = "/api/v1/namespaces/default/configmaps"
    for name, policy, fin in (("a", "Orphan", "orphan"), ("b", "Foreground", "foregroundDeletion")):
        await api.ok("POST", path, {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"name": name}})
        out = await api.ok("DELETE", f"{path}/{name}", {"propagationPolicy": policy})
        assert out["metadata"]["finalizers"] == [fin]


async def test_namespace_delete_goes_terminating_and_blocks_new_content() -> None:
    api = await make_api()
    await api.ok("POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "team"}})
    out = await api.ok("DELETE", "/api/v1/namespaces/team")
    assert out["status"]["phase"] == "Terminating"
    code, st = await api.call("POST", "/api/v1/namespaces/team/pods", pod("p"))
    assert code == 403 and "being terminated" in st["message"]
    out = await api.ok("PUT", "/api/v1/namespaces/team/finalize",
                       {**out, "spec": {"finalizers": []}})
    assert (await api.call("GET", "/api/v1/namespaces/team"))[0] == 404


async def test_scale_subresource_reads_and_writes_replicas() -> None:
    api = await make_api()
    path = "/apis/apps/v1/namespaces/default/deployments"
    await api.ok("POST", path, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    scale = await api.ok("GET", f"{path}/web/scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 2
    assert scale["status"]["selector"] == "app=web"
    scale["spec"]["replicas"] = 5
    await api.ok("PUT", f"{path}/web/scale", scale)
    assert (await api.ok("GET", f"{path}/web"))["spec"]["replicas"] == 5
    await api.ok("PATCH", f"{path}/web/scale", {"spec": {"replicas": 1}},
                 content_type="application/merge-patch+json")
    assert (await api.ok("GET", f"{path}/web"))["spec"]["replicas"] == 1


async def test_binding_assigns_a_pod_once() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("web"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}
    await api.ok("POST", f"{PODS}/web/binding", binding)
    out = await api.ok("GET", f"{PODS}/web")
    assert out["spec"]["nodeName"] == "node-1"
    assert any(c["type"] == "PodScheduled" and c["status"] == "True"
               for c in out["status"]["conditions"])
    code, st = await api.call("POST", f"{PODS}/web/binding", {**binding, "target": {
        "kind": "Node", "name": "node-2"}})
    assert code == 409 and "already assigned" in st["message"]


async def test_binding_to_a_name_no_node_can_have_is_invalid() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("web"))
    for bad in ("Node_1", "node 1", "-node", "n" * 254, "a..b"):
        code, st = await api.call("POST", f"{PODS}/web/binding", {
            "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "web"},
            "target": {"apiVersion": "v1", "kind": "Node", "name": bad}})
        assert code == 422 and st["reason"] == "Invalid", (bad, st)
        assert st["details"]["causes"][0]["field"] == "target.name"
    assert not (await api.ok("GET", f"{PODS}/web"))["spec"].get("nodeName")  # nothing written


async def test_system_namespaces_and_default_rbac_exist_from_the_start() -> None:
    api = await make_api()
    names = {n["metadata"]["name"] for n in (await api.ok("GET", "/api/v1/namespaces"))["items"]}
    assert {"default", "kube-system", "kube-public"} <= names
    svc = await api.ok("GET", "/api/v1/namespaces/default/services/kubernetes")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    await api.ok("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/cluster-admin")


async def test_job_gets_a_selector_of_its_own_uid_unless_manual() -> None:
    api = await make_api()
    path = "/apis/batch/v1/namespaces/default/jobs"
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "pi"},
           "spec": {"template": {"spec": {"restartPolicy": "Never",
                                          "containers": [{"name": "c", "image": "perl"}]}}}}
    out = await api.ok("POST", path, job)
    uid = out["metadata"]["uid"]
    assert out["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = out["spec"]["template"]["metadata"]["labels"]
    assert labels["batch.kubernetes.io/controller-uid"] == uid and labels["job-name"] == "pi"
    manual = {**job, "metadata": {"name": "m"},
              "spec": {**job["spec"], "manualSelector": True,
                       "selector": {"matchLabels": {"x": "y"}},
                       "template": {"metadata": {"labels": {"x": "y"}},
                                    **job["spec"]["template"]}}}
    out = await api.ok("POST", path, manual)
    assert out["spec"]["selector"] == {"matchLabels": {"x": "y"}}


async def test_scale_patch_retries_a_concurrent_write_instead_of_conflicting() -> None:
    from jetkube.services.apiserver import patching

    api = await make_api()
    path = "/apis/apps/v1/namespaces/default/deployments"
    await api.ok("POST", path, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
    h = api.front.handlers
    real = h.write_update
    raced = []

    async def racing_write(*args, **kw):  # type: ignore[no-untyped-def]
        if not raced:  # someone else writes between our read and our write, once
            raced.append(1)
            await api.ok("PATCH", f"{path}/web", {"metadata": {"labels": {"x": "1"}}},
                         content_type="application/merge-patch+json")
        return await real(*args, **kw)

    h.write_update = racing_write
    try:
        out = await api.ok("PATCH", f"{path}/web/scale", {"spec": {"replicas": 4}},
                           content_type="application/merge-patch+json")
    finally:
        h.write_update = real
    assert raced and out["spec"]["replicas"] == 4
    assert patching.PATCH_RETRIES >= 2
