"""Semantic validation reports Kubernetes-style field errors with the exact
field path, reason and message."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jetkube.schemas import SchemaError, load_object
from jetkube.schemas.registry import (
    CLUSTERROLEBINDINGS,
    CLUSTERROLES,
    CONFIGMAPS,
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    NAMESPACES,
    NODES,
    PODS,
    REPLICASETS,
    ROLES,
    SECRETS,
    SERVICES,
    ResourceType,
)

POD: dict[str, Any] = {"metadata": {"name": "p"},
                       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def _deploy(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}},
                     "spec": copy.deepcopy(POD["spec"])}}
    base.update(spec)
    return {"metadata": {"name": "web"}, "spec": base}


def causes(rt: ResourceType, doc: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(SchemaError) as ei:
        load_object(rt, doc)
    assert ei.value.kind == "Invalid", ei.value.message
    return ei.value.causes


def fields(rt: ResourceType, doc: dict[str, Any]) -> dict[str, str]:
    return {c["field"]: c["reason"] for c in causes(rt, doc)}


def test_name_is_required_unless_generate_name() -> None:
    doc = copy.deepcopy(POD)
    del doc["metadata"]["name"]
    assert causes(PODS, doc) == [{
        "field": "metadata.name", "reason": "FieldValueRequired",
        "message": "Required value: name or generateName is required"}]
    doc["metadata"]["generateName"] = "web-"
    load_object(PODS, doc)


def test_names_must_be_dns_subdomains() -> None:
    doc = copy.deepcopy(POD)
    doc["metadata"]["name"] = "Web_1"
    [c] = causes(PODS, doc)
    assert c["field"] == "metadata.name" and c["reason"] == "FieldValueInvalid"
    assert c["message"].startswith('Invalid value: "Web_1": a lowercase RFC 1123 subdomain')
    doc["metadata"]["name"] = "a." * 127 + "a"  # 255 characters
    [c] = causes(PODS, doc)
    assert "must be no more than 253 characters" in c["message"]
    doc["metadata"]["name"] = "web.example.com"
    load_object(PODS, doc)


def test_namespace_names_are_dns_labels_and_service_names_dns1035() -> None:
    assert fields(NAMESPACES, {"metadata": {"name": "a.b"}}) == {
        "metadata.name": "FieldValueInvalid"}
    svc = {"metadata": {"name": "1web"}, "spec": {"ports": [{"port": 80}]}}
    [c] = causes(SERVICES, svc)
    assert "DNS-1035 label" in c["message"]


def test_rbac_names_allow_colons() -> None:
    load_object(CLUSTERROLES, {"metadata": {"name": "system:controller:x"}, "rules": []})
    assert fields(ROLES, {"metadata": {"name": "a/b"}}) == {"metadata.name": "FieldValueInvalid"}


def test_labels_and_annotations() -> None:
    doc = copy.deepcopy(POD)
    doc["metadata"]["labels"] = {"ok": "v", "bad key": "v", "k": "x" * 64,
                                 "example.com/ok": "v", "a/b/c": "v"}
    cs = causes(PODS, doc)
    assert {c["field"] for c in cs} == {"metadata.labels"}
    msgs = " | ".join(c["message"] for c in cs)
    assert '"bad key"' in msgs and "must be no more than 63 characters" in msgs
    assert '"a/b/c"' in msgs
    doc = copy.deepcopy(POD)
    doc["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    assert causes(PODS, doc) == [{"field": "metadata.annotations",
                                  "reason": "FieldValueTooLong",
                                  "message": "Too long: may not be more than 262144 bytes"}]


def test_containers_required_unique_and_named() -> None:
    assert fields(PODS, {"metadata": {"name": "p"}, "spec": {"containers": []}}) == {
        "spec.containers": "FieldValueRequired"}
    doc = {"metadata": {"name": "p"}, "spec": {
        "initContainers": [{"name": "a", "image": "x"}],
        "containers": [{"name": "a", "image": "x"}, {"name": "B", "image": " "},
                       {"name": "c", "image": ""}]}}
    assert fields(PODS, doc) == {
        "spec.containers[0].name": "FieldValueDuplicate",
        "spec.containers[1].name": "FieldValueInvalid",
        "spec.containers[1].image": "FieldValueInvalid",
        "spec.containers[2].image": "FieldValueRequired",
    }


def test_ports_env_mounts_resources_probes() -> None:
    doc = {"metadata": {"name": "p"}, "spec": {"containers": [{
        "name": "c", "image": "x",
        "ports": [{"containerPort": 0}, {"containerPort": 70000, "name": "Not_IANA"},
                  {"containerPort": 81, "hostPort": 99999}],
        "env": [{"name": "1BAD"}, {"name": "A", "value": "x",
                                    "valueFrom": {"fieldRef": {"fieldPath": "a"}}}],
        "volumeMounts": [{"name": "missing", "mountPath": "/m"}],
        "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1", "memory": "-1"}},
        "livenessProbe": {"successThreshold": 2, "exec": {"command": ["true"]}},
        "readinessProbe": {"periodSeconds": 1},
    }]}}
    got = fields(PODS, doc)
    p = "spec.containers[0]"
    assert got == {
        f"{p}.ports[0].containerPort": "FieldValueInvalid",
        f"{p}.ports[1].containerPort": "FieldValueInvalid",
        f"{p}.ports[1].name": "FieldValueInvalid",
        f"{p}.ports[2].hostPort": "FieldValueInvalid",
        f"{p}.env[0].name": "FieldValueInvalid",
        f"{p}.env[1].valueFrom": "FieldValueInvalid",
        f"{p}.volumeMounts[0].name": "FieldValueNotFound",
        f"{p}.resources.limits[memory]": "FieldValueInvalid",
        # the limit was defaulted into requests before validation, as in Kubernetes
        f"{p}.resources.requests[memory]": "FieldValueInvalid",
        f"{p}.resources.requests[cpu]": "FieldValueInvalid",
        f"{p}.livenessProbe.successThreshold": "FieldValueInvalid",
        f"{p}.readinessProbe": "FieldValueRequired",
    }
    msgs = {c["field"]: c["message"] for c in causes(PODS, doc)}
    assert msgs[f"{p}.ports[0].containerPort"] == (
        "Invalid value: 0: must be between 1 and 65535, inclusive")
    assert msgs[f"{p}.resources.requests[cpu]"] == (
        'Invalid value: "2": must be less than or equal to cpu limit of 1')


def test_volumes_unique_and_single_source_and_tolerations() -> None:
    doc = copy.deepcopy(POD)
    doc["spec"]["volumes"] = [{"name": "v", "emptyDir": {}},
                              {"name": "v", "emptyDir": {}, "hostPath": {"path": "/"}}]
    doc["spec"]["tolerations"] = [{"operator": "Equal", "value": "x"},
                                  {"key": "k", "operator": "Exists", "value": "v"},
                                  {"key": "k", "tolerationSeconds": 5, "effect": "NoSchedule"}]
    assert fields(PODS, doc) == {
        "spec.volumes[1].name": "FieldValueDuplicate",
        "spec.volumes[1].hostPath": "FieldValueForbidden",
        "spec.tolerations[0].operator": "FieldValueInvalid",
        "spec.tolerations[1].operator": "FieldValueInvalid",
        "spec.tolerations[2].effect": "FieldValueInvalid",
    }


def test_deployment_selector_required_and_must_match_template() -> None:
    doc = _deploy()
    del doc["spec"]["selector"]
    assert fields(DEPLOYMENTS, doc) == {"spec.selector": "FieldValueRequired"}
    doc = _deploy(selector={"matchLabels": {"app": "other"}})
    [c] = causes(DEPLOYMENTS, doc)
    assert c == {"field": "spec.template.metadata.labels", "reason": "FieldValueInvalid",
                 "message": 'Invalid value: map[string]string{"app":"web"}: '
                            "`selector` does not match template `labels`"}
    doc = _deploy(selector={"matchExpressions": [{"key": "app", "operator": "In",
                                                  "values": ["web", "api"]}]})
    load_object(DEPLOYMENTS, doc)
    assert fields(DEPLOYMENTS, _deploy(selector={})) == {"spec.selector": "FieldValueInvalid"}


def test_deployment_numbers_and_strategy() -> None:
    assert fields(DEPLOYMENTS, _deploy(replicas=-1)) == {"spec.replicas": "FieldValueInvalid"}
    doc = _deploy(strategy={"type": "RollingUpdate",
                            "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"}})
    assert fields(DEPLOYMENTS, doc) == {
        "spec.strategy.rollingUpdate.maxUnavailable": "FieldValueInvalid"}
    doc = _deploy(strategy={"rollingUpdate": {"maxSurge": "x%"}})
    assert fields(DEPLOYMENTS, doc) == {"spec.strategy.rollingUpdate.maxSurge":
                                        "FieldValueInvalid"}
    doc = _deploy(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
    assert fields(DEPLOYMENTS, doc) == {"spec.strategy.rollingUpdate": "FieldValueForbidden"}
    doc = _deploy()
    doc["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert fields(DEPLOYMENTS, doc) == {"spec.template.spec.restartPolicy":
                                        "FieldValueNotSupported"}


def test_replicaset_daemonset_job_selectors() -> None:
    rs = _deploy(replicas=2)
    del rs["spec"]["template"]
    assert fields(REPLICASETS, rs) == {"spec.template": "FieldValueRequired"}
    ds = _deploy(selector={"matchLabels": {"app": "x"}})
    assert fields(DAEMONSETS, ds) == {"spec.template.metadata.labels": "FieldValueInvalid"}
    job = {"metadata": {"name": "j"}, "spec": {
        "manualSelector": True, "selector": {"matchLabels": {"a": "b"}},
        "template": {"metadata": {"labels": {"a": "c"}},
                     "spec": {**copy.deepcopy(POD["spec"]), "restartPolicy": "Never"}},
        "parallelism": -1}}
    assert fields(JOBS, job) == {"spec.template.metadata.labels": "FieldValueInvalid",
                                 "spec.parallelism": "FieldValueInvalid"}


def test_service_ports() -> None:
    svc = {"metadata": {"name": "s"}, "spec": {"ports": [
        {"port": 80}, {"port": 0, "name": "b", "targetPort": "Bad_Name"},
        {"port": 443, "name": "b", "nodePort": 30000}]}}
    assert fields(SERVICES, svc) == {
        "spec.ports[0].name": "FieldValueRequired",
        "spec.ports[1].port": "FieldValueInvalid",
        "spec.ports[1].targetPort": "FieldValueInvalid",
        "spec.ports[2].name": "FieldValueDuplicate",
        "spec.ports[2].nodePort": "FieldValueForbidden",
    }
    assert fields(SERVICES, {"metadata": {"name": "s"}, "spec": {}}) == {
        "spec.ports": "FieldValueRequired"}
    load_object(SERVICES, {"metadata": {"name": "s"}, "spec": {"clusterIP": "None"}})
    assert fields(SERVICES, {"metadata": {"name": "s"}, "spec": {
        "type": "ExternalName"}}) == {"spec.externalName": "FieldValueRequired"}


def test_configmap_secret_and_node_checks() -> None:
    assert fields(CONFIGMAPS, {"metadata": {"name": "c"}, "data": {"bad/key": "v"}}) == {
        "data": "FieldValueInvalid"}
    assert fields(SECRETS, {"metadata": {"name": "s"}, "type": "kubernetes.io/tls",
                            "data": {"tls.crt": "eA=="}}) == {
        "data[tls.key]": "FieldValueRequired"}
    assert fields(NODES, {"metadata": {"name": "n"}, "spec": {"podCIDR": "10.0.0.0/33"}}) == {
        "spec.podCIDRs[0]": "FieldValueInvalid"}
    assert fields(NAMESPACES, {"metadata": {"name": "n", "namespace": "x"}}) == {
        "metadata.namespace": "FieldValueForbidden"}


def test_rbac_rules_and_bindings() -> None:
    role = {"metadata": {"name": "r"}, "rules": [
        {"verbs": [], "apiGroups": [""], "resources": ["pods"]},
        {"verbs": ["get"], "nonResourceURLs": ["/healthz"]}]}
    assert fields(ROLES, role) == {"rules[0].verbs": "FieldValueRequired",
                                   "rules[1].nonResourceURLs": "FieldValueInvalid"}
    crb = {"metadata": {"name": "b"},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
           "subjects": [{"kind": "ServiceAccount", "name": "default"}]}
    assert fields(CLUSTERROLEBINDINGS, crb) == {"roleRef.kind": "FieldValueNotSupported",
                                                "subjects[0].namespace": "FieldValueRequired"}


def test_several_errors_are_reported_together_like_kubernetes() -> None:
    doc = _deploy(replicas=-2)
    doc["metadata"]["name"] = "Bad"
    with pytest.raises(SchemaError) as ei:
        load_object(DEPLOYMENTS, doc)
    msg = ei.value.message
    assert msg.startswith('Deployment.apps "Bad" is invalid: [metadata.name: Invalid value: ')
    assert "spec.replicas: Invalid value: -2: must be greater than or equal to 0]" in msg


def test_host_aliases_are_addresses_and_dns_subdomains() -> None:
    """They become lines of the pod's /etc/hosts (the node agent writes them): a value
    that could add a line of its own is refused, as Kubernetes refuses it."""
    pod = copy.deepcopy(POD)
    pod["spec"]["hostAliases"] = [
        {"ip": "10.0.0.1\n6.6.6.6", "hostnames": ["ok.local"]},
        {"ip": "", "hostnames": ["evil\tname"]},
        {"ip": "::1", "hostnames": ["a.example", "B.local"]}]
    assert fields(PODS, pod) == {
        "spec.hostAliases[0].ip": "FieldValueInvalid",
        "spec.hostAliases[1].ip": "FieldValueRequired",
        "spec.hostAliases[1].hostnames[0]": "FieldValueInvalid",
        "spec.hostAliases[2].hostnames[1]": "FieldValueInvalid"}
    pod["spec"]["hostAliases"] = [{"ip": "127.0.0.1", "hostnames": ["foo.local", "bar.local"]}]
    load_object(PODS, pod)  # valid
