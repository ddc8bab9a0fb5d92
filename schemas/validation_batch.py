"""Validation of batch/v1: a Job's spec (also inside a CronJob's ``jobTemplate``), its
``podFailurePolicy``, and CronJob (schedule, timeZone, limits), as Kubernetes'
``validateJobSpec``, ``validatePodFailurePolicy``, ``ValidateCronJobCreate``.
Pure: the schedule is parsed by :mod:`.cron`, nothing is evaluated against a clock."""

from __future__ import annotations

import re

from .batch import CronJob, JobSpec, PodFailurePolicy
from .cron import CronError, load_location, parse_standard
from .fielderrors import (
    Errors,
    check,
    duplicate,
    invalid,
    non_negative,
    not_supported,
    positive,
    qualified_name,
    required,
)
from .validation_meta import validate_annotations, validate_labels
from .validation_pod import validate_pod_template

__all__ = ["validate_cronjob", "validate_job_spec"]

MAX_POD_FAILURE_POLICY_RULES = 20
MAX_EXIT_CODE_VALUES = 255
MAX_POD_CONDITION_PATTERNS = 20
CRONJOB_NAME_MAX = 52
"""63 (a Job name's DNS-1035 limit) minus the 11 characters of ``-<minutes>``."""
_TZ_PART = re.compile(r"^[A-Za-z.\-_0-9+]{1,14}$")


def validate_job_spec(errs: Errors, p: str, s: JobSpec) -> None:
    """Everything of a JobSpec but the selector (generated for Jobs, forbidden in templates)."""
    for name in ("parallelism", "completions", "backoffLimit", "ttlSecondsAfterFinished",
                 "backoffLimitPerIndex", "maxFailedIndexes"):
        non_negative(errs, f"{p}.{name}", getattr(s, name))
    if s.activeDeadlineSeconds is not None:
        positive(errs, f"{p}.activeDeadlineSeconds", s.activeDeadlineSeconds)
    validate_pod_template(errs, f"{p}.template", s.template, ("OnFailure", "Never"))
    if s.completionMode == "Indexed" and s.completions is None:
        errs.append(required(f"{p}.completions", "when completion mode is Indexed"))
    if s.podFailurePolicy is not None:
        if s.template.spec.restartPolicy != "Never":
            errs.append(invalid(f"{p}.template.spec.restartPolicy", s.template.spec.restartPolicy,
                                "only \"Never\" is supported when podFailurePolicy is specified"))
        _pod_failure_policy(errs, f"{p}.podFailurePolicy", s.podFailurePolicy, s)


def _pod_failure_policy(errs: Errors, p: str, policy: PodFailurePolicy, s: JobSpec) -> None:
    rules = policy.rules
    if len(rules) > MAX_POD_FAILURE_POLICY_RULES:
        errs.append(invalid(f"{p}.rules", len(rules),
                            f"must have at most {MAX_POD_FAILURE_POLICY_RULES} items"))
    pod = s.template.spec
    names = {c.name for c in pod.containers} | {c.name for c in pod.initContainers or []}
    for i, rule in enumerate(rules):
        rp = f"{p}.rules[{i}]"
        if rule.action == "FailIndex" and s.backoffLimitPerIndex is None:
            errs.append(invalid(f"{rp}.action", rule.action,
                                "valid only when backoffLimitPerIndex is set"))
        if rule.onExitCodes is not None and rule.onPodConditions is not None:
            errs.append(invalid(rp, "", "specifying both OnExitCodes and OnPodConditions is "
                                        "not supported"))
        if rule.onExitCodes is None and not rule.onPodConditions:
            errs.append(invalid(rp, "", "specifying one of OnExitCodes and OnPodConditions is "
                                        "required"))
        codes = rule.onExitCodes
        if codes is not None:
            cp = f"{rp}.onExitCodes"
            if codes.containerName is not None and codes.containerName not in names:
                errs.append(invalid(f"{cp}.containerName", codes.containerName,
                                    "must be one of the container or initContainer names in "
                                    "the pod template"))
            if not codes.values:
                errs.append(required(f"{cp}.values"))
            elif len(codes.values) > MAX_EXIT_CODE_VALUES:
                errs.append(invalid(f"{cp}.values", len(codes.values),
                                    f"must have at most {MAX_EXIT_CODE_VALUES} items"))
            seen: set[int] = set()
            for j, v in enumerate(codes.values):
                vp = f"{cp}.values[{j}]"
                if v in seen:
                    errs.append(duplicate(vp, v))
                if codes.operator == "In" and v == 0:
                    errs.append(invalid(vp, v, "must not be 0 for the In operator"))
                if j > 0 and v < codes.values[j - 1]:
                    errs.append(invalid(vp, v, "must be ordered"))
                seen.add(v)
        patterns = rule.onPodConditions or []
        if len(patterns) > MAX_POD_CONDITION_PATTERNS:
            errs.append(invalid(f"{rp}.onPodConditions", len(patterns),
                                f"must have at most {MAX_POD_CONDITION_PATTERNS} items"))
        for j, pattern in enumerate(patterns):
            check(errs, f"{rp}.onPodConditions[{j}].type", pattern.type, qualified_name)


def _time_zone(errs: Errors, p: str, tz: str | None) -> None:
    """Kubernetes' ``validateTimeZone``."""
    if tz is None:
        return
    if tz == "":
        errs.append(invalid(p, tz, "timeZone must be nil or non-empty string"))
        return
    for part in tz.split("/"):
        if part in (".", "..") or part.startswith("-") or not _TZ_PART.match(part):
            errs.append(invalid(p, tz, f"unknown time zone {tz}"))
            return
    if tz.lower() == "local":
        errs.append(invalid(p, tz, "timeZone must be an explicit time zone as defined in "
                                   "https://www.iana.org/time-zones"))
        return
    try:
        load_location(tz)
    except CronError as err:
        errs.append(invalid(p, tz, str(err)))


def validate_cronjob(errs: Errors, o: CronJob) -> None:
    name = o.metadata.name or ""
    if len(name) > CRONJOB_NAME_MAX:
        errs.append(invalid("metadata.name", name,
                            f"must be no more than {CRONJOB_NAME_MAX} characters"))
    s = o.spec
    if not s.schedule:
        errs.append(required("spec.schedule"))
    else:
        try:
            parse_standard(s.schedule)
        except CronError as err:
            errs.append(invalid("spec.schedule", s.schedule, str(err)))
        if "TZ" in s.schedule:
            errs.append(invalid("spec.schedule", s.schedule,
                                "cannot use TZ or CRON_TZ in schedule, use timeZone field "
                                "instead"))
    _time_zone(errs, "spec.timeZone", s.timeZone)
    non_negative(errs, "spec.startingDeadlineSeconds", s.startingDeadlineSeconds)
    non_negative(errs, "spec.successfulJobsHistoryLimit", s.successfulJobsHistoryLimit)
    non_negative(errs, "spec.failedJobsHistoryLimit", s.failedJobsHistoryLimit)
    tpl = s.jobTemplate
    if tpl.metadata is not None:
        validate_labels(errs, "spec.jobTemplate.metadata.labels", tpl.metadata.labels)
        validate_annotations(errs, "spec.jobTemplate.metadata.annotations",
                             tpl.metadata.annotations)
    validate_job_spec(errs, "spec.jobTemplate.spec", tpl.spec)
    if tpl.spec.selector is not None:
        errs.append(invalid("spec.jobTemplate.spec.selector", "",
                            "`selector` will be auto-generated"))
    if tpl.spec.manualSelector:
        errs.append(not_supported("spec.jobTemplate.spec.manualSelector", True,
                                  ["nil", "false"]))
