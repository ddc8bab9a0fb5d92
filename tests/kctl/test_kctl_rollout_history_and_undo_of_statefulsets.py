"""kctl rollout history / undo of a StatefulSet, against the in-process API server: the
history is the set's ControllerRevisions, undo sends a revision's data back as a strategic
merge patch (as kubectl's StatefulSetRollbacker)."""

from __future__ import annotations

import copy
from typing import Any

from kctl_localcluster import APPS, LocalCluster

from jetkube.services.controllers.history import new_revision
from jetkube.services.controllers.statefulset_pods import revision_data


def template(image: str) -> dict[str, Any]:
    return {"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": image}]}}


def setup(cluster: LocalCluster) -> dict[str, Any]:
    """Set web on httpd:2, with revisions 1 (httpd:1, a change-cause) and 2 (httpd:2)."""
    sts = cluster.ok("POST", f"{APPS}/statefulsets", {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "serviceName": "web",
                 "selector": {"matchLabels": {"app": "web"}}, "template": template("httpd:2")}})
    ref = {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
           "uid": sts["metadata"]["uid"], "controller": True}
    for number, image in ((1, "httpd:1"), (2, "httpd:2")):
        at = copy.deepcopy(sts)
        at["spec"]["template"] = cluster.get(f"{APPS}/statefulsets/web")["spec"]["template"]
        at["spec"]["template"]["spec"]["containers"][0]["image"] = image
        if number == 1:
            at["metadata"]["annotations"] = {"kubernetes.io/change-cause": "first"}
        cluster.ok("POST", f"{APPS}/controllerrevisions", new_revision(
            at, ref, {"app": "web"}, revision_data(at), number, 0))
    return sts


def test_history_lists_the_revisions_and_shows_one(cluster: LocalCluster) -> None:
    setup(cluster)
    code, out, err = cluster.kctl("rollout", "history", "sts/web")
    assert code == 0, err
    assert out.splitlines() == ["statefulset.apps/web", "REVISION  CHANGE-CAUSE",
                                "1         first", "2         <none>", ""]
    code, out, _ = cluster.kctl("rollout", "history", "sts/web", "--revision=1")
    assert code == 0
    assert out.splitlines()[0] == "statefulset.apps/web with revision #1"
    assert any(ln.split() == ["Image:", "httpd:1"] for ln in out.splitlines())


def test_undo_puts_the_previous_template_back_and_then_skips(cluster: LocalCluster) -> None:
    setup(cluster)
    code, out, err = cluster.kctl("rollout", "undo", "sts/web")
    assert (code, out) == (0, "statefulset.apps/web rolled back\n"), err
    sts = cluster.get(f"{APPS}/statefulsets/web")
    assert sts is not None
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == "httpd:1"
    assert sts["metadata"]["generation"] == 2
    code, out, _ = cluster.kctl("rollout", "undo", "sts/web", "--to-revision=1")
    assert out == ("statefulset.apps/web skipped rollback (current template already matches "
                   "revision 1)\n")
    code, _, err = cluster.kctl("rollout", "undo", "sts/web", "--to-revision=9")
    assert code == 1 and "unable to find specified revision 9 in history" in err
