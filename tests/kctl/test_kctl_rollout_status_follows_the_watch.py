"""kctl rollout status: kubectl's progress lines from a scripted watch, failure, timeout."""

from __future__ import annotations

import time

import pytest
from kctl_fakeapi import Kctl
from kctl_fakeapps import AppsFakeApi, deployment

from jetkube.schemas.objects import Obj

pytestmark = pytest.mark.fake_api(cls=AppsFakeApi)


def modified(obj: Obj) -> Obj:
    return {"type": "MODIFIED", "object": obj}


def test_status_prints_kubectls_lines_until_rolled_out(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment(generation=2, observed=1))
    api.watch_events = [
        modified(deployment(generation=2, observed=2, status={"updatedReplicas": 1})),
        modified(deployment(generation=2, observed=2, status={"updatedReplicas": 1})),  # same line
        modified(deployment(generation=2, observed=2,
                            status={"replicas": 4, "updatedReplicas": 3})),
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "900"}}},
        modified(deployment(generation=2, observed=2, status={"availableReplicas": 2})),
        modified(deployment(generation=2, observed=2)),
    ]
    code, out, err = kctl("rollout", "status", "deployment/web")
    assert code == 0, err
    assert out.splitlines() == [
        "Waiting for deployment spec update to be observed...",
        'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been '
        "updated...",
        'Waiting for deployment "web" rollout to finish: 1 old replicas are pending '
        "termination...",
        'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are '
        "available...",
        'deployment "web" successfully rolled out',
    ]
    w = next(r for r in api.requests if r.url.params.get("watch") == "true")
    assert w.url.path == "/apis/apps/v1/namespaces/default/deployments"
    assert w.url.params["fieldSelector"] == "metadata.name=web"
    assert w.url.params["resourceVersion"]


def test_status_of_a_finished_rollout_returns_at_once(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment())
    code, out, _ = kctl("rollout", "status", "deploy", "web")
    assert code == 0 and out == 'deployment "web" successfully rolled out\n'
    code, out, _ = kctl("rollout", "status", "--watch", "deployment/web")  # a bare --watch
    assert code == 0 and out == 'deployment "web" successfully rolled out\n'
    assert not any(r.url.params.get("watch") for r in api.requests)


def test_watch_false_prints_once(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment(status={"updatedReplicas": 1}))
    code, out, _ = kctl("rollout", "status", "deployment/web", "--watch=false")
    assert code == 0
    assert out.splitlines() == ['Waiting for deployment "web" rollout to finish: 1 out of 3 new '
                                "replicas have been updated..."]


def test_progress_deadline_exceeded_fails(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment(status={"updatedReplicas": 1}))
    api.watch_events = [modified(deployment(status={
        "updatedReplicas": 1, "conditions": [{"type": "Progressing", "status": "False",
                                              "reason": "ProgressDeadlineExceeded"}]}))]
    code, out, err = kctl("rollout", "status", "deployment/web")
    assert code == 1
    assert out.splitlines()[0].endswith("1 out of 3 new replicas have been updated...")
    assert err.strip() == 'error: deployment "web" exceeded its progress deadline'


def test_timeout_gives_up(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment(status={"availableReplicas": 0}))
    t0 = time.monotonic()
    code, _, err = kctl("rollout", "status", "deployment/web", "--timeout=1s")
    assert code == 1 and err.strip() == "error: timed out waiting for the condition"
    assert 0.9 < time.monotonic() - t0 < 5


def test_deleted_while_watching_and_revision_pin(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment(status={"updatedReplicas": 0}))
    api.watch_events = [{"type": "DELETED", "object": deployment()}]
    code, _, err = kctl("rollout", "status", "deployment/web")
    assert code == 1 and err.strip() == "error: object has been deleted"
    code, _, err = kctl("rollout", "status", "deployment/web", "--revision=2")
    assert code == 1
    assert err.strip() == ("error: desired revision (2) is different from the running "
                           "revision (1)")


def test_daemonset_status_and_unsupported_kinds(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("daemonsets", {"apiVersion": "apps/v1", "kind": "DaemonSet",
                           "metadata": {"name": "agent", "namespace": "default",
                                        "generation": 1},
                           "spec": {"updateStrategy": {"type": "RollingUpdate"}},
                           "status": {"observedGeneration": 1, "desiredNumberScheduled": 2,
                                      "updatedNumberScheduled": 2, "numberAvailable": 1}})
    code, out, _ = kctl("rollout", "status", "ds/agent", "--watch=false")
    assert code == 0
    assert out.strip() == ('Waiting for daemon set "agent" rollout to finish: 1 of 2 updated '
                           "pods are available...")
    api.add("configmaps", {"metadata": {"name": "c", "namespace": "default"}})
    code, _, err = kctl("rollout", "status", "configmap/c")
    assert code == 1 and err.strip() == "error: no status viewer has been implemented for ConfigMap"
    code, _, err = kctl("rollout", "status", "deployment/nope")
    assert code == 1
    assert err.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
