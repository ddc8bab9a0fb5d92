"""kctl delete (DeleteOptions, selectors, waiting until gone), label and annotate patches."""

from __future__ import annotations

from kctl_fakeapi import FakeApi, Kctl, pod


def test_delete_by_name_sends_delete_options(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", pod("x"))
    code, out, err = kctl("delete", "pod", "x", "--cascade=foreground", "--grace-period=5")
    assert (code, out.strip()) == (0, 'pod "x" deleted from default namespace'), err
    req = api.sent("DELETE")[0]
    assert req.url.path == "/api/v1/namespaces/default/pods/x"
    body = api.body(req)
    assert body["propagationPolicy"] == "Foreground" and body["gracePeriodSeconds"] == 5
    assert req.url.params["propagationPolicy"] == "Foreground"
    assert api.get("pods", "default", "x") is None


def test_delete_orphan_and_type_slash_name(api: FakeApi, kctl: Kctl) -> None:
    api.add("deployments", {"metadata": {"name": "web", "namespace": "default"}})
    code, out, _ = kctl("delete", "deploy/web", "--cascade=orphan")
    assert (code, out.strip()) == (0, 'deployment.apps "web" deleted from default namespace')
    assert api.body(api.sent("DELETE")[0])["propagationPolicy"] == "Orphan"


def test_delete_by_selector_and_all(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", pod("a"))
    api.add("pods", pod("b"))
    other = pod("c")
    other["metadata"]["labels"] = {"app": "db"}
    api.add("pods", other)
    _, out, _ = kctl("delete", "pods", "-l", "app=web")
    assert out.splitlines() == ['pod "a" deleted from default namespace',
                                'pod "b" deleted from default namespace']
    _, out, _ = kctl("delete", "pods", "--all")
    assert out.splitlines() == ['pod "c" deleted from default namespace']


def test_delete_needs_a_name_or_selector(api: FakeApi, kctl: Kctl) -> None:
    code, _, err = kctl("delete", "pods")
    assert code == 1 and "no name was specified" in err


def test_delete_missing_object_reports_not_found(api: FakeApi, kctl: Kctl) -> None:
    code, _, err = kctl("delete", "pod", "ghost")
    assert code == 1
    assert err.strip() == 'Error from server (NotFound): pods "ghost" not found'
    assert kctl("delete", "pod", "ghost", "--ignore-not-found")[0] == 0


def test_delete_waits_until_the_object_is_gone(api: FakeApi, kctl: Kctl) -> None:
    p = pod("slow")
    p["metadata"]["finalizers"] = ["example.com/cleanup"]
    api.add("pods", p)
    # The object stays (finalizer), the watch then reports its deletion.
    api.watch_events = [{"type": "MODIFIED", "object": pod("slow")},
                        {"type": "DELETED", "object": pod("slow")}]
    code, out, _ = kctl("delete", "pod", "slow")
    assert (code, out.strip()) == (0, 'pod "slow" deleted from default namespace')
    watches = [r for r in api.requests if r.url.params.get("watch") == "true"]
    assert watches and watches[0].url.params["fieldSelector"] == "metadata.name=slow"
    assert watches[0].url.params["resourceVersion"] == p["metadata"]["resourceVersion"]


def test_delete_wait_times_out_when_the_object_stays(api: FakeApi, kctl: Kctl) -> None:
    p = pod("stuck")
    p["metadata"]["finalizers"] = ["example.com/never"]
    api.add("pods", p)
    code, out, err = kctl("delete", "pod", "stuck", "--timeout", "0.3")
    assert code == 1 and out.strip() == 'pod "stuck" deleted from default namespace'
    assert "timed out waiting for the condition on pods/stuck" in err


def test_delete_no_wait_returns_at_once(api: FakeApi, kctl: Kctl) -> None:
    p = pod("slow")
    p["metadata"]["finalizers"] = ["example.com/cleanup"]
    api.add("pods", p)
    code, _, _ = kctl("delete", "pod", "slow", "--wait=false")
    assert code == 0
    assert not [r for r in api.requests if r.url.params.get("watch") == "true"]


def test_delete_from_file(api: FakeApi, kctl: Kctl, tmp_path: object) -> None:
    api.add("configmaps", {"metadata": {"name": "c", "namespace": "default"}})
    code, out, _ = kctl("delete", "-f", "-",
                        stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert (code, out.strip()) == (0, 'configmap "c" deleted from default namespace')


def test_label_sets_and_removes_with_a_merge_patch(api: FakeApi, kctl: Kctl) -> None:
    p = pod("x")
    p["metadata"]["labels"] = {"app": "web", "old": "1"}
    api.add("pods", p)
    code, out, err = kctl("label", "pod", "x", "tier=front", "old-")
    assert (code, out.strip()) == (0, "pod/x labeled"), err
    patch_req = api.sent("PATCH")[0]
    assert patch_req.headers["content-type"] == "application/merge-patch+json"
    assert api.body(patch_req) == {"metadata": {"labels": {"tier": "front", "old": None}}}
    live = api.get("pods", "default", "x")
    assert live is not None and live["metadata"]["labels"] == {"app": "web", "tier": "front"}


def test_label_refuses_to_overwrite_without_the_flag(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", pod("x"))
    code, _, err = kctl("label", "pod", "x", "app=db")
    assert code == 1
    assert "'app' already has a value (web), and --overwrite is false" in err
    assert not api.sent("PATCH")
    code, out, _ = kctl("label", "pod", "x", "app=db", "--overwrite")
    assert (code, out.strip()) == (0, "pod/x labeled")


def test_label_unchanged_and_invalid(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", pod("x"))
    assert kctl("label", "pod", "x", "app=web")[1].strip() == "pod/x not labeled"
    code, _, err = kctl("label", "pod", "x", "bad key=1")
    assert code == 1 and "invalid label key" in err


def test_label_by_selector(api: FakeApi, kctl: Kctl) -> None:
    api.add("pods", pod("a"))
    api.add("pods", pod("b"))
    _, out, _ = kctl("label", "pods", "-l", "app=web", "env=prod")
    assert out.splitlines() == ["pod/a labeled", "pod/b labeled"]


def test_annotate(api: FakeApi, kctl: Kctl) -> None:
    api.add("deployments", {"metadata": {"name": "web", "namespace": "default"}})
    code, out, _ = kctl("annotate", "deployment", "web", "note=hello world")
    assert (code, out.strip()) == (0, "deployment.apps/web annotated")
    assert api.body(api.sent("PATCH")[0]) == {"metadata": {"annotations": {"note": "hello world"}}}
