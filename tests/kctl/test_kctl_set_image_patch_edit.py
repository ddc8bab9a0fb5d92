"""``kctl set image``, ``kctl patch`` and ``kctl edit`` against the in-process API server,
with kubectl's output for each outcome."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import pytest
from kctl_localcluster import APPS, NS, LocalCluster, deployment, pod


def image_of(c: LocalCluster, name: str = "web") -> str:
    obj = c.get(f"{APPS}/deployments/{name}")
    assert obj is not None
    return str(obj["spec"]["template"]["spec"]["containers"][0]["image"])


def test_set_image_updates_the_named_container_or_all_of_them(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    assert cluster.kctl("set", "image", "deploy/web", "web=nginx:1.26") == (
        0, "deployment.apps/web image updated\n", "")
    assert image_of(cluster) == "nginx:1.26"
    # the same image again: nothing sent, nothing printed (kubectl)
    assert cluster.kctl("set", "image", "deployment", "web", "web=nginx:1.26") == (0, "", "")
    assert cluster.kctl("set", "image", "deployments/web", "*=nginx:1.27")[1] == (
        "deployment.apps/web image updated\n")
    assert image_of(cluster) == "nginx:1.27"
    cluster.ok("POST", f"{NS}/pods", pod("p", {"app": "x"}))
    assert cluster.kctl("set", "image", "pod/p", "web=busybox")[:2] == (
        0, "pod/p image updated\n")


def test_set_image_names_a_missing_container_and_object(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    assert cluster.kctl("set", "image", "deploy/web", "nope=x") == (
        1, "", 'error: unable to find container named "nope"\n')
    code, _, err = cluster.kctl("set", "image", "deploy/ghost", "web=x")
    assert (code, err) == (1, 'Error from server (NotFound): deployments.apps "ghost" not '
                              "found\n")
    assert image_of(cluster) == "nginx:1.25"


def test_patch_types_and_no_change(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    assert cluster.kctl("patch", "deploy", "web", "-p", "spec: {replicas: 3}") == (
        0, "deployment.apps/web patched\n", "")
    assert cluster.kctl("patch", "deploy/web", "-p", '{"spec":{"replicas":3}}') == (
        0, "deployment.apps/web patched (no change)\n", "")
    # strategic (the default): containers merge by name, the image changes in place
    cluster.kctl("patch", "deploy/web", "-p",
                 '{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"a:1"}]}}}}')
    assert image_of(cluster) == "a:1"
    assert cluster.kctl("patch", "deploy/web", "--type", "json", "-p",
                        '[{"op":"replace","path":"/spec/replicas","value":1}]')[:2] == (
        0, "deployment.apps/web patched\n")
    assert cluster.kctl("patch", "deploy/web", "--type=merge", "-p",
                        '{"metadata":{"labels":{"x":"y"}}}')[:2] == (
        0, "deployment.apps/web patched\n")
    obj = cluster.get(f"{APPS}/deployments/web")
    assert obj is not None and obj["spec"]["replicas"] == 1
    assert obj["metadata"]["labels"] == {"app": "web", "x": "y"}


def test_patch_errors_read_like_kubectl(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    assert cluster.kctl("patch", "deploy", "web") == (
        1, "", "error: must specify --patch or --patch-file containing the contents of the "
               "patch\n")
    assert cluster.kctl("patch", "deploy", "web", "--type", "foo", "-p", "{}") == (
        1, "", 'error: --type must be one of [json merge strategic], not "foo"\n')
    code, _, err = cluster.kctl("patch", "deploy", "web", "--type", "json", "-p", '{"a":1}')
    assert code == 1 and err.startswith("Error from server (BadRequest)")


def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str) -> Path:
    """$KUBE_EDITOR: a script that edits the file it is given with ``code`` (the text is
    ``text``) and records each text it was shown."""
    seen = tmp_path / "seen"
    script = tmp_path / "editor.py"
    script.write_text("import sys\nfrom pathlib import Path\np = Path(sys.argv[1])\n"
                      f"text = p.read_text()\nwith open({str(seen)!r}, 'a') as f:\n"
                      "    f.write(text + '\\0')\n" + code + "\np.write_text(text)\n")
    monkeypatch.setenv("KUBE_EDITOR", f"{sys.executable} {script}")
    return seen


def test_edit_unchanged_is_cancelled(cluster: LocalCluster, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    seen = editor(tmp_path, monkeypatch, "")
    assert cluster.kctl("edit", "deploy/web") == (0, "", "Edit cancelled, no changes made.\n")
    shown = seen.read_text().split("\0")[0]
    assert shown.startswith("# Please edit the object below. Lines beginning with a '#' will "
                            "be ignored,\n")
    assert "kind: Deployment\n" in shown


def test_edit_saves_a_change(cluster: LocalCluster, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    editor(tmp_path, monkeypatch, "text = text.replace('replicas: 1', 'replicas: 4')")
    assert cluster.kctl("edit", "deployment", "web") == (0, "deployment.apps/web edited\n", "")
    obj = cluster.get(f"{APPS}/deployments/web")
    assert obj is not None and obj["spec"]["replicas"] == 4


def test_edit_reopens_an_invalid_change_with_the_error_then_gives_up(
        cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = editor(tmp_path, monkeypatch, "text = text.replace('replicas: 1', 'replicas: -3')")
    code, out, err = cluster.kctl("edit", "deploy/web")
    assert code == 1 and out == ""
    kept = next(tmp_path.glob("kubectl-edit-*.yaml"))
    assert err == ('error: deployments.apps "web" is invalid\n'
                   f'A copy of your changes has been stored to "{kept}"\n'
                   "error: Edit cancelled, no valid changes were saved.\n")
    second = seen.read_text().split("\0")[1]
    assert '# deployments.apps "web" was not valid:\n# * spec.replicas: ' in second
    assert "replicas: -3" in kept.read_text()
    obj = cluster.get(f"{APPS}/deployments/web")
    assert obj is not None and obj["spec"]["replicas"] == 1


def test_edit_of_several_objects_is_one_list(cluster: LocalCluster, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b"):
        cluster.ok("POST", f"{NS}/configmaps", {"metadata": {"name": name}, "data": {"k": "1"}})
    seen = editor(tmp_path, monkeypatch, "text = text.replace('k: \"1\"', 'k: \"2\"')")
    assert cluster.kctl("edit", "cm", "a", "b") == (
        0, "configmap/a edited\nconfigmap/b edited\n", "")
    assert "kind: List\n" in seen.read_text()
    for name in ("a", "b"):
        obj = cluster.get(f"{NS}/configmaps/{name}")
        assert obj is not None and obj["data"] == {"k": "2"}


def test_a_change_made_meanwhile_is_a_conflict_not_overwritten(
        cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jetkube.cli.commands import edit as edit_cmd

    cluster.ok("POST", f"{NS}/configmaps", {"metadata": {"name": "a"}, "data": {"k": "1"}})
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    shown: list[str] = []

    def editor_meanwhile(argv: list[str]) -> int:  # someone else writes while we edit
        path = Path(argv[-1])
        shown.append(path.read_text())
        if len(shown) == 1:
            cluster.wait(cluster.api.ok("PATCH", f"{NS}/configmaps/a", {"data": {"other": "x"}},
                                        content_type="application/merge-patch+json"))
        path.write_text(path.read_text().replace('k: "1"', 'k: "2"'))
        return 0

    monkeypatch.setattr(edit_cmd.subprocess, "call", editor_meanwhile)
    code, _, err = cluster.kctl("edit", "cm/a")
    assert code == 1 and "the object has been modified" in err
    assert "# Operation cannot be fulfilled on configmaps \"a\"" in shown[1]
    obj = cluster.get(f"{NS}/configmaps/a")
    assert obj is not None and obj["data"] == {"k": "1", "other": "x"}


def test_edit_in_json(cluster: LocalCluster, tmp_path: Path,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    cluster.ok("POST", f"{NS}/configmaps", {"metadata": {"name": "a"}, "data": {"k": "1"}})
    seen = editor(tmp_path, monkeypatch, "text = text.replace('\"k\": \"1\"', '\"k\": \"9\"')")
    assert cluster.kctl("edit", "cm/a", "-o", "json") == (0, "configmap/a edited\n", "")
    assert '\n    "kind": "ConfigMap",\n' in seen.read_text()
    obj = cluster.get(f"{NS}/configmaps/a")
    assert obj is not None and obj["data"] == {"k": "9"}
