"""pvc-protection's pod index (run for every pod event): a scheduled, unfinished pod is
indexed under each claim it names; a pod without volumes, unscheduled or finished, under none."""

from __future__ import annotations

from typing import Any

from jetkube.services.controllers.pvcprotection import _claim_index, uses_claims


def pod(node: str = "", phase: str = "Running", volumes: list[Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "busybox"}]}
    if node:
        spec["nodeName"] = node
    if volumes is not None:
        spec["volumes"] = volumes
    return {"metadata": {"name": "web-0", "namespace": "ns"}, "spec": spec,
            "status": {"phase": phase}}


CLAIMED = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-web-0"}},
           {"name": "scratch", "ephemeral": {"volumeClaimTemplate": {}}},
           {"name": "token", "projected": {"sources": []}}]


def test_a_scheduled_pod_is_indexed_under_each_claim_it_names() -> None:
    assert list(_claim_index(pod("n1", volumes=CLAIMED))) == ["ns/data-web-0",
                                                              "ns/web-0-scratch"]


def test_pods_that_hold_no_claim_are_not_indexed() -> None:
    assert list(_claim_index(pod("n1"))) == []
    assert list(_claim_index(pod("n1", volumes=[CLAIMED[2]]))) == []
    assert list(_claim_index(pod("", volumes=CLAIMED))) == []
    assert list(_claim_index(pod("n1", phase="Succeeded", volumes=CLAIMED))) == []
    assert list(uses_claims(pod("n1", volumes=[]))) == []
