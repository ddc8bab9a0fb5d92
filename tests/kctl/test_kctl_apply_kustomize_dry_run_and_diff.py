"""``kctl apply -k`` (kctl's minimal kustomize, names checked against ``kubectl kustomize``
v5.8.1), ``apply --dry-run=client|server``, ``apply -o yaml`` and ``kctl diff`` against
the in-process API server."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
import yaml
from kctl_localcluster import APPS, NS, LocalCluster, deployment

from jetkube.cli.commands.diff import diff_command
from jetkube.cli.errors import CliError
from jetkube.cli.kustomize import build, content_hash

BASE = """\
resources: [deploy.yaml]
configMapGenerator:
- name: settings
  literals: [mode=fast, "greeting=<hi & bye>"]
"""
OVERLAY = """\
resources: [../base]
namespace: shop
namePrefix: dev-
nameSuffix: -v1
commonLabels: {team: a}
labels:
- pairs: {tier: fe}
  includeTemplates: true
commonAnnotations: {note: x}
images:
- name: nginx
  newTag: "1.27"
secretGenerator:
- name: creds
  envs: [app.env]
generatorOptions:
  labels: {gen: "yes"}
"""


def tree(tmp_path: Path) -> Path:
    (tmp_path / "base").mkdir()
    (tmp_path / "overlay").mkdir()
    d = deployment("app")
    spec = d["spec"]["template"]["spec"]
    spec["containers"][0]["envFrom"] = [{"configMapRef": {"name": "settings"}}]
    spec["volumes"] = [{"name": "s", "secret": {"secretName": "creds"}}]
    (tmp_path / "base" / "deploy.yaml").write_text(yaml.safe_dump(d))
    (tmp_path / "base" / "kustomization.yaml").write_text(BASE)
    (tmp_path / "overlay" / "kustomization.yaml").write_text(OVERLAY)
    (tmp_path / "overlay" / "app.env").write_text("K=V\n# a comment\n")
    return tmp_path / "overlay"


def test_the_hash_suffix_is_kustomizes() -> None:
    # kubectl kustomize: a ConfigMap x of a=b is x-4h2mbtbbt6 whatever its name or prefix
    for name in ("x", "p-x"):
        assert content_hash({"kind": "ConfigMap", "metadata": {"name": name},
                             "data": {"a": "b"}}) == "4h2mbtbbt6"
    assert content_hash({"kind": "ConfigMap", "metadata": {"name": "x"},
                         "data": {"a": "c"}}) == "8f2d5hh62d"


def test_an_overlay_builds_what_kubectl_kustomize_builds(tmp_path: Path) -> None:
    objs = [m.obj for m in build(str(tree(tmp_path)))]
    assert [(o["kind"], o["metadata"]["name"]) for o in objs] == [
        ("ConfigMap", "dev-settings-v1-8t49c82fc2"), ("Secret", "dev-creds-v1-796dfdb847"),
        ("Deployment", "dev-app-v1")]
    cm, secret, dep = objs
    assert all(o["metadata"]["namespace"] == "shop" for o in objs)
    assert secret["data"] == {"K": "Vg=="} and secret["type"] == "Opaque"
    assert secret["metadata"]["labels"] == {"gen": "yes", "team": "a", "tier": "fe"}
    assert dep["spec"]["selector"]["matchLabels"] == {"app": "app", "team": "a"}
    tmpl = dep["spec"]["template"]
    assert tmpl["metadata"]["labels"] == {"app": "app", "tier": "fe", "team": "a"}
    assert tmpl["metadata"]["annotations"] == {"note": "x"}
    c = tmpl["spec"]["containers"][0]
    assert c["image"] == "nginx:1.27"
    assert c["envFrom"] == [{"configMapRef": {"name": "dev-settings-v1-8t49c82fc2"}}]
    assert tmpl["spec"]["volumes"][0]["secret"]["secretName"] == "dev-creds-v1-796dfdb847"
    assert cm["data"] == {"mode": "fast", "greeting": "<hi & bye>"}


def test_unsupported_fields_are_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\npatches: []\nreplicas: []\n")
    with pytest.raises(CliError, match="does not support patches, replicas"):
        build(str(tmp_path))
    (tmp_path / "kustomization.yaml").write_text(
        "configMapGenerator:\n- name: x\n  behavior: merge\n")
    with pytest.raises(CliError, match="behavior: create only"):
        build(str(tmp_path))


def test_apply_k_creates_then_leaves_unchanged(cluster: LocalCluster, tmp_path: Path) -> None:
    cluster.ok("POST", "/api/v1/namespaces", {"metadata": {"name": "shop"}})
    overlay = str(tree(tmp_path))
    code, out, err = cluster.kctl("apply", "-k", overlay)
    assert (code, err) == (0, "")
    assert out == ("configmap/dev-settings-v1-8t49c82fc2 created\n"
                   "secret/dev-creds-v1-796dfdb847 created\n"
                   "deployment.apps/dev-app-v1 created\n")
    assert cluster.get("/apis/apps/v1/namespaces/shop/deployments/dev-app-v1") is not None
    assert cluster.kctl("apply", "-k", overlay)[1].count(" unchanged\n") == 3
    assert cluster.kctl("apply", "-k", overlay, "-f", "x.yaml") == (
        1, "", "error: only one of -f or -k can be specified\n")


def manifest(tmp_path: Path, replicas: int) -> str:
    d = deployment()
    d["spec"]["replicas"] = replicas
    f = tmp_path / f"web-{replicas}.yaml"
    f.write_text(yaml.safe_dump(d))
    return str(f)


def test_apply_dry_runs_change_nothing(cluster: LocalCluster, tmp_path: Path) -> None:
    one, three = manifest(tmp_path, 1), manifest(tmp_path, 3)
    assert cluster.kctl("apply", "-f", one, "--dry-run=client")[1] == (
        "deployment.apps/web created (dry run)\n")
    assert cluster.kctl("apply", "-f", one, "--dry-run=server")[1] == (
        "deployment.apps/web created (server dry run)\n")
    assert cluster.get(f"{APPS}/deployments/web") is None
    cluster.kctl("apply", "-f", one)
    code, out, _ = cluster.kctl("apply", "-f", three, "--dry-run=client", "-o", "yaml")
    assert code == 0 and yaml.safe_load(out)["spec"]["replicas"] == 3
    code, out, _ = cluster.kctl("apply", "-f", three, "--dry-run=server", "-o", "json")
    assert code == 0 and '"replicas": 3' in out
    live = cluster.get(f"{APPS}/deployments/web")
    assert live is not None and live["spec"]["replicas"] == 1


def test_apply_o_yaml_prints_the_stored_objects(cluster: LocalCluster, tmp_path: Path) -> None:
    code, out, _ = cluster.kctl("apply", "-f", manifest(tmp_path, 2), "-o", "yaml")
    obj = yaml.safe_load(out)
    assert code == 0 and obj["kind"] == "Deployment" and obj["metadata"]["uid"]


def test_diff_exits_1_on_differences_and_0_without(cluster: LocalCluster, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    assert diff_command("L", "M") == ["diff", "-u", "-N", "L", "M"]
    one, three = manifest(tmp_path, 1), manifest(tmp_path, 3)
    cluster.kctl("apply", "-f", one)
    report = tmp_path / "diff.out"  # diff -u -N itself, its output kept for the test
    monkeypatch.setenv("KUBECTL_EXTERNAL_DIFF", f"sh -c 'diff -u -N \"$0\" \"$1\" >{report}'")
    assert cluster.kctl("diff", "-f", one)[0] == 0
    assert report.read_text() == ""
    assert cluster.kctl("diff", "-f", three)[0] == 1
    out = report.read_text()
    assert "-  replicas: 1\n+  replicas: 3\n" in out
    assert "/apps.v1.Deployment.default.web" in out
    assert "managedFields" not in out
    live = cluster.get(f"{APPS}/deployments/web")
    assert live is not None and live["spec"]["replicas"] == 1


def test_diff_runs_kubectl_external_diff_on_two_dirs(cluster: LocalCluster, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cm = tmp_path / "cm.yaml"
    cm.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: b}\n")
    tool = tmp_path / "mydiff"
    seen = tmp_path / "seen"
    tool.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    f"open({str(seen)!r}, 'w').write(json.dumps([sys.argv[1:], "
                    "[sorted(os.listdir(d)) for d in sys.argv[-2:]]]))\nsys.exit(1)\n")
    tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("KUBECTL_EXTERNAL_DIFF", f"{tool} --flag")
    assert cluster.kctl("diff", "-f", str(cm))[0] == 1
    args, files = json.loads(seen.read_text())
    assert args[0] == "--flag"
    assert Path(args[1]).name.startswith("LIVE-") and Path(args[2]).name.startswith("MERGED-")
    assert files == [[], ["v1.ConfigMap.default.c"]]
    assert not Path(args[1]).exists() and not Path(args[2]).exists()  # cleaned up
    assert cluster.get(f"{NS}/configmaps/c") is None  # a dry run created nothing
