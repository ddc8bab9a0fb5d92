"""kctl expose's errors, as kubectl words them: no selector (matchExpressions, a pod
without labels, a service without a selector), no port, unsupported kinds, a missing
object, a name that is taken."""

from __future__ import annotations

from kctl_localcluster import APPS, NS, LocalCluster, deployment, pod


def test_match_expressions_cannot_be_converted(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment(
        ports=[{"containerPort": 80}],
        selector={"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe"]}]}))
    code, out, err = cluster.kctl("expose", "deployment", "web")
    assert code == 1 and out == ""
    first = err.splitlines()[0]
    assert first == ("error: couldn't retrieve selectors via --selector flag or introspection: "
                     "couldn't convert expressions - [{Key:tier Operator:In Values:[fe]}] to "
                     "map-based selector format")
    assert "See 'kctl expose -h'" in err
    # an explicit --selector needs no conversion
    code, _, err = cluster.kctl("expose", "deployment", "web", "--selector", "app=web")
    assert code == 0, err


def test_pod_without_labels_and_service_without_selector(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{NS}/pods", pod("bare", None, [{"containerPort": 80}]))
    code, _, err = cluster.kctl("expose", "pod", "bare")
    assert code == 1
    assert err.startswith("error: couldn't retrieve selectors via --selector flag or "
                          "introspection: the pod has no labels and cannot be exposed")
    cluster.ok("POST", f"{NS}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
        "spec": {"ports": [{"port": 80}]}})
    code, _, err = cluster.kctl("expose", "service", "ext", "--name", "ext2")
    assert code == 1 and "the service has no pod selector set" in err


def test_no_port_known_is_an_error(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment())
    code, out, err = cluster.kctl("expose", "deployment", "web")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == "error: couldn't find port via --port flag or introspection"
    assert cluster.get(f"{NS}/services/web") is None


def test_bad_flags_and_kinds(cluster: LocalCluster) -> None:
    cluster.ok("POST", f"{APPS}/deployments", deployment(ports=[{"containerPort": 80}]))
    code, _, err = cluster.kctl("expose", "deployment", "web", "--port", "http")
    assert code == 1 and 'invalid argument "http" for "--port" flag' in err
    code, _, err = cluster.kctl("expose", "deployment", "web", "-l", "nolabel")
    assert code == 1 and err.strip() == "error: invalid label spec: nolabel"
    code, _, err = cluster.kctl("expose", "namespace", "default")
    assert code == 1 and err.strip() == "error: cannot expose a Namespace"
    code, _, err = cluster.kctl("expose", "deployment")
    assert code == 1 and "no name was specified" in err
    code, _, err = cluster.kctl("expose", "deployment", "web", "--type", "Bogus")
    assert code != 0 and "invalid choice" in err


def test_missing_object_and_taken_name_are_server_errors(cluster: LocalCluster) -> None:
    code, _, err = cluster.kctl("expose", "deployment", "nope", "--port", "80")
    assert code == 1
    assert err.strip() == 'Error from server (NotFound): deployments.apps "nope" not found'
    cluster.ok("POST", f"{APPS}/deployments", deployment(ports=[{"containerPort": 80}]))
    assert cluster.kctl("expose", "deployment", "web")[0] == 0
    code, _, err = cluster.kctl("expose", "deployment", "web")
    assert code == 1
    assert err.strip() == 'Error from server (AlreadyExists): services "web" already exists'
