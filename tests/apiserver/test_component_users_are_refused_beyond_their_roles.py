"""What the component roles leave out is refused: the scheduler binds pods and writes
events but may not delete a Deployment or read a Secret; the proxy reads services but
may not create pods; the controller-manager may not create Secrets.

Each refusal targets an object shown to exist, next to a call the same user may make."""

from __future__ import annotations

from pathlib import Path

import pytest
from apiharness import Api, make_api, pod

NS = "/api/v1/namespaces/default"
DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"
ADMIN, SCHED, PROXY, CM = "admin-token", "tok-sched", "tok-proxy", "tok-cm"


@pytest.fixture
async def api(tmp_path: Path) -> Api:
    tokens = tmp_path / "tokens.csv"
    tokens.write_text(f'{ADMIN},admin,admin,"system:masters"\n'
                      f"{SCHED},system:kube-scheduler,system:kube-scheduler\n"
                      f"{PROXY},system:kube-proxy,system:kube-proxy\n"
                      f"{CM},system:kube-controller-manager,system:kube-controller-manager\n")
    api = await make_api(token_file=tokens)
    api.token = ADMIN
    await api.ok("POST", f"{NS}/pods", pod("p"))
    await api.ok("POST", f"{NS}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                           "metadata": {"name": "s"}, "data": {"k": "dg=="}})
    await api.ok("POST", DEPLOYMENTS, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}},
                              "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}}})
    await api.cache.wait_fresh()
    return api


async def test_the_scheduler_binds_and_records_but_deletes_no_deployment_reads_no_secret(
        api: Api) -> None:
    code, _ = await api.call("POST", f"{NS}/pods/p/binding", {
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "p"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"}}, token=SCHED)
    assert code == 201
    assert (await api.ok("GET", f"{NS}/pods/p"))["spec"]["nodeName"] == "node-1"
    code, _ = await api.call("POST", f"{NS}/events", {
        "apiVersion": "v1", "kind": "Event", "metadata": {"name": "p.1"},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Scheduled", "message": "assigned", "type": "Normal"}, token=SCHED)
    assert code == 201

    await api.ok("GET", f"{DEPLOYMENTS}/d")
    code, st = await api.call("DELETE", f"{DEPLOYMENTS}/d", token=SCHED)
    assert code == 403 and st["message"] == (
        'deployments is forbidden: User "system:kube-scheduler" cannot delete resource '
        '"deployments" in API group "apps" in the namespace "default"')
    await api.ok("GET", f"{DEPLOYMENTS}/d")  # still there

    await api.ok("GET", f"{NS}/secrets/s")
    code, st = await api.call("GET", f"{NS}/secrets/s", token=SCHED)
    assert code == 403 and st["reason"] == "Forbidden"


async def test_the_proxy_reads_services_but_creates_no_pods(api: Api) -> None:
    await api.ok("GET", "/api/v1/services", token=PROXY)
    code, st = await api.call("POST", f"{NS}/pods", pod("q"), token=PROXY)
    assert code == 403 and 'User "system:kube-proxy" cannot create resource "pods"' in st["message"]
    assert (await api.call("GET", f"{NS}/pods/q"))[0] == 404


async def test_the_controller_manager_creates_pods_but_no_secrets(api: Api) -> None:
    assert (await api.call("POST", f"{NS}/pods", pod("r"), token=CM))[0] == 201
    await api.ok("GET", f"{NS}/secrets/s", token=CM)  # the garbage collector reads anything
    code, _ = await api.call("POST", f"{NS}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t"}}, token=CM)
    assert code == 403
    assert (await api.call("GET", f"{NS}/secrets/t"))[0] == 404
