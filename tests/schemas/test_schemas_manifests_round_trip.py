"""Manifests in the spirit of kubernetes.io's examples load unchanged (the
canonical form only adds defaults) and round-trip through JSON idempotently."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from jetkube.schemas import by_kind, load_object

MANIFESTS = Path(__file__).parent.parent / "manifests"


def _docs() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for i, doc in enumerate(yaml.safe_load_all(path.read_text())):
            if doc:
                out.append((f"{path.stem}[{i}]:{doc['kind']}", doc))
    return out


DOCS = _docs()


def assert_subset(given: Any, canonical: Any, path: str = "") -> None:
    """Everything the user wrote is in the canonical form, unchanged."""
    if isinstance(given, dict):
        assert isinstance(canonical, dict), path
        for k, v in given.items():
            if v is None:  # null means unset, as in Kubernetes
                continue
            assert k in canonical, f"{path}.{k} dropped"
            assert_subset(v, canonical[k], f"{path}.{k}")
    elif isinstance(given, list):
        assert isinstance(canonical, list) and len(given) == len(canonical), path
        for i, (a, b) in enumerate(zip(given, canonical, strict=True)):
            assert_subset(a, b, f"{path}[{i}]")
    else:
        assert given == canonical and type(given) is type(canonical), (path, given, canonical)


def test_there_are_manifests_of_every_promised_kind() -> None:
    kinds = {doc["kind"] for _, doc in DOCS}
    assert {"Deployment", "Pod", "Service", "Job", "DaemonSet", "ConfigMap", "Secret", "Role",
            "RoleBinding", "ResourceQuota"} <= kinds


@pytest.mark.parametrize(("name", "doc"), DOCS, ids=[n for n, _ in DOCS])
def test_manifest_loads_unchanged_and_round_trips(name: str, doc: dict[str, Any]) -> None:
    rt = by_kind(doc["apiVersion"], doc["kind"])
    assert rt is not None, name
    before = orjson.dumps(doc)
    out = load_object(rt, doc)
    assert orjson.dumps(doc) == before, "load_object must not mutate its input"
    assert_subset(doc, out)
    again = load_object(rt, orjson.loads(orjson.dumps(out)))
    assert again == out
    assert list(out)[:2] == ["apiVersion", "kind"]


def test_user_given_empty_collections_are_kept_and_absent_ones_stay_absent() -> None:
    rt = by_kind("rbac.authorization.k8s.io/v1", "ClusterRole")
    assert rt is not None
    out = load_object(rt, {"metadata": {"name": "agg"}, "rules": []})
    assert out["rules"] == []
    assert "aggregationRule" not in out and "labels" not in out["metadata"]


def test_typical_deployment_canonical_form_matches_kubernetes() -> None:
    doc = next(d for n, d in DOCS if n.startswith("nginx-deployment"))
    rt = by_kind("apps/v1", "Deployment")
    assert rt is not None
    out = load_object(rt, doc)
    spec = out["spec"]
    assert spec["strategy"] == {"type": "RollingUpdate",
                                "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10 and spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["spec"] == {
        "containers": [{
            "name": "nginx", "image": "nginx:1.14.2",
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "resources": {},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File",
            "imagePullPolicy": "IfNotPresent",
        }],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
        "dnsPolicy": "ClusterFirst", "securityContext": {},
        "schedulerName": "default-scheduler", "enableServiceLinks": True,
    }
