"""One QoS class computation (qos.GetPodQOS, cpu and memory): the schemas'
``qos_class`` takes a PodSpec model or its canonical dict, and the kubelet's
status uses it."""

from __future__ import annotations

from typing import Any

import pytest

from jetkube.schemas import qos_class
from jetkube.schemas.pod import PodSpec
from jetkube.services.kubelet.podstatus import build_status


def _spec(*resources: dict[str, Any] | None, init: dict[str, Any] | None = None) -> dict[str, Any]:
    def c(name: str, res: dict[str, Any] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": name, "image": "busybox"}
        if res is not None:
            out["resources"] = res
        return out
    spec: dict[str, Any] = {"containers": [c(f"c{i}", r) for i, r in enumerate(resources)]}
    if init is not None:
        spec["initContainers"] = [c("init", init)]
    return spec


GUARANTEED = {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


@pytest.mark.parametrize(("spec", "qos"), [
    (_spec(None), "BestEffort"),
    (_spec({"requests": {"cpu": "0"}}), "BestEffort"),
    (_spec({"requests": {"cpu": "100m"}}), "Burstable"),
    (_spec({"requests": {"ephemeral-storage": "1Gi"}}), "BestEffort"),
    (_spec(GUARANTEED), "Guaranteed"),
    (_spec({"requests": {"cpu": "1000m", "memory": "1024Mi"},
            "limits": {"cpu": "1", "memory": "1Gi"}}), "Guaranteed"),
    (_spec(GUARANTEED, None), "Burstable"),
    (_spec(GUARANTEED, init={"requests": {"cpu": "1"}}), "Burstable"),
    (_spec({"requests": {"cpu": "500m", "memory": "1Gi"},
            "limits": {"cpu": "1", "memory": "1Gi"}}), "Burstable"),
])
def test_the_model_and_the_dict_give_one_answer(spec: dict[str, Any], qos: str) -> None:
    assert qos_class(spec) == qos
    assert qos_class(PodSpec.model_validate(spec)) == qos


def test_the_kubelet_records_it() -> None:
    pod = {"metadata": {"name": "p", "namespace": "default"}, "spec": _spec(GUARANTEED)}
    status = build_status(pod, None, None, [], [], runtime="sim", host_ip="10.0.0.1",
                          start_time="2024-01-01T00:00:00Z", now="2024-01-01T00:00:00Z")
    assert status["qosClass"] == "Guaranteed"
