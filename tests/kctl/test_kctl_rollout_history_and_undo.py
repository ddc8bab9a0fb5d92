"""kctl rollout history / undo: revisions from ReplicaSets, kubectl's client-side rollback."""

from __future__ import annotations

import pytest
from kctl_fakeapi import Kctl
from kctl_fakeapps import AppsFakeApi, deployment, replicaset, template

pytestmark = pytest.mark.fake_api(cls=AppsFakeApi)

DEPLOY = "/apis/apps/v1/namespaces/default/deployments/web"


def three_revisions(api: AppsFakeApi) -> None:
    d = deployment(image="nginx:1.27", revision=3)
    d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
    d["metadata"]["annotations"]["team"] = "web"
    api.add("deployments", d)
    api.add("replicasets", replicaset("web", "aaa", "nginx:1.25", 1, cause="kctl apply v1",
                                      created="2024-01-01T00:00:00Z"))
    rs2 = replicaset("web", "bbb", "nginx:1.26", 2, created="2024-01-02T00:00:00Z")
    rs2["metadata"]["annotations"]["team"] = "platform"
    api.add("replicasets", rs2)
    api.add("replicasets", replicaset("web", "ccc", "nginx:1.27", 3, replicas=3,
                                      cause="kctl set image", created="2024-01-03T00:00:00Z"))
    other = replicaset("api", "zzz", "nginx:1.0", 9)  # another deployment's: not history
    api.add("replicasets", other)


def test_history_lists_revisions_and_change_causes(api: AppsFakeApi, kctl: Kctl) -> None:
    three_revisions(api)
    code, out, err = kctl("rollout", "history", "deployment/web")
    assert code == 0, err
    assert out.splitlines() == [
        "deployment.apps/web",
        "REVISION  CHANGE-CAUSE",
        "1         kctl apply v1",
        "2         <none>",
        "3         kctl set image",
        "",
    ]


def test_history_revision_shows_that_template(api: AppsFakeApi, kctl: Kctl) -> None:
    three_revisions(api)
    code, out, _ = kctl("rollout", "history", "deployment/web", "--revision=1")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "deployment.apps/web with revision #1"
    assert lines[1] == "Pod Template:"
    assert any("pod-template-hash=aaa" in ln for ln in lines)
    assert any("kubernetes.io/change-cause: kctl apply v1" in ln for ln in lines)
    assert any(ln.split() == ["Image:", "nginx:1.25"] for ln in lines)
    code, _, err = kctl("rollout", "history", "deployment/web", "--revision=7")
    assert code == 1 and err.strip() == "error: unable to find the specified revision"


def test_undo_patches_the_previous_template_back(api: AppsFakeApi, kctl: Kctl) -> None:
    three_revisions(api)
    code, out, err = kctl("rollout", "undo", "deployment/web")
    assert code == 0, err
    assert out == "deployment.apps/web rolled back\n"
    patch = api.sent("PATCH")[-1]
    assert patch.url.path == DEPLOY
    assert patch.headers["content-type"] == "application/json-patch+json"
    ops = api.body(patch)
    assert ops[0] == {"op": "replace", "path": "/spec/template", "value": template("nginx:1.26")}
    assert ops[1]["path"] == "/metadata/annotations"
    # revision / last-applied stay the Deployment's; the rest comes from the ReplicaSet
    assert ops[1]["value"] == {"deployment.kubernetes.io/revision": "3",
                               "kubectl.kubernetes.io/last-applied-configuration": "{}",
                               "team": "platform"}
    d = api.get("deployments", "default", "web")
    assert d is not None
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"


def test_undo_to_revision_and_skip_when_already_there(api: AppsFakeApi, kctl: Kctl) -> None:
    three_revisions(api)
    code, out, _ = kctl("rollout", "undo", "deployment/web", "--to-revision=1")
    assert code == 0 and out == "deployment.apps/web rolled back\n"
    d = api.get("deployments", "default", "web")
    assert d is not None
    assert "pod-template-hash" not in d["spec"]["template"]["metadata"]["labels"]
    assert d["metadata"]["annotations"]["kubernetes.io/change-cause"] == "kctl apply v1"
    before = len(api.sent("PATCH"))
    code, out, _ = kctl("rollout", "undo", "deployment/web", "--to-revision=1")
    assert code == 0
    assert out == ("deployment.apps/web skipped rollback (current template already matches "
                   "revision 1)\n")
    assert len(api.sent("PATCH")) == before


def test_undo_errors(api: AppsFakeApi, kctl: Kctl) -> None:
    three_revisions(api)
    code, _, err = kctl("rollout", "undo", "deployment/web", "--to-revision=9")
    assert code == 1 and err.strip() == "error: unable to find specified revision 9 in history"
    api.objects.clear()
    api.add("deployments", deployment(paused=True))
    api.add("replicasets", replicaset("web", "aaa", "nginx:1.25", 1))
    code, _, err = kctl("rollout", "undo", "deployment/web")
    assert code == 1 and err.strip() == 'error: no rollout history found for deployment "web"'
    api.add("replicasets", replicaset("web", "bbb", "nginx:1.24", 2))
    code, _, err = kctl("rollout", "undo", "deployment/web")
    assert code == 1 and "you cannot rollback a paused deployment" in err
    api.add("daemonsets", {"apiVersion": "apps/v1", "kind": "DaemonSet",
                           "metadata": {"name": "agent", "namespace": "default"}, "spec": {}})
    code, _, err = kctl("rollout", "history", "ds/agent")
    assert code == 1 and err.startswith('error: no history viewer has been implemented for '
                                        '"DaemonSet"')
