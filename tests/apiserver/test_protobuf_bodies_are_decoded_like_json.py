"""Kubernetes protobuf bodies (``application/vnd.kubernetes.protobuf``, what kubectl's typed
clients send) are stored exactly as the same object sent as JSON.

Each body is written field by field (protowire.py, numbers spelled here, independent of the
server's tables) the way gogo marshals it: every non-pointer scalar present even when zero
(``generateName: ""``, ``hostPort: 0``, an empty ``status``), pointers only when set.  The
protobuf object and its JSON twin are created through the real ASGI app and the two stored
objects compared, name and uid aside.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from apiharness import make_api
from faces import AsgiApi, asgi_request
from protowire import PROTOBUF, body, bt, entry, i, m, s

from jetkube.services.apiserver import protobody

NS = "/api/v1/namespaces/default"
APPS = "/apis/apps/v1/namespaces/default"


@pytest.fixture
async def api() -> AsgiApi:
    return AsgiApi(await make_api())


def meta(name: str, labels: dict[str, str] | None = None, namespace: str = "") -> bytes:
    """ObjectMeta as gogo writes it: every string and int, the zero creationTimestamp."""
    out = s(1, name) + s(2, "") + s(3, namespace) + s(4, "") + s(5, "") + s(6, "") + i(7, 0)
    out += m(8)
    for k, v in (labels or {}).items():
        out += entry(11, k, s(2, v))
    return m(1, out)


def int_or_string(number: int, value: int | str) -> bytes:
    if isinstance(value, str):
        return m(number, i(1, 1), i(2, 0), s(3, value))
    return m(number, i(1, 0), i(2, value), s(3, ""))


def quantity(value: str) -> bytes:
    return s(1, value)


def normalized(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with its name and uid as placeholders and server-chosen fields dropped."""
    md = obj["metadata"]
    text = orjson.dumps(obj).decode().replace(md["uid"], "UID").replace(md["name"], "NAME")
    out: dict[str, Any] = orjson.loads(text)
    for k in ("resourceVersion", "creationTimestamp"):
        out["metadata"].pop(k, None)
    for managed in out["metadata"].get("managedFields") or []:
        managed.pop("time", None)  # when the write happened (the two may be a second apart)
    notes = out["metadata"].get("annotations") or {}
    notes.pop("jetkube.io/traceparent", None)  # each write's own trace, when tracing is on
    if not notes:
        out["metadata"].pop("annotations", None)
    for k in ("clusterIP", "clusterIPs"):
        out.get("spec", {}).pop(k, None)
    return out


async def same_as_json(api: AsgiApi, path: str, proto: bytes, js: dict[str, Any],
                       proto_name: str = "from-proto", json_name: str = "from-json"
                       ) -> dict[str, Any]:
    code, got = await api.call("POST", path, proto, content_type=PROTOBUF)
    assert code == 201, got
    assert got["metadata"]["name"] == proto_name
    code, want = await api.call("POST", path, {**js, "metadata": {**js["metadata"],
                                                                   "name": json_name}})
    assert code == 201, want
    stored_proto = await api.ok("GET", f"{path}/{proto_name}")
    stored_json = await api.ok("GET", f"{path}/{json_name}")
    assert normalized(stored_proto) == normalized(stored_json)
    return stored_proto


async def test_a_configmap_with_text_and_binary_data(api: AsgiApi) -> None:
    proto = body("v1", "ConfigMap", meta("from-proto", {"team": "a"}),
                 entry(2, "a", s(2, "1")), entry(2, "empty", s(2, "")),
                 entry(3, "bin", s(2, b"\x00\xffhi")), bt(4, False))
    got = await same_as_json(api, f"{NS}/configmaps", proto, {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {"team": "a"}},
        "data": {"a": "1", "empty": ""}, "binaryData": {"bin": "AP9oaQ=="}, "immutable": False})
    assert got["data"] == {"a": "1", "empty": ""}  # a map keeps its empty values
    assert got["immutable"] is False  # a pointer: false was set
    assert "generateName" not in got["metadata"]


async def test_a_secret_keeps_bytes_that_are_not_utf8(api: AsgiApi) -> None:
    proto = body("v1", "Secret", meta("from-proto"), entry(2, "k", s(2, b"\x00\x01\xfe")),
                 entry(4, "s", s(2, "text")), s(3, "Opaque"))
    got = await same_as_json(api, f"{NS}/secrets", proto, {
        "apiVersion": "v1", "kind": "Secret", "metadata": {},
        "data": {"k": "AAH+"}, "stringData": {"s": "text"}, "type": "Opaque"})
    assert got["data"]["k"] == "AAH+"


async def test_a_namespace_with_an_empty_status(api: AsgiApi) -> None:
    proto = body("v1", "Namespace", meta("from-proto"), m(2), m(3, s(1, "")))
    await same_as_json(api, "/api/v1/namespaces", proto,
                       {"apiVersion": "v1", "kind": "Namespace", "metadata": {}})


async def test_a_service_with_int_and_named_target_ports(api: AsgiApi) -> None:
    port_a = m(1, s(1, "a"), s(2, "TCP"), i(3, 80), int_or_string(4, 8080), i(5, 0))
    port_b = m(1, s(1, "b"), s(2, "TCP"), i(3, 81), int_or_string(4, "http"), i(5, 0))
    spec = m(2, port_a, port_b, entry(2, "app", s(2, "web")), s(3, ""), s(4, "ClusterIP"),
             s(7, "None"), s(8, ""), s(10, ""), s(11, ""), i(12, 0), bt(13, False))
    proto = body("v1", "Service", meta("from-proto"), spec, m(3, m(1)))
    got = await same_as_json(api, f"{NS}/services", proto, {
        "apiVersion": "v1", "kind": "Service", "metadata": {},
        "spec": {"type": "ClusterIP", "sessionAffinity": "None", "selector": {"app": "web"},
                 "ports": [{"name": "a", "protocol": "TCP", "port": 80, "targetPort": 8080},
                           {"name": "b", "protocol": "TCP", "port": 81, "targetPort": "http"}]}})
    assert [p["targetPort"] for p in got["spec"]["ports"]] == [8080, "http"]
    assert "nodePort" not in got["spec"]["ports"][0]


def container() -> bytes:
    port = m(6, s(1, "http"), i(2, 0), i(3, 8080), s(4, "TCP"), s(5, ""))
    env_a = m(7, s(1, "A"), s(2, "1"))
    env_pod = m(7, s(1, "POD"), s(2, ""), m(3, m(1, s(1, "v1"), s(2, "metadata.name"))))
    resources = m(8, entry(1, "cpu", m(2, quantity("500m"))),
                  entry(1, "memory", m(2, quantity("128Mi"))),
                  entry(2, "cpu", m(2, quantity("250m"))))
    liveness = m(10, m(1, m(2, s(1, "/healthz"), int_or_string(2, 8080), s(3, ""),
                            s(4, "HTTP"))),
                 i(2, 5), i(3, 1), i(4, 10), i(5, 1), i(6, 3))
    readiness = m(11, m(1, m(3, int_or_string(1, "http"), s(2, ""))), i(2, 0), i(3, 1),
                  i(4, 10), i(5, 1), i(6, 3))
    security = m(15, i(4, 0), bt(6, False))
    return m(2, s(1, "web"), s(2, "nginx:1.25"), s(3, "sh"), s(3, "-c"), s(4, "sleep 1"),
             s(5, ""), port, env_a, env_pod, resources, liveness, readiness,
             s(13, "/dev/termination-log"), s(20, "File"), s(14, "IfNotPresent"), security,
             bt(16, False), bt(17, False), bt(18, False))


def pod_spec() -> bytes:
    volume = m(1, s(1, "scratch"), m(2, m(2, s(1, ""))))
    return (volume + container() + s(3, "Always") + i(4, 0) + s(6, "ClusterFirst")
            + s(8, "") + s(9, "") + s(10, "") + bt(11, False) + bt(12, False) + bt(13, False)
            + s(16, "") + s(17, "") + s(19, "default-scheduler") + s(24, ""))


POD_SPEC_JSON: dict[str, Any] = {
    "volumes": [{"name": "scratch", "emptyDir": {}}],
    "containers": [{
        "name": "web", "image": "nginx:1.25", "command": ["sh", "-c"], "args": ["sleep 1"],
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "A", "value": "1"},
                {"name": "POD", "valueFrom": {"fieldRef": {"apiVersion": "v1",
                                                           "fieldPath": "metadata.name"}}}],
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "250m"}},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                          "initialDelaySeconds": 5, "timeoutSeconds": 1, "periodSeconds": 10,
                          "successThreshold": 1, "failureThreshold": 3},
        "readinessProbe": {"tcpSocket": {"port": "http"}, "timeoutSeconds": 1,
                           "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3},
        "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {"runAsUser": 0, "readOnlyRootFilesystem": False}}],
    "restartPolicy": "Always", "terminationGracePeriodSeconds": 0, "dnsPolicy": "ClusterFirst",
    "schedulerName": "default-scheduler"}


@pytest.mark.parametrize("replicas", [0, 3])
async def test_a_deployment_with_a_full_pod_template(api: AsgiApi, replicas: int) -> None:
    labels = {"app": "web"}
    strategy = m(4, s(1, "RollingUpdate"),
                 m(2, int_or_string(1, 1), int_or_string(2, "25%")))
    spec = m(2, i(1, replicas), m(2, entry(1, "app", s(2, "web"))),
             m(3, meta("", labels), m(2, pod_spec())), strategy, i(5, 0), i(6, 0), bt(7, False),
             i(9, 600))
    status = m(3, i(1, 0), i(2, 0), i(3, 0), i(7, 0), i(4, 0), i(5, 0))
    proto = body("apps/v1", "Deployment", meta("from-proto", labels), spec, status)
    got = await same_as_json(api, f"{APPS}/deployments", proto, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels}, "spec": POD_SPEC_JSON},
                 "strategy": {"type": "RollingUpdate",
                              "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "25%"}},
                 "revisionHistoryLimit": 0, "progressDeadlineSeconds": 600}})
    spec_out = got["spec"]
    assert spec_out["replicas"] == replicas  # a pointer: 0 survives
    assert spec_out["revisionHistoryLimit"] == 0
    c = spec_out["template"]["spec"]["containers"][0]
    assert c["resources"]["limits"] == {"cpu": "500m", "memory": "128Mi"}
    assert c["securityContext"]["runAsUser"] == 0
    assert "hostPort" not in c["ports"][0] and "stdin" not in c and "workingDir" not in c
    assert spec_out["template"]["spec"]["terminationGracePeriodSeconds"] == 0
    assert spec_out["template"]["spec"]["volumes"] == [{"name": "scratch", "emptyDir": {}}]


async def test_a_job_keeps_a_zero_backoff_limit(api: AsgiApi) -> None:
    template = m(6, m(1, s(1, "")), m(2, container(), s(3, "Never")))
    proto = body("batch/v1", "Job", meta("from-proto"), m(2, template, i(7, 0), i(1, 1)),
                 m(3, i(4, 0), i(5, 0), i(6, 0)))
    spec = {k: v for k, v in POD_SPEC_JSON.items() if k == "containers"}
    got = await same_as_json(api, "/apis/batch/v1/namespaces/default/jobs", proto, {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {},
        "spec": {"parallelism": 1, "backoffLimit": 0,
                 "template": {"spec": {**spec, "restartPolicy": "Never"}}}})
    assert got["spec"]["backoffLimit"] == 0


async def test_a_role_keeps_the_core_group_as_an_empty_string(api: AsgiApi) -> None:
    rule = m(2, s(1, "get"), s(1, "list"), s(2, ""), s(3, "pods"))
    proto = body("rbac.authorization.k8s.io/v1", "Role", meta("from-proto"), rule)
    got = await same_as_json(api, "/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles",
                             proto, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                     "metadata": {},
                                     "rules": [{"verbs": ["get", "list"], "apiGroups": [""],
                                                "resources": ["pods"]}]})
    assert got["rules"][0]["apiGroups"] == [""]


async def test_a_role_binding(api: AsgiApi) -> None:
    rbac = "rbac.authorization.k8s.io"
    proto = body(f"{rbac}/v1", "RoleBinding", meta("from-proto"),
                 m(2, s(1, "User"), s(2, rbac), s(3, "alice"), s(4, "")),
                 m(3, s(1, rbac), s(2, "ClusterRole"), s(3, "view")))
    await same_as_json(api, f"/apis/{rbac}/v1/namespaces/default/rolebindings", proto, {
        "apiVersion": f"{rbac}/v1", "kind": "RoleBinding", "metadata": {},
        "subjects": [{"kind": "User", "apiGroup": rbac, "name": "alice"}],
        "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "view"}})


async def test_a_lease_keeps_microseconds_and_a_zero_pointer(api: AsgiApi) -> None:
    micro = m(3, i(1, 1704067200), i(2, 123456789))
    proto = body("coordination.k8s.io/v1", "Lease", meta("from-proto"),
                 m(2, s(1, "node-1"), i(2, 40), micro, i(5, 0)))
    got = await same_as_json(api, "/apis/coordination.k8s.io/v1/namespaces/default/leases",
                             proto, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                     "metadata": {},
                                     "spec": {"holderIdentity": "node-1",
                                              "leaseDurationSeconds": 40,
                                              "acquireTime": "2024-01-01T00:00:00.123456Z",
                                              "leaseTransitions": 0}})
    assert got["spec"]["acquireTime"] == "2024-01-01T00:00:00.123456Z"


async def test_delete_options_in_protobuf_are_applied(api: AsgiApi) -> None:
    await api.ok("POST", f"{NS}/configmaps", {"metadata": {"name": "c"}})
    wrong = body("v1", "DeleteOptions", m(2, s(1, "not-the-uid")))
    code, st = await api.call("DELETE", f"{NS}/configmaps/c", wrong, content_type=PROTOBUF)
    assert code == 409, st  # preconditions.uid was read
    orphan = body("v1", "DeleteOptions", s(4, "Orphan"), i(1, 0))
    out = await api.ok("DELETE", f"{NS}/configmaps/c", orphan, content_type=PROTOBUF)
    assert out["metadata"]["finalizers"] == ["orphan"]


async def test_an_unknown_field_is_dropped_with_a_warning(api: AsgiApi) -> None:
    proto = body("v1", "ConfigMap", meta("c"), i(99, 7))
    status, headers, out = await asgi_request(
        api.app, "POST", f"{NS}/configmaps", proto, [(b"content-type", PROTOBUF.encode())])
    assert status == 201, out
    warnings = [v.decode() for k, v in headers if k == b"warning"]
    assert any("unknown field number 99" in w for w in warnings), warnings
    got = orjson.loads(out)
    assert set(got) == {"apiVersion", "kind", "metadata"}, got  # field 99 left no trace


async def test_a_big_body_is_decoded_off_the_event_loop(api: AsgiApi) -> None:
    data = b"".join(entry(2, f"k{n}", s(2, "v" * 50)) for n in range(400))
    code, got = await api.call("POST", f"{NS}/configmaps", body("v1", "ConfigMap", meta("big"),
                                                                data), content_type=PROTOBUF)
    assert code == 201, got
    assert len(got["data"]) == 400


async def test_the_reply_to_a_protobuf_request_is_json(api: AsgiApi) -> None:
    status, headers, out = await asgi_request(
        api.app, "POST", f"{NS}/configmaps", body("v1", "ConfigMap", meta("c")),
        [(b"content-type", PROTOBUF.encode()),
         (b"accept", f"{PROTOBUF}, application/json".encode())])  # what kubectl sends
    assert status == 201
    assert dict(headers)[b"content-type"] == b"application/json"
    assert orjson.loads(out)["kind"] == "ConfigMap"


def test_go_durations_are_written_as_go_writes_them() -> None:
    cases = {0: "0s", 1: "1ns", 1500: "1.5µs", 150_000_000: "150ms", 1_000_000_000: "1s",
             90 * 10**9: "1m30s", 3600 * 10**9: "1h0m0s", 3723_500_000_000: "1h2m3.5s",
             -2 * 10**9: "-2s"}
    assert {ns: protobody.go_duration(ns) for ns in cases} == cases


def test_every_table_reference_resolves_and_every_served_kind_has_a_table() -> None:
    from jetkube.schemas.registry import BINDING, SCALE, all_resources

    assert list(protobody.unreferenced()) == []
    for rt in (*all_resources(), BINDING, SCALE):
        assert protobody.KINDS[(rt.api_version, rt.kind)] in protobody.tables(), rt.kind
