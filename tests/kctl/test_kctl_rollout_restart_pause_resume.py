"""kctl rollout restart / pause / resume: the patches sent and kubectl's refusals."""

from __future__ import annotations

from datetime import datetime

import pytest
from kctl_fakeapi import Kctl
from kctl_fakeapps import AppsFakeApi, deployment

pytestmark = pytest.mark.fake_api(cls=AppsFakeApi)

DEPLOY = "/apis/apps/v1/namespaces/default/deployments/web"


def test_restart_stamps_the_template(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment())
    code, out, err = kctl("rollout", "restart", "deployment/web")
    assert (code, out, err) == (0, "deployment.apps/web restarted\n", "")
    patch = api.sent("PATCH")[-1]
    assert patch.url.path == DEPLOY
    assert patch.headers["content-type"] == "application/merge-patch+json"
    stamp = api.body(patch)["spec"]["template"]["metadata"]["annotations"][
        "kubectl.kubernetes.io/restartedAt"]
    assert abs((datetime.now().astimezone() - datetime.fromisoformat(stamp)).total_seconds()) < 5


def test_pause_then_resume_and_their_errors(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment())
    code, out, _ = kctl("rollout", "pause", "deployment/web")
    assert (code, out) == (0, "deployment.apps/web paused\n")
    assert api.body(api.sent("PATCH")[-1]) == {"spec": {"paused": True}}
    code, out, err = kctl("rollout", "pause", "deployment/web")
    assert (code, out) == (1, "")
    assert err.strip() == 'error: deployments.apps "web" is already paused'
    code, _, err = kctl("rollout", "restart", "deployment/web")
    assert code == 1
    assert err.strip() == ('error: deployments.apps "web" can\'t restart paused deployment '
                           "(run rollout resume first)")
    code, out, _ = kctl("rollout", "resume", "deploy", "web")
    assert (code, out) == (0, "deployment.apps/web resumed\n")
    assert api.body(api.sent("PATCH")[-1]) == {"spec": {"paused": None}}
    code, _, err = kctl("rollout", "resume", "deployment/web", "-o", "name")
    assert code == 1 and err.strip() == 'error: deployments.apps "web" is not paused'


def test_daemonsets_restart_but_do_not_pause(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("daemonsets", {"apiVersion": "apps/v1", "kind": "DaemonSet",
                           "metadata": {"name": "agent", "namespace": "default"},
                           "spec": {"template": {}}})
    code, out, _ = kctl("rollout", "restart", "ds/agent")
    assert (code, out) == (0, "daemonset.apps/agent restarted\n")
    code, _, err = kctl("rollout", "pause", "ds/agent")
    assert code == 1 and err.strip() == 'error: daemonsets.apps "agent" pausing is not supported'


def test_one_refusal_does_not_stop_the_others(api: AppsFakeApi, kctl: Kctl) -> None:
    api.add("deployments", deployment("web", paused=True))
    api.add("deployments", deployment("api"))
    code, out, err = kctl("rollout", "pause", "deployment/web", "deployment/api")
    assert code == 1
    assert out == "deployment.apps/api paused\n"
    assert 'deployments.apps "web" is already paused' in err


def test_rollout_without_a_resource(api: AppsFakeApi, kctl: Kctl) -> None:
    code, _, err = kctl("rollout", "restart")
    assert code == 1 and err.strip() == "error: required resource not specified"
    code, out, _ = kctl("rollout")
    assert code == 0 and "status" in out and "undo" in out
