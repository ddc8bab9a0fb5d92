"""kctl describe cronjob: kubectl's describeCronJob lines, in its order, with the job
template (describeJobTemplate), the last schedule time and the active Jobs."""

from __future__ import annotations

from typing import Any

from jetkube.cli.describe import Writer
from jetkube.cli.describe_workloads import cronjob

CJ = {"metadata": {"name": "backup", "namespace": "default", "uid": "u1",
                   "creationTimestamp": "2024-01-01T00:00:00Z"},
      "spec": {"schedule": "30 2 * * *", "timeZone": "Europe/Berlin",
               "concurrencyPolicy": "Forbid", "suspend": False, "startingDeadlineSeconds": 60,
               "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 1,
               "jobTemplate": {"spec": {"parallelism": 2, "template": {"spec": {
                   "restartPolicy": "OnFailure",
                   "containers": [{"name": "dump", "image": "busybox"}]}}}}},
      "status": {"lastScheduleTime": "2024-01-02T01:30:00Z",
                 "active": [{"name": "backup-28400130"}, {"name": "backup-28401570"}]}}


def no_fetch(path: str, params: dict[str, str]) -> dict[str, Any]:
    raise AssertionError(f"describe cronjob fetched {path}")


def test_describe_prints_kubectls_fields_in_order() -> None:
    w = Writer()
    cronjob(w, CJ, no_fetch)
    lines = [ln.rstrip() for ln in w.render().splitlines()]
    top = [ln.split(":", 1)[0] for ln in lines if ln and not ln.startswith(" ")]
    assert top == ["Name", "Namespace", "Labels", "Annotations", "Schedule",
                   "Concurrency Policy", "Suspend", "Time Zone", "Successful Job History Limit",
                   "Failed Job History Limit", "Starting Deadline Seconds", "Selector",
                   "Parallelism", "Completions", "Pod Template", "Last Schedule Time",
                   "Active Jobs"]
    values = {ln.split(":", 1)[0]: ln.split(":", 1)[1].strip()
              for ln in lines if ln and not ln.startswith(" ")}
    assert values["Schedule"] == "30 2 * * *" and values["Time Zone"] == "Europe/Berlin"
    assert values["Starting Deadline Seconds"] == "60s"
    assert (values["Selector"], values["Parallelism"], values["Completions"]) == (
        "<unset>", "2", "<unset>")
    assert values["Last Schedule Time"] == "Tue, 02 Jan 2024 01:30:00 +0000"
    assert values["Active Jobs"] == "backup-28400130, backup-28401570"
    assert any(ln.split() == ["Image:", "busybox"] for ln in lines)
