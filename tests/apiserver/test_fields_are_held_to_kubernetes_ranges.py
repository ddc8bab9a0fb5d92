"""Integer fields hold what their Kubernetes Go type holds (int32: replicas, ports, counts,
priority; int64: terminationGracePeriodSeconds, activeDeadlineSeconds, ...), and quantities
stay within what ``resource.Quantity`` keeps (its int64 cap), on every way in: create,
update, each patch type and the scale subresource.  A number outside its type is refused as
kube-apiserver's decoder refuses it (400, ``json: cannot unmarshal number ... of type
int32``), a value outside validation's range as its validation does (422), and nothing is
written either way."""

from __future__ import annotations

import json
import typing
from typing import Any

import pytest
import yaml
from apiharness import PODS, Api, deploy, make_api, pod, rejected
from pydantic import BaseModel

from jetkube.schemas.base import IntOrString
from jetkube.schemas.registry import BINDING, SCALE, all_resources

DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"
JOBS = "/apis/batch/v1/namespaces/default/jobs"
SVCS = "/api/v1/namespaces/default/services"
QUOTAS = "/api/v1/namespaces/default/resourcequotas"
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"



@pytest.fixture
async def api() -> Api:
    return await make_api()


def _int32_refusal(st: dict[str, Any], kind: str, field: str, value: int) -> None:
    assert (f"json: cannot unmarshal number {value} into Go struct field {kind}.{field} "
            "of type int32") in st["message"], st["message"]
    assert st["details"]["causes"][0]["field"] == field


@pytest.mark.parametrize("value", [INT32_MAX + 1, INT64_MAX, INT64_MAX + 1])
async def test_replicas_beyond_int32_are_refused_on_create(api: Api, value: int) -> None:
    st = await rejected(api, "POST", DEPLOYS, deploy("d", value), 400, reason="BadRequest",
                        count_path=DEPLOYS)
    _int32_refusal(st, "Deployment", "spec.replicas", value)
    # past 64 bits the JSON decoder hands over a float: refused as not an integer
    body = json.dumps(deploy("d", 10**30)).encode()  # orjson writes no int past 64 bits
    await rejected(api, "POST", DEPLOYS, body, 400, reason="BadRequest",
                   text="Deployment.spec.replicas", count_path=DEPLOYS)


async def test_replicas_beyond_int32_in_yaml_are_refused(api: Api) -> None:
    body = yaml.safe_dump(deploy("d", INT32_MAX + 1)).encode()
    st = await rejected(api, "POST", DEPLOYS, body, 400, reason="BadRequest",
                        content_type="application/yaml", count_path=DEPLOYS)
    _int32_refusal(st, "Deployment", "spec.replicas", INT32_MAX + 1)
    for value in (10**30, 10**4000):  # past 64 bits: refused by the decoder or the field
        body = yaml.safe_dump(deploy("d", value)).encode()
        await rejected(api, "POST", DEPLOYS, body, 400, reason="BadRequest",
                       content_type="application/yaml", count_path=DEPLOYS)


async def test_int32_max_replicas_is_accepted(api: Api) -> None:
    out = await api.ok("POST", DEPLOYS, deploy("d", INT32_MAX))
    assert out["spec"]["replicas"] == INT32_MAX


async def test_replicas_beyond_int32_are_refused_on_update_and_every_patch(api: Api) -> None:
    d = await api.ok("POST", DEPLOYS, deploy("d", 2))
    big = INT32_MAX + 1
    body = {**d, "spec": {**d["spec"], "replicas": big}}
    st = await rejected(api, "PUT", f"{DEPLOYS}/d", body, 400, reason="BadRequest",
                        count_path=DEPLOYS)
    _int32_refusal(st, "Deployment", "spec.replicas", big)
    for ctype, patch in ((MERGE, {"spec": {"replicas": big}}),
                         (STRATEGIC, {"spec": {"replicas": big}}),
                         (JSON_PATCH, [{"op": "replace", "path": "/spec/replicas",
                                        "value": big}])):
        st = await rejected(api, "PATCH", f"{DEPLOYS}/d", patch, 400, reason="BadRequest",
                            content_type=ctype, count_path=DEPLOYS)
        _int32_refusal(st, "Deployment", "spec.replicas", big)
    assert (await api.ok("GET", f"{DEPLOYS}/d"))["spec"]["replicas"] == 2


@pytest.mark.parametrize("value", [INT32_MAX + 1, INT64_MAX, INT64_MAX + 1])
async def test_scale_subresource_holds_replicas_to_int32(api: Api, value: int) -> None:
    await api.ok("POST", DEPLOYS, deploy("d", 2))
    scale = await api.ok("GET", f"{DEPLOYS}/d/scale")
    st = await rejected(api, "PUT", f"{DEPLOYS}/d/scale",
                        {**scale, "spec": {"replicas": value}}, 400, reason="BadRequest",
                        count_path=DEPLOYS)
    _int32_refusal(st, "Scale", "spec.replicas", value)
    for ctype, patch in ((MERGE, {"spec": {"replicas": value}}),
                         (JSON_PATCH, [{"op": "replace", "path": "/spec/replicas",
                                        "value": value}])):
        st = await rejected(api, "PATCH", f"{DEPLOYS}/d/scale", patch, 400,
                            reason="BadRequest", content_type=ctype, count_path=DEPLOYS)
        _int32_refusal(st, "Scale", "spec.replicas", value)
    assert (await api.ok("GET", f"{DEPLOYS}/d"))["spec"]["replicas"] == 2


async def test_scale_subresource_refuses_negative_and_non_integer_replicas(api: Api) -> None:
    await api.ok("POST", DEPLOYS, deploy("d", 2))
    st = await rejected(api, "PATCH", f"{DEPLOYS}/d/scale", {"spec": {"replicas": -1}}, 422,
                        reason="Invalid", content_type=MERGE, count_path=DEPLOYS)
    assert st["message"] == ('Scale.autoscaling "d" is invalid: spec.replicas: Invalid value: '
                             "-1: must be greater than or equal to 0")
    await rejected(api, "PATCH", f"{DEPLOYS}/d/scale", {"spec": {"replicas": "3"}}, 400,
                   reason="BadRequest", content_type=MERGE, count_path=DEPLOYS,
                   text="spec.replicas")
    out = await api.ok("PATCH", f"{DEPLOYS}/d/scale", {"spec": {"replicas": INT32_MAX}},
                       content_type=MERGE)
    assert out["spec"]["replicas"] == INT32_MAX


@pytest.mark.parametrize(("field", "value", "go_type"), [
    ("terminationGracePeriodSeconds", INT64_MAX + 1, "int64"),
    ("activeDeadlineSeconds", INT64_MAX + 1, "int64"),
    ("priority", 2**40, "int32"),
])
async def test_pod_spec_integers_are_held_to_their_go_types(
        api: Api, field: str, value: int, go_type: str) -> None:
    st = await rejected(api, "POST", PODS, pod("p", **{field: value}), 400, reason="BadRequest")
    assert (f"json: cannot unmarshal number {value} into Go struct field Pod.spec.{field} "
            f"of type {go_type}") in st["message"]


async def test_int64_fields_take_int64_max(api: Api) -> None:
    out = await api.ok("POST", PODS, pod("p", terminationGracePeriodSeconds=INT64_MAX))
    assert out["spec"]["terminationGracePeriodSeconds"] == INT64_MAX
    # activeDeadlineSeconds is an int64 that validation holds to 1..MaxInt32, as Kubernetes
    st = await rejected(api, "POST", PODS, pod("q", activeDeadlineSeconds=INT64_MAX), 422,
                        reason="Invalid")
    assert "must be between 1 and 2147483647, inclusive" in st["message"]


async def test_nested_and_listed_integers_are_held_too(api: Api) -> None:
    body = pod("p")
    body["spec"]["containers"][0]["ports"] = [{"containerPort": 2**32}]
    await rejected(api, "POST", PODS, body, 400, reason="BadRequest",
                   text="spec.containers[0].ports[0].containerPort of type int32")
    body = pod("p")
    body["spec"]["securityContext"] = {"supplementalGroups": [1, 2**63]}
    await rejected(api, "POST", PODS, body, 400, reason="BadRequest",
                   text="spec.securityContext.supplementalGroups[1]")
    body = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, "targetPort": 2**40}]}}
    await rejected(api, "POST", SVCS, body, 400, reason="BadRequest",
                   text="spec.ports[0].targetPort", count_path=SVCS)
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
           "spec": {"parallelism": 2**31, "template": {"spec": {
               "restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}}}
    await rejected(api, "POST", JOBS, job, 400, reason="BadRequest",
                   text="Job.spec.parallelism of type int32", count_path=JOBS)


@pytest.mark.parametrize("quantity", ["1e1000", "9999999999999999999999Ei", "9223372036854775808",
                                      "-1e19", "10E"])
async def test_quantities_beyond_int64_are_invalid(api: Api, quantity: str) -> None:
    body = pod("p")
    body["spec"]["containers"][0]["resources"] = {"limits": {"memory": quantity}}
    st = await rejected(api, "POST", PODS, body, 422, reason="Invalid")
    cause = st["details"]["causes"][0]
    assert cause["field"] == "spec.containers[0].resources.limits[memory]"
    bound = "greater than or equal to -" if quantity.startswith("-") else "less than or equal to "
    assert cause["message"] == (f'Invalid value: "{quantity}": must be {bound}'
                                "9223372036854775807"), cause
    quota = {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
             "spec": {"hard": {"requests.cpu": quantity}}}
    await rejected(api, "POST", QUOTAS, quota, 422, reason="Invalid", text="spec.hard",
                   count_path=QUOTAS)


async def test_quantity_exponent_beyond_int32_is_refused_without_computing_it(api: Api) -> None:
    for q in ("1e99999999999999999999", "1e-99999999999999999999", "1e" + "9" * 5000):
        body = pod("p")
        body["spec"]["containers"][0]["resources"] = {"requests": {"cpu": q}}
        await rejected(api, "POST", PODS, body, 400, reason="BadRequest",
                       text="unable to parse quantity's suffix")


async def test_the_largest_quantity_is_accepted(api: Api) -> None:
    body = pod("p")
    body["spec"]["containers"][0]["resources"] = {"limits": {"memory": "9223372036854775807"}}
    await api.ok("POST", PODS, body)
    body = pod("q")
    body["spec"]["containers"][0]["resources"] = {"limits": {"memory": "7Ei"}}
    await api.ok("POST", PODS, body)


_INT_OR_STRING_CHECKS = typing.get_args(IntOrString)[1:]


def _unbounded_ints(model: type[BaseModel], path: str, seen: set[type]) -> list[str]:
    """Fields of ``model`` (and the models under it) typed a bare ``int``."""
    if model in seen:
        return []
    seen.add(model)
    out: list[str] = []

    def walk(tp: Any, where: str, bounded: bool) -> None:
        origin = typing.get_origin(tp)
        if tp == IntOrString:  # its validator holds the int to int32
            return
        if tp is int and not bounded:
            out.append(where)
        elif origin is typing.Annotated:
            inner, *meta = typing.get_args(tp)
            has_range = any(getattr(m, "metadata", None) for m in meta)
            walk(inner, where, bounded or has_range)
        elif isinstance(tp, type) and issubclass(tp, BaseModel):
            out.extend(_unbounded_ints(tp, where, seen))
        else:
            for arg in typing.get_args(tp):
                walk(arg, where, bounded)

    for name, f in model.model_fields.items():
        ranged = any(type(m).__name__ in ("Ge", "Le") or m in _INT_OR_STRING_CHECKS
                     for m in f.metadata)
        walk(f.annotation, f"{path}.{f.alias or name}", ranged)
    return out


def test_no_schema_has_an_integer_field_without_its_go_range() -> None:
    models = [rt.model for rt in all_resources()] + [SCALE.model, BINDING.model]
    seen: set[type] = set()
    unbounded = [f for m in models for f in _unbounded_ints(m, m.__name__, seen)]
    assert unbounded == [], "type these Int32 or Int64 (schemas/base.py) as Kubernetes does"


@pytest.mark.parametrize(("volume", "field"), [
    ({"secret": {"secretName": "s", "defaultMode": INT32_MAX}}, "secret.defaultMode"),
    ({"configMap": {"name": "c", "defaultMode": -1}}, "configMap.defaultMode"),
    ({"configMap": {"name": "c", "items": [{"key": "k", "path": "p", "mode": 0o1000}]}},
     "configMap.items[0].mode"),
    ({"downwardAPI": {"items": [{"path": "p", "mode": 4096,
                                 "fieldRef": {"fieldPath": "metadata.name"}}]}},
     "downwardAPI.items[0].mode"),
    ({"projected": {"defaultMode": 65535}}, "projected.defaultMode"),
    ({"projected": {"sources": [{"secret": {"name": "s", "items": [
        {"key": "k", "path": "p", "mode": -5}]}}]}}, "projected.sources[0].secret.items[0].mode"),
])
async def test_file_modes_are_0_to_0777(api: Api, volume: dict[str, Any], field: str) -> None:
    body = pod("p")
    body["spec"]["volumes"] = [{"name": "v", **volume}]
    st = await rejected(api, "POST", PODS, body, 422, reason="Invalid")
    cause = st["details"]["causes"][0]
    assert cause["field"] == f"spec.volumes[0].{field}"
    assert cause["message"].endswith("must be a number between 0 and 0777 (octal), both inclusive")


async def test_file_mode_0777_is_accepted(api: Api) -> None:
    body = pod("p")
    body["spec"]["volumes"] = [{"name": "v", "secret": {"secretName": "s", "defaultMode": 0o777}}]
    await api.ok("POST", PODS, body)
