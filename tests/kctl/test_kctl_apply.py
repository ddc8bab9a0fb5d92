"""kctl apply/create/replace: client-side apply with last-applied + three-way merge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kctl_fakeapi import FakeApi, Kctl

from jetkube.cli.merge import LAST_APPLIED

DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports: [{containerPort: 80}]
"""


def server_defaults(plural: str, obj: dict[str, Any]) -> None:
    """Like a real API server: fill in fields nobody asked for."""
    if plural == "deployments":
        spec = obj["spec"]
        spec.setdefault("strategy", {"type": "RollingUpdate"})
        for c in spec["template"]["spec"]["containers"]:
            c.setdefault("imagePullPolicy", "IfNotPresent")
            c.setdefault("terminationMessagePath", "/dev/termination-log")
            for p in c.get("ports", []):
                p.setdefault("protocol", "TCP")
    obj["status"] = {"observedGeneration": 1}


def write(tmp_path: Path, text: str, name: str = "deploy.yaml") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_apply_creates_then_is_unchanged_then_configured(api: FakeApi, kctl: Kctl,
                                                          tmp_path: Path) -> None:
    api.defaults = server_defaults
    f = write(tmp_path, DEPLOY)
    code, out, err = kctl("apply", "-f", f)
    assert (code, out.strip()) == (0, "deployment.apps/web created"), err
    live = api.get("deployments", "default", "web")
    assert live is not None
    recorded = json.loads(live["metadata"]["annotations"][LAST_APPLIED])
    assert recorded["spec"]["replicas"] == 2 and LAST_APPLIED not in json.dumps(
        recorded["metadata"])

    # server-defaulted fields (inside the containers list, too) do not make a diff
    code, out, _ = kctl("apply", "-f", f)
    assert out.strip() == "deployment.apps/web unchanged"
    assert not api.sent("PATCH")

    write(tmp_path, DEPLOY.replace("replicas: 2", "replicas: 5"))
    code, out, _ = kctl("apply", "-f", f)
    assert out.strip() == "deployment.apps/web configured"
    patch = api.body(api.sent("PATCH")[-1])
    assert patch["spec"] == {"replicas": 5}
    assert set(patch["metadata"]) == {"annotations"}
    live = api.get("deployments", "default", "web")
    assert live is not None and live["spec"]["replicas"] == 5
    assert live["spec"]["strategy"] == {"type": "RollingUpdate"}  # others' fields stay


def test_apply_removes_what_was_dropped_from_the_file_only(api: FakeApi, kctl: Kctl,
                                                            tmp_path: Path) -> None:
    api.defaults = server_defaults
    f = write(tmp_path, DEPLOY)
    kctl("apply", "-f", f)
    # someone else labels the live object
    live = api.get("deployments", "default", "web")
    assert live is not None
    live["metadata"]["labels"]["owner"] = "ops"
    write(tmp_path, DEPLOY.replace(", tier: front", ""))
    _, out, _ = kctl("apply", "-f", f)
    assert out.strip() == "deployment.apps/web configured"
    patch = api.body(api.sent("PATCH")[-1])
    assert patch["metadata"]["labels"] == {"tier": None}
    live = api.get("deployments", "default", "web")
    assert live is not None and live["metadata"]["labels"] == {"app": "web", "owner": "ops"}


def test_apply_changes_a_container_image_keeping_server_defaults(
        api: FakeApi, kctl: Kctl, tmp_path: Path) -> None:
    api.defaults = server_defaults
    f = write(tmp_path, DEPLOY)
    kctl("apply", "-f", f)
    write(tmp_path, DEPLOY.replace("nginx:1.25", "nginx:1.27"))
    _, out, _ = kctl("apply", "-f", f)
    assert out.strip() == "deployment.apps/web configured"
    live = api.get("deployments", "default", "web")
    assert live is not None
    c = live["spec"]["template"]["spec"]["containers"][0]
    assert c["image"] == "nginx:1.27" and c["imagePullPolicy"] == "IfNotPresent"


def test_apply_multi_document_list_and_directory(api: FakeApi, kctl: Kctl,
                                                 tmp_path: Path) -> None:
    d = tmp_path / "manifests"
    (d / "sub").mkdir(parents=True)
    (d / "a.yaml").write_text("""\
apiVersion: v1
kind: ConfigMap
metadata: {name: one}
data: {k: v}
---
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: Service, metadata: {name: svc}, spec: {ports: [{port: 80}]}}
- {apiVersion: v1, kind: Namespace, metadata: {name: team}}
""")
    (d / "notes.txt").write_text("not a manifest")
    (d / "sub" / "b.json").write_text(json.dumps(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}}))
    code, out, err = kctl("apply", "-f", str(d))
    assert code == 0, err
    assert out.splitlines() == ["configmap/one created", "service/svc created",
                                "namespace/team created"]
    _, out, _ = kctl("apply", "-R", "-f", str(d))
    assert out.splitlines()[-1] == "configmap/two created"
    assert api.get("namespaces", "", "team") is not None  # cluster-scoped: no namespace


def test_apply_from_stdin_into_the_flag_namespace(api: FakeApi, kctl: Kctl) -> None:
    code, out, _ = kctl("apply", "-n", "prod", "-f", "-",
                        stdin="apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
    assert (code, out.strip()) == (0, "configmap/c created")
    assert api.get("configmaps", "prod", "c") is not None


def test_apply_rejects_a_namespace_mismatch(api: FakeApi, kctl: Kctl, tmp_path: Path) -> None:
    f = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: a}\n")
    code, _, err = kctl("apply", "-n", "b", "-f", f)
    assert code == 1
    assert 'the namespace from the provided object "a" does not match the namespace "b"' in err


def test_bad_yaml_names_the_file_and_line(api: FakeApi, kctl: Kctl, tmp_path: Path) -> None:
    f = write(tmp_path, "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n bad: [\n", "bad.yaml")
    code, out, err = kctl("apply", "-f", f)
    assert code == 1 and out == ""
    assert err.startswith(f"error: error parsing {f}: ") and "line 5" in err
    assert "Traceback" not in err


def test_unknown_kind_in_a_manifest(api: FakeApi, kctl: Kctl, tmp_path: Path) -> None:
    f = write(tmp_path, "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n")
    code, _, err = kctl("apply", "-f", f)
    assert code == 1 and 'no matches for kind "Gadget" in version "example.com/v1"' in err


def test_server_rejection_is_reported_and_others_still_go(api: FakeApi, kctl: Kctl,
                                                          tmp_path: Path) -> None:
    kctl("create", "configmap", "dup")
    f = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\n---\n"
                        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh}\n")
    code, out, err = kctl("create", "-f", f)
    assert code == 1
    assert out.strip() == "configmap/fresh created"
    assert err.strip() == (f'Error from server (AlreadyExists): error when creating "{f}": '
                           'configmaps "dup" already exists')


def test_replace_puts_the_object_at_its_current_version(api: FakeApi, kctl: Kctl,
                                                        tmp_path: Path) -> None:
    kctl("create", "configmap", "c", "--from-literal", "a=1")
    f = write(tmp_path, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {b: '2'}\n")
    code, out, err = kctl("replace", "-f", f)
    assert (code, out.strip()) == (0, "configmap/c replaced"), err
    live = api.get("configmaps", "default", "c")
    assert live is not None and live["data"] == {"b": "2"}
