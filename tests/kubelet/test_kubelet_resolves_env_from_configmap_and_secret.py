"""A container's environment is resolved by the agent: values with $(VAR) expansion,
configMapKeyRef, secretKeyRef, fieldRef, resourceFieldRef and envFrom with a prefix; a
missing ConfigMap holds the container in CreateContainerConfigError until it appears.
configMap and secret volumes are files on the host, rewritten when the object changes."""

from __future__ import annotations

import base64
from pathlib import Path

from ctrlharness import Env

from jetkube.services.kubelet.runtime import ContainerSpec
from jetkube.services.kubelet.testing import TestNode, start_node

NS = "/api/v1/namespaces/default"


def spec_of(node: TestNode, pod: str, container: str = "c") -> ContainerSpec:
    cur = node.worker(pod).states[container].current
    assert cur is not None
    spec = node.runtime.spec_of(cur.id)
    assert spec is not None
    return spec


async def test_env_from_values_objects_fields_and_resources(env: Env, tmp_path: Path) -> None:
    await env.api.ok("POST", f"{NS}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
        "data": {"mode": "fast", "level": "3"}})
    await env.api.ok("POST", f"{NS}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds"},
        "data": {"password": base64.b64encode(b"s3cret").decode()}})
    node = await start_node(env.rt, root_dir=tmp_path)
    await env.api.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app", "labels": {"tier": "web"}},
        "spec": {"nodeName": "node-1", "securityContext": {"runAsUser": 1000},
                 "containers": [{
                     "name": "c", "image": "busybox:1.36", "command": ["run", "$(MODE)"],
                     "resources": {"limits": {"memory": "64Mi", "cpu": "500m"}},
                     "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "CM_"}],
                     "env": [
                         {"name": "MODE", "valueFrom": {"configMapKeyRef": {
                             "name": "settings", "key": "mode"}}},
                         {"name": "GREETING", "value": "mode=$(MODE) $$(MODE)"},
                         {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {
                             "name": "creds", "key": "password"}}},
                         {"name": "MISSING", "valueFrom": {"configMapKeyRef": {
                             "name": "settings", "key": "nope", "optional": True}}},
                         {"name": "POD", "valueFrom": {"fieldRef": {
                             "fieldPath": "metadata.name"}}},
                         {"name": "NS", "valueFrom": {"fieldRef": {
                             "fieldPath": "metadata.namespace"}}},
                         {"name": "UID", "valueFrom": {"fieldRef": {
                             "fieldPath": "metadata.uid"}}},
                         {"name": "TIER", "valueFrom": {"fieldRef": {
                             "fieldPath": "metadata.labels['tier']"}}},
                         {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                         {"name": "NODE", "valueFrom": {"fieldRef": {
                             "fieldPath": "spec.nodeName"}}},
                         {"name": "MEM_MI", "valueFrom": {"resourceFieldRef": {
                             "resource": "limits.memory", "divisor": "1Mi"}}},
                         {"name": "CPU", "valueFrom": {"resourceFieldRef": {
                             "resource": "limits.cpu"}}},
                     ]}]}})
    await env.until(lambda: "Started" in node.reasons("app"))
    spec = spec_of(node, "app")
    w = node.worker("app")
    assert own_env(spec.env) == {
        "CM_mode": "fast", "CM_level": "3", "MODE": "fast", "GREETING": "mode=fast $(MODE)",
        "PASSWORD": "s3cret", "POD": "app", "NS": "default", "UID": w.uid, "TIER": "web",
        "IP": w.sandbox.ip if w.sandbox else "", "NODE": "node-1", "MEM_MI": "64", "CPU": "1"}
    assert spec.command == ["run", "fast"]
    assert spec.run_as_user == 1000
    assert spec.memory_limit_bytes == 64 * 2**20 and spec.cpu_limit_millis == 500
    await node.stop()


def own_env(env: dict[str, str]) -> dict[str, str]:
    """The container's variables without the ``kubernetes`` Service's, which every pod gets
    (test_service_env_vars_name_services_like_kubernetes.py)."""
    return {k: v for k, v in env.items() if not k.startswith("KUBERNETES_")}


async def test_missing_configmap_waits_then_starts_when_it_appears(env: Env,
                                                                   tmp_path: Path) -> None:
    node = await start_node(env.rt, root_dir=tmp_path)
    await env.api.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "waiter"},
        "spec": {"nodeName": "node-1", "containers": [{
            "name": "c", "image": "busybox:1.36",
            "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "late",
                                                                    "key": "x"}}}]}]}})
    await env.until(lambda: "Failed" in node.reasons("waiter"))
    await env.settle()
    await node.shared.status.wait_idle()
    st = (await env.api.ok("GET", f"{NS}/pods/waiter"))["status"]["containerStatuses"][0]
    assert st["state"]["waiting"] == {"reason": "CreateContainerConfigError",
                                      "message": 'configmap "late" not found'}
    await env.api.ok("POST", f"{NS}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"},
        "data": {"x": "42"}})
    await env.until(lambda: "Started" in node.reasons("waiter"))  # no clock needed: watched
    assert own_env(spec_of(node, "waiter").env) == {"X": "42"}
    await node.stop()


async def test_configmap_and_secret_volumes_are_files_kept_current(env: Env,
                                                                   tmp_path: Path) -> None:
    await env.api.ok("POST", f"{NS}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "files"},
        "data": {"a.conf": "one", "b.conf": "two"}})
    await env.api.ok("POST", f"{NS}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "keys"},
        "data": {"key": base64.b64encode(b"k1").decode()}})
    node = await start_node(env.rt, root_dir=tmp_path)
    await env.api.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "vols"},
        "spec": {"nodeName": "node-1",
                 "volumes": [{"name": "conf", "configMap": {"name": "files"}},
                             {"name": "only-a", "configMap": {"name": "files", "items": [
                                 {"key": "a.conf", "path": "sub/a"}]}},
                             {"name": "sec", "secret": {"secretName": "keys",
                                                        "defaultMode": 0o400}},
                             {"name": "scratch", "emptyDir": {}}],
                 "containers": [
                     {"name": "c", "image": "busybox:1.36", "volumeMounts": [
                         {"name": "conf", "mountPath": "/etc/app"},
                         {"name": "only-a", "mountPath": "/etc/a"},
                         {"name": "sec", "mountPath": "/secrets"},
                         {"name": "scratch", "mountPath": "/scratch"}]},
                     {"name": "d", "image": "busybox:1.36", "volumeMounts": [
                         {"name": "scratch", "mountPath": "/data"}]}]}})
    await env.until(lambda: node.reasons("vols").count("Started") == 2)
    mounts = {m.container_path: m for m in spec_of(node, "vols").mounts}
    conf = Path(mounts["/etc/app"].host_path)
    assert mounts["/etc/app"].read_only and not mounts["/scratch"].read_only
    assert conf.is_relative_to(tmp_path)
    assert (conf / "a.conf").read_text() == "one" and (conf / "b.conf").read_text() == "two"
    assert (Path(mounts["/etc/a"].host_path) / "sub" / "a").read_text() == "one"
    sec = Path(mounts["/secrets"].host_path) / "key"
    assert sec.read_bytes() == b"k1" and sec.stat().st_mode & 0o777 == 0o400
    shared = {m.host_path for m in spec_of(node, "vols", "d").mounts}
    assert mounts["/scratch"].host_path in shared  # one emptyDir for both containers

    cm = await env.api.ok("GET", f"{NS}/configmaps/files")
    cm["data"] = {"a.conf": "uno"}
    await env.api.ok("PUT", f"{NS}/configmaps/files", cm)
    await env.until(lambda: (conf / "a.conf").read_text() == "uno")
    await env.until(lambda: not (conf / "b.conf").exists())
    await env.api.ok("DELETE", f"{NS}/pods/vols", query={"gracePeriodSeconds": "0"})
    await env.until(lambda: not node.agent.workers)
    await env.until(lambda: not conf.exists())
    await node.stop()
