"""The bootstrap roles let each component make every API call it makes, and no role
grants escalate, bind, impersonate or the ``*`` verb.

The tables list the calls found in the components (file named beside each), asked of
the API server's own authorization (Node, then RBAC) as the Kubernetes user each bus
identity stands for (``bus_user``)."""

from __future__ import annotations

import pytest
from apiharness import Api, make_api

from jetkube.schemas.registry import ResourceType, all_resources
from jetkube.services.apiserver.bootstrap_roles import component_objects
from jetkube.services.apiserver.request import UserInfo, parse_path
from jetkube.services.machinery.apimachinery import (
    CONTROLLER_MANAGER,
    DNS,
    PROXY,
    SCHEDULER,
    apierrors,
    bus_user,
    node_identity,
)

Call = tuple[str, str]  # HTTP method, path (query after ?)
NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"
KUBE_SYSTEM_LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases"
NODE_LEASES = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"


def user(identity: str) -> UserInfo:
    u = bus_user(identity)
    assert u is not None
    return UserInfo(u.name, u.name, u.groups)


def collection(rt: ResourceType) -> str:
    prefix = "/api/v1" if not rt.group else f"/apis/{rt.group}/{rt.version}"
    return f"{prefix}/namespaces/default/{rt.plural}" if rt.namespaced else f"{prefix}/{rt.plural}"


def leader_election(lease: str) -> list[Call]:  # machinery/client/_leaderelection.py
    return [("GET", f"{KUBE_SYSTEM_LEASES}/{lease}"), ("POST", KUBE_SYSTEM_LEASES),
            ("PUT", f"{KUBE_SYSTEM_LEASES}/{lease}")]


EVENTS: list[Call] = [("POST", f"{NS}/events"), ("PATCH", f"{NS}/events/e")]  # _events.py

SCHEDULER_CALLS: list[Call] = [
    *leader_election("kube-scheduler"), *leader_election("my-scheduler"), *EVENTS,
    ("POST", f"{NS}/pods/p/binding"),  # plugins/default_binder.py
    ("PATCH", f"{NS}/pods/p/status"),  # scheduler.py: PodScheduled=False
]

CONTROLLER_MANAGER_CALLS: list[Call] = [
    *leader_election("kube-controller-manager"), *EVENTS,
    # deployment*.py
    ("GET", f"{APPS}/deployments/d"), ("PATCH", f"{APPS}/deployments/d"),
    ("PUT", f"{APPS}/deployments/d/status"), ("POST", f"{APPS}/replicasets"),
    ("GET", f"{APPS}/replicasets/r"), ("PUT", f"{APPS}/replicasets/r"),
    ("PATCH", f"{APPS}/replicasets/r"), ("DELETE", f"{APPS}/replicasets/r"),
    # replicaset*.py, daemonset.py, job.py
    ("PUT", f"{APPS}/replicasets/r/status"), ("POST", f"{NS}/pods"), ("DELETE", f"{NS}/pods/p"),
    ("PATCH", f"{NS}/pods/p"), ("PUT", f"{APPS}/daemonsets/ds/status"),
    ("PUT", "/apis/batch/v1/namespaces/default/jobs/j"),
    ("PUT", "/apis/batch/v1/namespaces/default/jobs/j/status"),
    # endpoints.py
    ("POST", f"{NS}/endpoints"), ("PUT", f"{NS}/endpoints/s"), ("DELETE", f"{NS}/endpoints/s"),
    # namespace.py
    ("GET", "/api/v1/namespaces/default"), ("PUT", "/api/v1/namespaces/default/finalize"),
    ("PUT", "/api/v1/namespaces/default/status"),
    # nodelifecycle.py, taint_eviction.py, nodeipam.py, servicelb.py
    ("PUT", "/api/v1/nodes/n"), ("PUT", "/api/v1/nodes/n/status"), ("PATCH", "/api/v1/nodes/n"),
    ("PUT", f"{NS}/pods/p/status"), ("PUT", f"{NS}/services/s/status"),
    # garbagecollector.py: get, patch ownerReferences, update finalizers, delete, on anything;
    # namespace.py: list and delete everything in a namespace
    *[(m, f"{collection(rt)}/x") for rt in all_resources() for m in ("GET", "PATCH", "PUT", "DELETE")],
    *[("GET", collection(rt)) for rt in all_resources() if rt.namespaced],
]

DNS_CALLS: list[Call] = [  # dns/service.py: ensure Service kube-system/kube-dns
    ("GET", "/api/v1/namespaces/kube-system/services/kube-dns"),
    ("POST", "/api/v1/namespaces/kube-system/services"),
    ("GET", "/api/v1/services?watch=true"), ("GET", "/api/v1/endpoints"),
]

# The proxy reads services, endpoints and nodes from the store and writes nothing: its
# role is Kubernetes' system:node-proxier (reads and events).
PROXY_CALLS: list[Call] = [("GET", "/api/v1/services"), ("GET", "/api/v1/endpoints?watch=true"),
                           ("GET", "/api/v1/nodes/n"), *EVENTS]

KUBELET_CALLS: list[Call] = [
    # node.py: register, labels, status, lease
    ("POST", "/api/v1/nodes"), ("GET", "/api/v1/nodes/node-1"), ("PATCH", "/api/v1/nodes/node-1"),
    ("PATCH", "/api/v1/nodes/node-1/status"), ("POST", NODE_LEASES),
    ("GET", f"{NODE_LEASES}/node-1"), ("PUT", f"{NODE_LEASES}/node-1"),
    # podsource.py: its pods; statuswriter.py; podworker.py; staticpods.py: mirror pods
    ("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1"),
    ("PATCH", f"{NS}/pods/p/status"), ("DELETE", f"{NS}/pods/p"), ("POST", f"{NS}/pods"),
    ("GET", f"{NS}/pods/p"), *EVENTS,
]


@pytest.fixture
async def api() -> Api:
    return await make_api()


def allowed(api: Api, who: UserInfo, method: str, target: str) -> bool:
    path, _, q = target.partition("?")
    query = dict(kv.split("=", 1) for kv in q.split("&")) if q else {}
    req = parse_path(method, path, {k: v.replace("%3D", "=") for k, v in query.items()})
    assert req is not None, target
    try:
        api.front.authorize(who, req)
    except apierrors.ApiError as err:
        assert err.code == 403
        return False
    return True


@pytest.mark.parametrize(("identity", "calls"), [
    (SCHEDULER, SCHEDULER_CALLS), (CONTROLLER_MANAGER, CONTROLLER_MANAGER_CALLS),
    (DNS, DNS_CALLS), (PROXY, PROXY_CALLS), (node_identity("node-1"), KUBELET_CALLS)])
async def test_each_component_may_make_every_call_it_makes(
        api: Api, identity: str, calls: list[Call]) -> None:
    who = user(identity)
    refused = [c for c in calls if not allowed(api, who, *c)]
    assert refused == []
    # and not everything: none of them may create a ClusterRoleBinding
    assert not allowed(api, who, "POST", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")


async def test_no_role_grants_escalate_bind_impersonate_or_every_verb(api: Api) -> None:
    for plural, ns, body in component_objects():
        if plural not in ("clusterroles", "roles"):
            continue
        where = f"/namespaces/{ns}" if ns else ""
        stored = await api.ok("GET", f"/apis/rbac.authorization.k8s.io/v1{where}/{plural}/"
                                     f"{body['metadata']['name']}")
        assert stored["rules"]
        for rule in stored["rules"]:
            assert not {"escalate", "bind", "impersonate", "*"} & set(rule["verbs"]), (
                body["metadata"]["name"], rule)


async def test_components_are_bound_as_kubernetes_binds_them(api: Api) -> None:
    got = (await api.ok("GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"))["items"]
    bound = {b["roleRef"]["name"]: [(s["kind"], s["name"]) for s in b["subjects"]] for b in got}
    assert bound["system:kube-scheduler"] == [("User", "system:kube-scheduler")]
    assert bound["system:kube-controller-manager"] == [("User", "system:kube-controller-manager")]
    assert bound["system:node-proxier"] == [("User", "system:kube-proxy")]
    assert bound["system:kube-dns"] == [("User", "system:kube-dns")]
    await api.ok("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/system:node")
    assert "system:node" not in bound  # nodes go through the Node authorizer
