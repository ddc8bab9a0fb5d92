"""CronJobs and the Job lifecycle on a real cluster (`kctl up --runtime sim --nodes 1`), driven
by the real kubectl v1.37 (protobuf bodies for its `create` commands):

- `kubectl create cronjob` stores the CronJob; `kubectl get cronjob` prints NAME SCHEDULE
  TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE; `kubectl create job --from=cronjob/x` makes a
  Job the CronJob controls (``cronjob.kubernetes.io/instantiate: manual``); `kubectl patch`
  toggles suspend; kctl does the same (`kctl create cronjob|job --from`, get, describe).
- The cronjob controller creates Jobs on schedule.  Two Forbid CronJobs are made first and
  checked last, so their wait for a minute boundary overlaps the other scenarios: ``beat``
  (``@every 5s``) gets one Job named ``<cronjob>-<minutes>`` with the scheduled-timestamp
  annotation, then skips while it runs (event JobAlreadyActive, shown by `kubectl describe
  cronjob`); ``minutely`` (``*/1 * * * *``) has its Job at the next minute boundary.
- ttlSecondsAfterFinished: a finished Job is deleted by the ttl-after-finished controller.
- podFailurePolicy: a container exiting 42 fails the Job at once with reason PodFailurePolicy.
Pods exit when told by the sim runtime's annotations (``jetkube.io/sim-exit-after``/
``-exit-code``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cluster_e2e import Cluster, running_cluster
from polling import wait_until
from test_e2e_kubectl_drives_the_cluster import kubectl

pytestmark = pytest.mark.e2e

NS = "default"


@pytest.fixture(scope="module")
def sim_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("e2e-cron") / "jetkube", nodes=1,
                         runtime="sim") as c:
        yield c


@pytest.fixture(scope="module")
def scheduled(sim_cluster: Cluster) -> tuple[str, str]:
    """Two Forbid CronJobs made first, so that the next minute boundary passes while the
    other scenarios run; checked last: ``beat`` (``@every 5s``) and ``minutely``
    (``*/1 * * * *``).  Their pods run for minutes."""
    for name, schedule in (("beat", "@every 5s"), ("minutely", "*/1 * * * *")):
        apply(sim_cluster, {
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": name},
            "spec": {"schedule": schedule, "concurrencyPolicy": "Forbid",
                     "jobTemplate": {"spec": {"template": pod_template("300")}}}})
    return "beat", "minutely"


def get(c: Cluster, *what: str) -> Any:
    return json.loads(kubectl(c.kubeconfig, "-n", NS, "get", *what, "-o", "json").stdout)


def job_names(c: Cluster) -> list[str]:
    return [j["metadata"]["name"] for j in get(c, "jobs")["items"]]


def jobs_of(c: Cluster, cronjob: str) -> list[dict[str, Any]]:
    return [j for j in get(c, "jobs")["items"]
            if any(r["kind"] == "CronJob" and r["name"] == cronjob
                   for r in j["metadata"].get("ownerReferences") or [])]


def apply(c: Cluster, obj: dict[str, Any]) -> None:
    kubectl(c.kubeconfig, "-n", NS, "apply", "-f", "-", input=json.dumps(obj))


def pod_template(exit_after: str, exit_code: int = 0) -> dict[str, Any]:
    return {"metadata": {"annotations": {"jetkube.io/sim-exit-after": exit_after,
                                         "jetkube.io/sim-exit-code": str(exit_code)}},
            "spec": {"restartPolicy": "Never",
                     "containers": [{"name": "main", "image": "busybox:1.36"}]}}


def condition(job: dict[str, Any], ctype: str) -> dict[str, Any] | None:
    return next((x for x in (job.get("status") or {}).get("conditions") or []
                 if x["type"] == ctype and x["status"] == "True"), None)


def test_kubectl_creates_a_cronjob_and_a_job_from_it(sim_cluster: Cluster,
                                                     scheduled: tuple[str, str]) -> None:
    c = sim_cluster
    kc = c.kubeconfig
    out = kubectl(kc, "-n", NS, "create", "cronjob", "tick", "--image=busybox:1.36",
                  "--schedule=0 0 1 1 *", "--", "date").stdout
    assert "cronjob.batch/tick created" in out
    spec = get(c, "cronjob", "tick")["spec"]
    assert spec["schedule"] == "0 0 1 1 *" and spec["concurrencyPolicy"] == "Allow"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure" and pod["containers"][0]["command"] == ["date"]
    table = kubectl(kc, "-n", NS, "get", "cronjob", "tick").stdout.splitlines()
    assert table[0].split() == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST",
                                "SCHEDULE", "AGE"]
    assert table[1].split()[:9] == ["tick", "0", "0", "1", "1", "*", "<none>", "False", "0"]

    kubectl(kc, "-n", NS, "create", "job", "tick-now", "--from=cronjob/tick")
    job = get(c, "job", "tick-now")
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == ("CronJob", "tick", True)
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["date"]

    kubectl(kc, "-n", NS, "patch", "cronjob", "tick", "-p", '{"spec":{"suspend":true}}')
    assert kubectl(kc, "-n", NS, "get", "cronjob", "tick").stdout.splitlines()[1].split()[7] == (
        "True")
    kubectl(kc, "-n", NS, "delete", "cronjob", "tick")  # background: its Job goes too
    wait_until(lambda: "tick-now" not in job_names(c), timeout=30, message="tick-now deleted")


def test_kctl_creates_gets_and_describes_cronjobs(sim_cluster: Cluster) -> None:
    c = sim_cluster
    c.kctl("create", "cronjob", "nightly", "--image", "busybox:1.36", "--schedule",
           "30 2 * * *", "--restart", "Never")
    c.kctl("create", "job", "nightly-now", "--from", "cronjob/nightly")
    job = get(c, "job", "nightly-now")
    assert job["metadata"]["ownerReferences"][0]["name"] == "nightly"
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    out = c.kctl("get", "cronjob", "nightly", "-o", "wide").stdout.splitlines()
    assert out[0].split()[:8] == ["NAME", "SCHEDULE", "TIMEZONE", "SUSPEND", "ACTIVE", "LAST",
                                  "SCHEDULE", "AGE"]
    assert "busybox:1.36" in out[1]
    text = c.kctl("describe", "cronjob", "nightly").stdout
    assert "Schedule:" in text and "30 2 * * *" in text
    assert "UnexpectedJob" in wait_until(
        lambda: c.kctl("describe", "cronjob", "nightly").stdout, timeout=30,
        accept=lambda t: "UnexpectedJob" in t, message="the hand-made Job is reported")
    c.kctl("delete", "cronjob", "nightly")
    wait_until(lambda: "nightly-now" not in job_names(c), timeout=30,
               message="nightly-now deleted")


def test_a_finished_job_with_a_ttl_is_deleted(sim_cluster: Cluster) -> None:
    c = sim_cluster
    apply(c, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "brief"},
              "spec": {"ttlSecondsAfterFinished": 2, "template": pod_template("1")}})
    wait_until(lambda: condition(get(c, "job", "brief"), "Complete"), timeout=30,
               message="brief completes")
    wait_until(lambda: "brief" not in job_names(c),
               timeout=30, message="brief deleted after its TTL")
    wait_until(lambda: not get(c, "pods", "-l", "batch.kubernetes.io/job-name=brief")["items"],
               timeout=30, message="brief's pod deleted with it")


def test_an_exit_code_matching_a_fail_job_rule_fails_the_job(sim_cluster: Cluster) -> None:
    c = sim_cluster
    apply(c, {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "fatal"},
              "spec": {"backoffLimit": 6, "template": pod_template("1", 42),
                       "podFailurePolicy": {"rules": [
                           {"action": "FailJob",
                            "onExitCodes": {"operator": "In", "values": [42]}},
                           {"action": "Ignore",
                            "onPodConditions": [{"type": "DisruptionTarget"}]}]}}})
    failed = wait_until(lambda: condition(get(c, "job", "fatal"), "Failed"), timeout=30,
                        message="fatal fails")
    assert failed["reason"] == "PodFailurePolicy"
    assert "failed with exit code 42 matching FailJob rule at index 0" in failed["message"]
    pods = get(c, "pods", "-l", "batch.kubernetes.io/job-name=fatal")["items"]
    assert len(pods) == 1  # failed at once: no retry


def test_a_forbid_cronjob_runs_on_schedule_and_skips_while_its_job_runs(
        sim_cluster: Cluster, scheduled: tuple[str, str]) -> None:
    """Job names are per minute, so (as in Kubernetes) a sub-minute schedule runs at most
    once a minute: Forbid is seen at the first minute boundary after the first Job."""
    c = sim_cluster
    jobs = wait_until(lambda: jobs_of(c, "beat"), timeout=30,
                      message="the first Job of beat")
    assert len(jobs) == 1
    md = jobs[0]["metadata"]
    stamp = md["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    cj = get(c, "cronjob", "beat")
    assert cj["status"]["lastScheduleTime"] == stamp
    assert [r["name"] for r in cj["status"]["active"]] == [md["name"]]
    assert md["name"].startswith("beat-") and md["name"][5:].isdigit()

    def described() -> str:
        return kubectl(c.kubeconfig, "-n", NS, "describe", "cronjob", "beat").stdout

    text = wait_until(described, timeout=75, message="JobAlreadyActive",
                      accept=lambda out: "JobAlreadyActive" in out)
    lines = {k.strip(): v.strip() for k, _, v in
             (ln.partition(":") for ln in text.splitlines() if not ln.startswith(" "))}
    assert (lines["Schedule"], lines["Concurrency Policy"]) == ("@every 5s", "Forbid"), text
    assert lines["Active Jobs"] == md["name"], text
    assert len(jobs_of(c, "beat")) == 1
    row = kubectl(c.kubeconfig, "-n", NS, "get", "cronjob", "beat").stdout.splitlines()[1]
    assert row.split()[1:6] == ["@every", "5s", "<none>", "False", "1"]


def test_an_every_minute_forbid_cronjob_runs_at_the_minute(sim_cluster: Cluster,
                                                           scheduled: tuple[str, str]) -> None:
    c = sim_cluster
    minutely = scheduled[1]
    jobs = wait_until(lambda: jobs_of(c, minutely), timeout=75,
                      message="the first Job of */1 * * * * (at the next minute)")
    assert len(jobs) == 1
    md = jobs[0]["metadata"]
    stamp = md["annotations"]["batch.kubernetes.io/cronjob-scheduled-timestamp"]
    assert stamp.endswith(":00Z")  # a minute boundary, in UTC
    minutes = int(md["name"].removeprefix("minutely-"))
    cj = get(c, "cronjob", minutely)
    assert cj["status"]["lastScheduleTime"] == stamp
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(minutes * 60)) == stamp
