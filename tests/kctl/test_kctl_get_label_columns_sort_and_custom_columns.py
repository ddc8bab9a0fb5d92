"""``kctl get -L``, ``--sort-by``, ``-o custom-columns`` and kubectl's JSONPath (filters,
slices, unions, recursive descent) against the in-process API server."""

from __future__ import annotations

import pytest
from kctl_localcluster import NS, LocalCluster, pod

from jetkube.cli.commands.get import sort_by
from jetkube.cli.errors import CliError
from jetkube.cli.jsonpath import evaluate, evaluate_json

NODE = {"status": {"conditions": [{"type": "MemoryPressure", "status": "False"},
                                  {"type": "Ready", "status": "True", "n": 3}],
                   "addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                                 {"type": "Hostname", "address": "n1"}]},
        "items": [1, 2, 3, 4, 5],
        "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
        "pods": [{"metadata": {"labels": {"app.kubernetes.io/name": "db"}}, "n": 1},
                 {"metadata": {"labels": {"app.kubernetes.io/name": "web"}}, "n": 2}]}


@pytest.mark.parametrize(("template", "want"), [
    ('{.status.conditions[?(@.type=="Ready")].status}', "True"),
    ("{.status.conditions[?(@.type!='Ready')].type}", "MemoryPressure"),
    ("{.status.conditions[?(@.n>2)].type}", "Ready"),
    ("{.status.conditions[?(@.n)].type}", "Ready"),
    ("{.items[1:3]}", "2 3"),
    ("{.items[-1]}", "5"),
    ("{.items[::2]}", "1 3 5"),
    ("{.items[0,4]}", "1 5"),
    ("{..address}", "10.0.0.1 n1"),
    ("{.status.addresses[*].type}", "InternalIP Hostname"),
    ('{range .status.addresses[*]}{.type}={.address}{"\\n"}{end}',
     "InternalIP=10.0.0.1\nHostname=n1\n"),
    ("{.items[0]},{.items[1]}", "1,2"),
    ("{.status.missing}", ""),
    ("x{.items[0]}y", "x1y"),
    (r"{.metadata.labels.app\.kubernetes\.io/name}", "web"),
    (r'{.pods[?(@.metadata.labels.app\.kubernetes\.io/name=="web")].n}', "2"),
    ("{.metadata.labels['app.kubernetes.io/name']}", "web"),
])
def test_jsonpath_reads_templates_as_kubectl(template: str, want: str) -> None:
    assert evaluate(template, NODE) == want


def test_jsonpath_as_json_and_a_bad_template() -> None:
    assert evaluate_json("{.items[0:2]}", NODE) == "[\n    1,\n    2\n]"
    with pytest.raises(CliError):
        evaluate("{.items[?(@.x ~~ 1)]}", NODE)


def seed(c: LocalCluster) -> None:
    for name, tier, n in (("b", "web", "2"), ("a", "db", "10"), ("c", None, "1")):
        labels = {"app.kubernetes.io/name": name, "n": n}
        if tier:
            labels["tier"] = tier
        c.ok("POST", f"{NS}/pods", pod(name, labels))


def test_label_columns_are_named_after_the_keys_last_segment(cluster: LocalCluster) -> None:
    seed(cluster)
    code, out, _ = cluster.kctl("get", "pods", "-L", "tier", "-L", "app.kubernetes.io/name,x",
                                "--sort-by=.metadata.name")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "TIER", "NAME",
                                "X"]
    assert [line.split()[0] for line in lines[1:]] == ["a", "b", "c"]
    assert lines[1].split()[-2:] == ["db", "a"]
    assert lines[3].split()[-1] == "c"  # no tier label: an empty cell
    # the empty last cell (no label x) keeps the column before it padded, as kubectl's
    # tabwriter does: every row ends in the NAME column's padding
    name_col = lines[0].index(" NAME ") + 1
    x_col = lines[0].index("X", name_col)
    assert all(len(line) == x_col for line in lines[1:]), [len(line) for line in lines]


def test_sort_by_and_custom_columns(cluster: LocalCluster) -> None:
    seed(cluster)
    code, out, _ = cluster.kctl("get", "pods", "--sort-by={.metadata.labels.tier}",
                                "-o", "custom-columns=NAME:.metadata.name,TIER:.metadata.labels"
                                ".tier,IMAGES:.spec.containers[*].image")
    assert (code, out) == (0, "NAME   TIER     IMAGES\n"
                              "c      <none>   nginx:1.25\n"
                              "a      db       nginx:1.25\n"
                              "b      web      nginx:1.25\n")
    code, out, _ = cluster.kctl("get", "pods", "--sort-by=.metadata.name", "--no-headers",
                                "-o", "custom-columns=N:.metadata.name")
    assert out == "a\nb\nc\n"
    code, _, err = cluster.kctl("get", "pods", "--sort-by=.foo", "-o", "name")
    assert (code, err) == (1, 'error: couldn\'t find any field with path "{.foo}" in the '
                              "list of objects\n")


def test_get_filters_conditions_with_jsonpath(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{NS}/pods", pod("p", {"a": "b"}))
    obj = cluster.ok("GET", f"{NS}/pods/p")
    obj["status"] = {"conditions": [{"type": "Ready", "status": "False"},
                                    {"type": "Scheduled", "status": "True"}]}
    cluster.ok("PUT", f"{NS}/pods/p/status", obj)
    assert cluster.kctl("get", "pods", "-o",
                        'jsonpath={.items[0].status.conditions[?(@.type=="Ready")].status}'
                        )[1] == "False\n"


def test_sort_by_compares_quantities_and_numbers_as_kubectl() -> None:
    objs = [{"n": "b", "r": "1Gi"}, {"n": "a", "r": "100Mi"}, {"n": "none"},
            {"n": "d", "r": "2"}, {"n": "e", "r": "250m"}]
    assert [o["n"] for o in sort_by(objs, ".r")] == ["none", "e", "d", "a", "b"]
    assert [o["r"] for o in sort_by([{"r": 10}, {"r": 9}, {"r": 100}], "{.r}")] == [9, 10, 100]
    assert [o["r"] for o in sort_by([{"r": "web-b"}, {"r": "web-a"}], ".r")] == [
        "web-a", "web-b"]
