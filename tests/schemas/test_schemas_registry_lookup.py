"""The resource table answers the API server's routing and kctl's name lookups."""

from __future__ import annotations

import dataclasses

import pytest

from jetkube.schemas import Deployment, Pod, all_resources, by_kind, by_plural, lookup
from jetkube.schemas.registry import BINDING, SCALE, in_category, subresource_body


@pytest.mark.parametrize(("typed", "plural", "group"), [
    ("pods", "pods", ""), ("pod", "pods", ""), ("po", "pods", ""), ("Pod", "pods", ""),
    ("deploy", "deployments", "apps"), ("deployments.apps", "deployments", "apps"),
    ("deployment.apps", "deployments", "apps"), ("deployments.v1.apps", "deployments", "apps"),
    ("rs", "replicasets", "apps"), ("svc", "services", ""), ("ep", "endpoints", ""),
    ("cm", "configmaps", ""), ("ns", "namespaces", ""), ("no", "nodes", ""),
    ("ev", "events", ""), ("ds", "daemonsets", "apps"), ("quota", "resourcequotas", ""),
    ("jobs.batch", "jobs", "batch"), ("leases", "leases", "coordination.k8s.io"),
    ("clusterrolebindings", "clusterrolebindings", "rbac.authorization.k8s.io"),
    ("roles.rbac.authorization.k8s.io", "roles", "rbac.authorization.k8s.io"),
    ("cs", "componentstatuses", ""), ("secret", "secrets", ""), ("pods.v1", "pods", ""),
])
def test_lookup_accepts_what_kubectl_accepts(typed: str, plural: str, group: str) -> None:
    rt = lookup(typed)
    assert rt is not None and (rt.plural, rt.group) == (plural, group)


def test_lookup_of_unknown_names() -> None:
    assert lookup("widgets") is None
    assert lookup("pods.apps") is None


def test_api_version_and_scope() -> None:
    pods = by_plural("", "pods")
    assert pods is not None and pods.api_version == "v1" and pods.namespaced
    assert pods.model is Pod and pods.list_kind == "PodList"
    assert pods.subresources == {"status", "binding", "eviction", "log", "exec", "attach",
                                 "portforward"}
    d = by_kind("apps/v1", "Deployment")
    assert d is not None and d.api_version == "apps/v1" and d.model is Deployment
    assert d.subresources == {"status", "scale"} and d.group_resource == "deployments.apps"
    nodes = by_plural("", "nodes")
    assert nodes is not None and not nodes.namespaced
    assert by_plural("apps", "pods") is None


def test_every_kind_is_served_once() -> None:
    kinds = [r.kind for r in all_resources()]
    assert len(kinds) == len(set(kinds))
    assert {"Namespace", "Node", "Pod", "ReplicaSet", "Deployment", "Service", "Endpoints",
            "ConfigMap", "Secret", "Event", "Lease", "ResourceQuota", "Job", "DaemonSet",
            "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"} <= set(kinds)
    for r in all_resources():
        assert by_plural(r.group, r.plural) is r and by_kind(r.api_version, r.kind) is r


def test_resource_types_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        lookup("pods").plural = "x"  # type: ignore[union-attr,misc]


def test_subresource_bodies_and_categories() -> None:
    assert subresource_body("binding") is BINDING and subresource_body("scale") is SCALE
    assert subresource_body("status") is None
    assert SCALE.api_version == "autoscaling/v1"
    assert by_kind("autoscaling/v1", "Scale") is SCALE
    assert BINDING not in all_resources()
    assert {r.plural for r in in_category("all")} >= {"pods", "services", "deployments"}


def test_label_selectors_match_like_kubernetes() -> None:
    from jetkube.schemas import LabelSelector, selector_dict_matches, selector_matches

    sel = {"matchLabels": {"app": "web"},
           "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]},
                                {"key": "canary", "operator": "DoesNotExist"},
                                {"key": "env", "operator": "NotIn", "values": ["prod"]},
                                {"key": "team", "operator": "Exists"}]}
    model = LabelSelector.model_validate(sel)
    cases = [
        ({"app": "web", "tier": "fe", "team": "a"}, True),
        ({"app": "web", "tier": "fe", "team": "a", "env": "dev"}, True),
        ({"app": "web", "tier": "fe", "team": "a", "env": "prod"}, False),
        ({"app": "web", "tier": "db", "team": "a"}, False),
        ({"app": "web", "tier": "fe", "team": "a", "canary": "1"}, False),
        ({"app": "web", "tier": "fe"}, False),
        ({"app": "api", "tier": "fe", "team": "a"}, False),
    ]
    for labels, want in cases:
        assert selector_matches(model, labels) is want, labels
        assert selector_dict_matches(sel, labels) is want, labels
    assert selector_matches(LabelSelector(), {"x": "y"}) is True  # empty matches all
    assert selector_matches(None, {"x": "y"}) is False
    assert selector_dict_matches(None, {}) is False
