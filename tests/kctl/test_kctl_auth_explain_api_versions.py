"""``kctl auth can-i|whoami``, ``kctl explain`` and ``kctl api-versions`` against the
in-process API server: its self reviews, its OpenAPI v3 and its discovery, printed as
kubectl prints them."""

from __future__ import annotations

import json

from kctl_watching import NOBODY, WatchingCluster, watching_fixture  # noqa: F401 (the fixture)

from jetkube.cli.commands.auth import _resource_group


def test_can_i_answers_yes_or_no_with_the_exit_code(watching: WatchingCluster) -> None:
    assert watching.kctl("auth", "can-i", "create", "deployments") == (0, "yes\n", "")
    assert watching.kctl_as(NOBODY, "auth", "can-i", "list", "pods")[:2] == (1, "no\n")
    assert watching.kctl_as(NOBODY, "auth", "can-i", "list", "pods", "-q") == (1, "", "")
    assert watching.kctl("auth", "can-i", "get", "/healthz")[:2] == (0, "yes\n")
    code, out, err = watching.kctl("auth", "can-i", "get", "widgets")
    assert (code, out, err) == (0, "yes\n", "Warning: the server doesn't have a resource type "
                                            "'widgets'\n\n")
    code, out, err = watching.kctl("auth", "can-i", "list", "nodes", "-n", "default")
    assert (code, err) == (0, "Warning: resource 'nodes' is not namespace scoped\n\n")


def test_can_i_list_prints_kubectls_table_in_its_order(watching: WatchingCluster) -> None:
    code, out, _ = watching.kctl_as(NOBODY, "auth", "can-i", "--list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names",
                                "Verbs"]
    rows = [line.split() for line in lines[1:]]
    assert ["selfsubjectaccessreviews.authorization.k8s.io", "[]", "[]", "[create]"] in rows
    verbs = [r[-1] for r in rows]
    assert verbs == sorted(verbs, key=lambda v: v.strip("[]"))  # sorted by Verbs first
    code, out, _ = watching.kctl("auth", "can-i", "--list", "--no-headers")
    assert out.splitlines()[0].split() == ["*.*", "[]", "[]", "[*]"]


def test_subresources_are_named_as_kubectl_combines_them() -> None:
    assert _resource_group("deployments/scale", "apps") == "deployments.apps/scale"
    assert _resource_group("pods/log", "") == "pods/log"
    assert _resource_group("*", "*") == "*.*"


def test_whoami_is_a_self_subject_review(watching: WatchingCluster) -> None:
    assert watching.kctl("auth", "whoami") == (
        0, "ATTRIBUTE   VALUE\nUsername    admin\nUID         admin\n"
           "Groups      [system:masters system:authenticated]\n", "")
    _, out, _ = watching.kctl_as(NOBODY, "auth", "whoami", "-o", "json")
    review = json.loads(out)
    assert review["kind"] == "SelfSubjectReview"
    assert review["status"]["userInfo"]["username"] == "nobody"


def test_api_versions_lists_every_group_version_sorted(watching: WatchingCluster) -> None:
    code, out, _ = watching.kctl("api-versions")
    versions = out.splitlines()
    assert code == 0 and versions == sorted(versions)
    assert {"v1", "apps/v1", "authorization.k8s.io/v1", "metrics.k8s.io/v1beta1"} <= set(versions)


def test_explain_prints_a_field_with_its_enum_and_description(watching: WatchingCluster) -> None:
    code, out, _ = watching.kctl("explain", "pods.spec.restartPolicy")
    assert code == 0
    assert out.startswith("KIND:       Pod\nVERSION:    v1\n\nFIELD: restartPolicy <string>\n"
                          "ENUM:\n    Always\n    OnFailure\n    Never\n\nDESCRIPTION:\n    ")
    assert out.endswith("\n    \n\n")


def test_explain_lists_the_fields_of_a_type(watching: WatchingCluster) -> None:
    code, out, _ = watching.kctl("explain", "deploy")
    assert code == 0
    assert out.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n\n"
                          "DESCRIPTION:\n")
    assert "\nFIELDS:\n  apiVersion\t<string>\n" in out
    assert "\n  spec\t<DeploymentSpec> -required-\n" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    code, out, _ = watching.kctl("explain", "pod.spec.containers")
    assert "FIELD: containers <[]Container>\n\n\nDESCRIPTION:" in out
    assert "\n  imagePullPolicy\t<string>\n  enum: Always, Never, IfNotPresent\n" in out
    code, out, _ = watching.kctl("explain", "pods.metadata")
    assert "\n  creationTimestamp\t<string>\n" in out  # a reference to a string is a string
    code, out, _ = watching.kctl("explain", "pods", "--recursive")
    assert "\n  metadata\t<ObjectMeta>\n    annotations\t<map[string]string>\n" in out


def test_explain_names_a_missing_field_or_type(watching: WatchingCluster) -> None:
    assert watching.kctl("explain", "pods.spec.nope") == (
        1, "", 'error: field "nope" does not exist\n')
    assert watching.kctl("explain", "gizmos") == (
        1, "", 'error: the server doesn\'t have a resource type "gizmos"\n')
