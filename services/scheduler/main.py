"""``jetkube-scheduler``: kube-scheduler's flags, then run (leader-elected by default).

``--config FILE`` takes a scheduler configuration (see :mod:`.config`); the flags
below override its fields.  ``--scheduler-name`` names the (single) profile: a second
scheduler with another name can run beside the default one, and by default it
elects its leader on a Lease of its own name (the default scheduler's Lease is
``kube-system/kube-scheduler``).
"""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from ..machinery.apimachinery import SCHEDULER
from ..machinery.runtime import Settings, tune_gc
from ..machinery.service import ServiceRuntime, add_service_flags, run_service, settings_from_flags
from .config import SchedulerConfig
from .scheduler import Scheduler

DEFAULT_NAME = "default-scheduler"
DEFAULT_LEASE = "kube-scheduler"


class SchedulerFlags(argparse.Namespace):
    config: str | None
    scheduler_name: str | None
    percentage_of_nodes_to_score: int | None
    pod_initial_backoff_seconds: float | None
    pod_max_backoff_seconds: float | None
    event_qps: float
    event_burst: int
    nats_url: str | None
    nats_creds: str | None
    nats_ca: str | None
    leader_elect: str
    leader_elect_resource_name: str | None
    leader_elect_lease_duration: float | None
    leader_elect_renew_deadline: float | None
    leader_elect_retry_period: float | None


def parse_args(argv: list[str] | None = None) -> tuple[SchedulerConfig, SchedulerFlags, Settings, str | None]:
    p = argparse.ArgumentParser(prog="jetkube-scheduler",
                                description="jetkube scheduler (leader-elected)")
    p.add_argument("--config", help="scheduler configuration file (YAML or JSON)")
    p.add_argument("--scheduler-name", help=f"the profile's schedulerName (default {DEFAULT_NAME})")
    p.add_argument("--percentage-of-nodes-to-score", type=int, metavar="PCT",
                   help="stop filtering once this %% of nodes fit (0: adaptive, the default)")
    p.add_argument("--pod-initial-backoff-seconds", type=float)
    p.add_argument("--pod-max-backoff-seconds", type=float)
    p.add_argument("--event-qps", type=float, default=50.0,
                   help="events written per second at most, beyond a burst (0: no limit)")
    p.add_argument("--event-burst", type=int, default=100)
    add_service_flags(p)
    p.add_argument("--leader-elect-resource-name",
                   help=f"the Lease in kube-system (default {DEFAULT_LEASE} for {DEFAULT_NAME}, "
                        "else the scheduler name)")
    a = p.parse_args(argv, namespace=SchedulerFlags())
    try:
        cfg = SchedulerConfig.load(a.config) if a.config else SchedulerConfig()
        updates: dict[str, object] = {}
        if a.percentage_of_nodes_to_score is not None:
            updates["percentageOfNodesToScore"] = a.percentage_of_nodes_to_score
        if a.pod_initial_backoff_seconds is not None:
            updates["podInitialBackoffSeconds"] = a.pod_initial_backoff_seconds
        if a.pod_max_backoff_seconds is not None:
            updates["podMaxBackoffSeconds"] = a.pod_max_backoff_seconds
        if a.scheduler_name:
            if len(cfg.profiles) != 1:
                p.error("--scheduler-name needs a configuration with exactly one profile")
            updates["profiles"] = [cfg.profiles[0].model_copy(
                update={"schedulerName": a.scheduler_name}).model_dump()]
        cfg = SchedulerConfig.model_validate({**cfg.model_dump(), **updates})
    except (OSError, ValueError, ValidationError) as err:
        p.error(str(err))
    try:
        settings = settings_from_flags(a)
    except ValueError as err:
        p.error(str(err))
    lease: str | None = None
    if a.leader_elect == "true":
        name = cfg.profiles[0].schedulerName if cfg.profiles else DEFAULT_NAME
        lease = a.leader_elect_resource_name or (DEFAULT_LEASE if name == DEFAULT_NAME else name)
    return cfg, a, settings, lease


def main(argv: list[str] | None = None) -> None:
    cfg, opts, settings, lease = parse_args(argv)
    tune_gc()

    async def body(rt: ServiceRuntime) -> None:
        await Scheduler(rt, cfg, event_qps=opts.event_qps, event_burst=opts.event_burst).run()

    run_service("jetkube-scheduler", body, settings=settings, identity=SCHEDULER, lease=lease)


if __name__ == "__main__":
    main()
