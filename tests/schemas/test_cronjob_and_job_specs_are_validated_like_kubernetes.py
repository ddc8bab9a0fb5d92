"""CronJob and Job validation (schemas/validation_batch.py): defaults, schedules, time
zones, name length, job templates and podFailurePolicy rules give Kubernetes' field errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jetkube.schemas import SchemaError, load_object
from jetkube.schemas.registry import CRONJOBS, JOBS

POD_SPEC: dict[str, Any] = {"restartPolicy": "Never",
                            "containers": [{"name": "main", "image": "busybox"}]}


def cronjob(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"schedule": "*/5 * * * *",
                            "jobTemplate": {"spec": {"template": {"spec": copy.deepcopy(
                                POD_SPEC)}}}}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "backup", "namespace": "default"}, "spec": base}


def job(**spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"template": {"spec": copy.deepcopy(POD_SPEC)}}
    base.update(spec)
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "work", "namespace": "default"}, "spec": base}


def causes(rt: Any, obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    with pytest.raises(SchemaError) as err:
        load_object(rt, obj)
    assert err.value.code == 422
    return [(c["field"], c["reason"], c["message"]) for c in err.value.causes]


def test_cronjob_defaults_are_kubernetes_defaults() -> None:
    spec = load_object(CRONJOBS, cronjob())["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert "timeZone" not in spec and "startingDeadlineSeconds" not in spec


@pytest.mark.parametrize(("spec", "field", "message"), [
    ({"schedule": ""}, "spec.schedule", "Required value"),
    ({"schedule": "* * * *"}, "spec.schedule",
     'Invalid value: "* * * *": expected exactly 5 fields, found 4: [* * * *]'),
    ({"schedule": "CRON_TZ=Europe/Paris 0 * * * *"}, "spec.schedule",
     'Invalid value: "CRON_TZ=Europe/Paris 0 * * * *": cannot use TZ or CRON_TZ in schedule, '
     "use timeZone field instead"),
    ({"timeZone": "Mars/Olympus"}, "spec.timeZone",
     'Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'),
    ({"timeZone": ""}, "spec.timeZone",
     'Invalid value: "": timeZone must be nil or non-empty string'),
    ({"timeZone": "Local"}, "spec.timeZone",
     'Invalid value: "Local": timeZone must be an explicit time zone as defined in '
     "https://www.iana.org/time-zones"),
    ({"timeZone": "../../etc/passwd"}, "spec.timeZone",
     'Invalid value: "../../etc/passwd": unknown time zone ../../etc/passwd'),
    ({"startingDeadlineSeconds": -1}, "spec.startingDeadlineSeconds",
     "Invalid value: -1: must be greater than or equal to 0"),
    ({"successfulJobsHistoryLimit": -1}, "spec.successfulJobsHistoryLimit",
     "Invalid value: -1: must be greater than or equal to 0"),
    ({"concurrencyPolicy": "Sometimes"}, "spec.concurrencyPolicy",
     'Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'),
])
def test_bad_cronjob_specs_name_the_field(spec: dict[str, Any], field: str, message: str
                                           ) -> None:
    got = causes(CRONJOBS, cronjob(**spec))
    assert any(f == field and message in m for f, _, m in got), got


def test_a_valid_time_zone_is_accepted() -> None:
    assert load_object(CRONJOBS, cronjob(timeZone="Asia/Tokyo"))["spec"]["timeZone"] == (
        "Asia/Tokyo")


def test_cronjob_names_leave_room_for_the_job_suffix() -> None:
    obj = cronjob()
    obj["metadata"]["name"] = "x" * 53
    assert ("metadata.name", "FieldValueInvalid",
            f'Invalid value: "{"x" * 53}": must be no more than 52 characters') in causes(
        CRONJOBS, obj)
    obj["metadata"]["name"] = "x" * 52
    load_object(CRONJOBS, obj)


def test_job_template_may_not_set_a_selector_or_restart_always() -> None:
    tpl = {"spec": {"selector": {"matchLabels": {"a": "b"}}, "manualSelector": True,
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {**POD_SPEC, "restartPolicy": "Always"}}}}
    fields = {f for f, _, _ in causes(CRONJOBS, cronjob(jobTemplate=tpl))}
    assert {"spec.jobTemplate.spec.selector", "spec.jobTemplate.spec.manualSelector",
            "spec.jobTemplate.spec.template.spec.restartPolicy"} <= fields


def _policy(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"podFailurePolicy": {"rules": list(rules)}}


@pytest.mark.parametrize(("rule", "field", "message"), [
    ({"action": "FailJob"}, "spec.podFailurePolicy.rules[0]",
     "specifying one of OnExitCodes and OnPodConditions is required"),
    ({"action": "FailJob", "onExitCodes": {"operator": "In", "values": [1]},
      "onPodConditions": [{"type": "DisruptionTarget"}]}, "spec.podFailurePolicy.rules[0]",
     "specifying both OnExitCodes and OnPodConditions is not supported"),
    ({"action": "FailJob", "onExitCodes": {"operator": "In", "values": [0, 1]}},
     "spec.podFailurePolicy.rules[0].onExitCodes.values[0]",
     "must not be 0 for the In operator"),
    ({"action": "FailJob", "onExitCodes": {"operator": "NotIn", "values": [3, 2]}},
     "spec.podFailurePolicy.rules[0].onExitCodes.values[1]", "must be ordered"),
    ({"action": "Count", "onExitCodes": {"containerName": "other", "operator": "In",
                                         "values": [1]}},
     "spec.podFailurePolicy.rules[0].onExitCodes.containerName",
     "must be one of the container or initContainer names in the pod template"),
    ({"action": "FailIndex", "onExitCodes": {"operator": "In", "values": [1]}},
     "spec.podFailurePolicy.rules[0].action", "valid only when backoffLimitPerIndex is set"),
    ({"action": "Explode", "onExitCodes": {"operator": "In", "values": [1]}},
     "spec.podFailurePolicy.rules[0].action", "Unsupported value"),
])
def test_bad_pod_failure_policy_rules_name_the_field(rule: dict[str, Any], field: str,
                                                      message: str) -> None:
    got = causes(JOBS, job(**_policy(rule)))
    assert any(f == field and message in m for f, _, m in got), got


def test_pod_failure_policy_needs_restart_policy_never() -> None:
    obj = job(**_policy({"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]}))
    obj["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
    assert any(f == "spec.template.spec.restartPolicy" for f, _, _ in causes(JOBS, obj))


def test_a_valid_pod_failure_policy_defaults_condition_status_and_replacement_policy() -> None:
    spec = load_object(JOBS, job(**_policy(
        {"action": "FailJob", "onExitCodes": {"containerName": "main", "operator": "In",
                                              "values": [42]}},
        {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget"}]})))["spec"]
    assert spec["podFailurePolicy"]["rules"][1]["onPodConditions"][0]["status"] == "True"
    assert spec["podReplacementPolicy"] == "Failed"
