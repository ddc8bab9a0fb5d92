"""kctl scale: the scale subresource, preconditions, -f, jobs' parallelism, user errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from kctl_fakeapi import Kctl
from kctl_fakeapps import AppsFakeApi, deployment

pytestmark = pytest.mark.fake_api(cls=AppsFakeApi)

SCALE = "/apis/apps/v1/namespaces/default/deployments/web/scale"


def test_scale_sends_a_merge_patch_to_the_scale_subresource(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment())
    code, out, err = kctl("scale", "deployment/web", "--replicas=6")
    assert (code, out, err) == (0, "deployment.apps/web scaled\n", "")
    patch = api.sent("PATCH")[-1]
    assert patch.url.path == SCALE
    assert patch.headers["content-type"] == "application/merge-patch+json"
    assert api.body(patch) == {"spec": {"replicas": 6}}
    assert api.get("deployments", "default", "web")["spec"]["replicas"] == 6  # type: ignore[index]


def test_scale_accepts_type_and_name_and_replicasets(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment())
    rs = deployment("web-abc")
    rs["kind"] = "ReplicaSet"
    api.add("replicasets", rs)
    code, out, _ = kctl("scale", "deployment", "web", "--replicas", "2")
    assert code == 0 and out == "deployment.apps/web scaled\n"
    code, out, _ = kctl("scale", "rs", "web-abc", "--replicas=0", "-o", "name")
    assert code == 0 and out == "replicaset.apps/web-abc\n"
    assert api.sent("PATCH")[-1].url.path.endswith("/replicasets/web-abc/scale")


def test_current_replicas_is_a_precondition(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment(replicas=3))
    code, out, err = kctl("scale", "deploy/web", "--replicas=5", "--current-replicas=2")
    assert code == 1 and out == ""
    assert err.strip() == "error: Expected replicas to be 2, was 3"
    assert not api.sent("PATCH") and not api.sent("PUT")
    code, out, _ = kctl("scale", "deploy/web", "--replicas=5", "--current-replicas=3")
    assert code == 0 and out == "deployment.apps/web scaled\n"
    put = api.sent("PUT")[-1]
    assert put.url.path == SCALE
    body = api.body(put)
    assert body["spec"]["replicas"] == 5 and body["metadata"]["resourceVersion"]


def test_scale_from_a_file(api: AppsFakeApi, kctl: Kctl, tmp_path: Path) -> None:
    api.add("deployments", deployment())
    f = tmp_path / "d.yaml"
    f.write_text("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n")
    code, out, err = kctl("scale", "--replicas=4", "-f", str(f))
    assert code == 0, err
    assert out == "deployment.apps/web scaled\n"
    assert api.get("deployments", "default", "web")["spec"]["replicas"] == 4  # type: ignore[index]


def test_jobs_scale_by_parallelism(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("jobs", {"apiVersion": "batch/v1", "kind": "Job",
                     "metadata": {"name": "pi", "namespace": "default"},
                     "spec": {"parallelism": 1, "template": {}}})
    code, out, err = kctl("scale", "job/pi", "--replicas=3", "--current-replicas=1")
    assert code == 0, err
    assert out == "job.batch/pi scaled\n"
    patch = api.sent("PATCH")[-1]
    assert patch.url.path == "/apis/batch/v1/namespaces/default/jobs/pi"
    assert api.body(patch)["spec"] == {"parallelism": 3}
    assert api.body(patch)["metadata"]["resourceVersion"]  # pinned to what was checked
    assert api.get("jobs", "default", "pi")["spec"]["parallelism"] == 3  # type: ignore[index]


def test_scale_user_errors_print_one_line(api: AppsFakeApi, kctl: Kctl) -> None:
    code, _, err = kctl("scale", "deployment/web")
    assert code == 1 and err.strip() == 'error: required flag(s) "replicas" not set'
    code, _, err = kctl("scale", "deployment/web", "--replicas=-1")
    assert code == 1 and "COUNT must be greater than or equal to 0" in err
    code, _, err = kctl("scale", "deployment/nope", "--replicas=1")
    assert code == 1
    assert err.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
    api.add("configmaps", {"metadata": {"name": "c", "namespace": "default"}})
    code, _, err = kctl("scale", "configmap/c", "--replicas=1")
    assert code == 1 and err.startswith('error: cannot scale configmaps "c"')
    assert "Traceback" not in err
