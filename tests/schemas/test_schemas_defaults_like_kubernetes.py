"""Defaulting matches Kubernetes' SetDefaults_* for each kind."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from jetkube.schemas import SchemaError, default_pull_policy, load_object, qos_class
from jetkube.schemas.pod import PodSpec
from jetkube.schemas.registry import (
    CLUSTERROLEBINDINGS,
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    LEASES,
    NAMESPACES,
    PODS,
    REPLICASETS,
    SECRETS,
    SERVICES,
)


def _spec(**extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "c", "image": "busybox:1.36"}], **extra}


def _tpl(**extra: Any) -> dict[str, Any]:
    return {"metadata": {"labels": {"a": "b"}}, "spec": _spec(**extra)}


def test_pod_spec_defaults() -> None:
    s = load_object(PODS, {"metadata": {"name": "p"}, "spec": _spec()})["spec"]
    assert s["restartPolicy"] == "Always"
    assert s["dnsPolicy"] == "ClusterFirst"
    assert s["terminationGracePeriodSeconds"] == 30
    assert s["schedulerName"] == "default-scheduler"
    assert s["securityContext"] == {}
    assert s["enableServiceLinks"] is True
    c = s["containers"][0]
    assert c["terminationMessagePath"] == "/dev/termination-log"
    assert c["terminationMessagePolicy"] == "File"
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert "status" not in load_object(PODS, {"metadata": {"name": "p"}, "spec": _spec()})


@pytest.mark.parametrize(("image", "policy"), [
    ("nginx", "Always"),
    ("nginx:latest", "Always"),
    ("nginx:1.25", "IfNotPresent"),
    ("localhost:5000/nginx", "Always"),
    ("localhost:5000/nginx:1.0", "IfNotPresent"),
    ("nginx@sha256:" + "a" * 64, "IfNotPresent"),
    ("nginx:latest@sha256:" + "a" * 64, "Always"),
])
def test_image_pull_policy_follows_the_tag(image: str, policy: str) -> None:
    assert default_pull_policy(image) == policy
    out = load_object(PODS, {"metadata": {"name": "p"},
                             "spec": {"containers": [{"name": "c", "image": image}]}})
    assert out["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_explicit_values_are_not_overridden() -> None:
    out = load_object(PODS, {"metadata": {"name": "p"}, "spec": {
        "restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
        "containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]}})
    assert out["spec"]["restartPolicy"] == "Never"
    assert out["spec"]["terminationGracePeriodSeconds"] == 0
    assert out["spec"]["containers"][0]["imagePullPolicy"] == "Never"


def test_ports_probes_and_volumes_defaults() -> None:
    out = load_object(PODS, {"metadata": {"name": "p"}, "spec": {
        "volumes": [{"name": "v"}, {"name": "cm", "configMap": {"name": "x"}},
                    {"name": "h", "hostPath": {"path": "/tmp"}}],
        "containers": [{
            "name": "c", "image": "nginx",
            "ports": [{"containerPort": 80}],
            "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            "readinessProbe": {"httpGet": {"port": 80}},
            "livenessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 5},
        }]}})
    c = out["spec"]["containers"][0]
    assert c["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert c["readinessProbe"] == {
        "httpGet": {"path": "/", "port": 80, "scheme": "HTTP"},
        "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
    assert c["livenessProbe"]["periodSeconds"] == 5
    assert c["env"][0]["valueFrom"]["fieldRef"] == {"apiVersion": "v1",
                                                    "fieldPath": "spec.nodeName"}
    vols = out["spec"]["volumes"]
    assert vols[0] == {"name": "v", "emptyDir": {}}
    assert vols[1]["configMap"] == {"name": "x", "defaultMode": 420}
    assert vols[2]["hostPath"] == {"path": "/tmp", "type": ""}


def test_limits_without_requests_become_requests() -> None:
    out = load_object(PODS, {"metadata": {"name": "p"}, "spec": {"containers": [{
        "name": "c", "image": "x", "resources": {"limits": {"cpu": "1", "memory": "1Gi"},
                                                 "requests": {"cpu": "500m"}}}]}})
    assert out["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "500m",
                                                                     "memory": "1Gi"}


def test_host_network_defaults_host_port_and_service_account_aliases() -> None:
    out = load_object(PODS, {"metadata": {"name": "p"}, "spec": {
        "hostNetwork": True, "serviceAccountName": "robot",
        "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 8080}]}]}})
    assert out["spec"]["containers"][0]["ports"][0]["hostPort"] == 8080
    assert out["spec"]["serviceAccount"] == "robot"


def test_service_defaults() -> None:
    s = load_object(SERVICES, {"metadata": {"name": "s"},
                               "spec": {"ports": [{"port": 80}], "selector": {"a": "b"}}})["spec"]
    assert s["type"] == "ClusterIP" and s["sessionAffinity"] == "None"
    assert s["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": 80}]
    assert s["internalTrafficPolicy"] == "Cluster"
    assert "externalTrafficPolicy" not in s
    s = load_object(SERVICES, {"metadata": {"name": "s"}, "spec": {
        "type": "NodePort", "sessionAffinity": "ClientIP",
        "ports": [{"port": 80, "targetPort": "http"}]}})["spec"]
    assert s["externalTrafficPolicy"] == "Cluster"
    assert s["ports"][0]["targetPort"] == "http"
    assert s["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 10800}}


def test_deployment_defaults() -> None:
    s = load_object(DEPLOYMENTS, {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}}, "template": _tpl()}})["spec"]
    assert s["replicas"] == 1
    assert s["strategy"] == {"type": "RollingUpdate",
                             "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert s["revisionHistoryLimit"] == 10 and s["progressDeadlineSeconds"] == 600
    assert s["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    s = load_object(DEPLOYMENTS, {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}}, "template": _tpl(),
        "strategy": {"type": "Recreate"}, "replicas": 0}})["spec"]
    assert s["strategy"] == {"type": "Recreate"} and s["replicas"] == 0


def test_replicaset_and_daemonset_defaults() -> None:
    rs = load_object(REPLICASETS, {"metadata": {"name": "r"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}}, "template": _tpl()}})
    assert rs["spec"]["replicas"] == 1
    ds = load_object(DAEMONSETS, {"metadata": {"name": "d"}, "spec": {
        "selector": {"matchLabels": {"a": "b"}}, "template": _tpl()}})
    assert ds["spec"]["updateStrategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    assert ds["spec"]["revisionHistoryLimit"] == 10


def test_job_defaults() -> None:
    s = load_object(JOBS, {"metadata": {"name": "j"}, "spec": {
        "template": {"spec": _spec(restartPolicy="Never")}}})["spec"]
    assert s["parallelism"] == 1 and s["completions"] == 1 and s["backoffLimit"] == 6
    assert s["completionMode"] == "NonIndexed" and s["suspend"] is False
    assert "selector" not in s
    s = load_object(JOBS, {"metadata": {"name": "j"}, "spec": {
        "parallelism": 5, "template": {"spec": _spec(restartPolicy="OnFailure")}}})["spec"]
    assert s["parallelism"] == 5 and "completions" not in s  # a work queue


def test_job_template_must_not_restart_always() -> None:
    # the pod template defaults to Always, which a Job refuses (as in Kubernetes)
    with pytest.raises(SchemaError) as ei:
        load_object(JOBS, {"metadata": {"name": "j"}, "spec": {"template": {"spec": _spec()}}})
    assert ei.value.kind == "Invalid"
    assert ei.value.causes == [{
        "field": "spec.template.spec.restartPolicy", "reason": "FieldValueNotSupported",
        "message": 'Unsupported value: "Always": supported values: "OnFailure", "Never"'}]


def test_secret_namespace_and_rbac_defaults() -> None:
    sec = load_object(SECRETS, {"metadata": {"name": "s"}, "data": {"a": "eA=="},
                                "stringData": {"b": "hello", "a": "y"}})
    assert sec["type"] == "Opaque"
    assert "stringData" not in sec  # folded into data, as Kubernetes' conversion does
    assert sec["data"] == {"a": base64.b64encode(b"y").decode(),
                           "b": base64.b64encode(b"hello").decode()}
    ns = load_object(NAMESPACES, {"metadata": {"name": "dev"}})
    assert ns["spec"] == {"finalizers": ["kubernetes"]} and ns["status"] == {"phase": "Active"}
    crb = load_object(CLUSTERROLEBINDINGS, {
        "metadata": {"name": "b"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
        "subjects": [{"kind": "User", "name": "jane"},
                     {"kind": "ServiceAccount", "name": "default", "namespace": "x"}]})
    assert crb["subjects"][0]["apiGroup"] == "rbac.authorization.k8s.io"
    assert "apiGroup" not in crb["subjects"][1]


def test_lease_gets_nothing() -> None:
    out = load_object(LEASES, {"metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}})
    assert out == {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                   "metadata": {"name": "l"}, "spec": {"holderIdentity": "a"}}


def test_qos_class() -> None:
    def spec(res: dict[str, Any] | None) -> PodSpec:
        c: dict[str, Any] = {"name": "c", "image": "x"}
        if res is not None:
            c["resources"] = res
        return PodSpec.model_validate({"containers": [c]})
    assert qos_class(spec(None)) == "BestEffort"
    assert qos_class(spec({"requests": {"cpu": "100m"}})) == "Burstable"
    assert qos_class(spec({"limits": {"cpu": "1", "memory": "1Gi"}})) == "Guaranteed"
    assert qos_class(spec({"limits": {"cpu": "1", "memory": "1Gi"},
                           "requests": {"cpu": "500m"}})) == "Burstable"
