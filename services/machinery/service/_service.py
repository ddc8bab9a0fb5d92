"""How every jetkube service starts, runs and stops, written once.

``run_service`` sets up logging, tracing and uvloop, connects to NATS, opens
the store (read side: informers), builds the API client (write side: NATS
request/reply as the service's bus identity), optionally takes a Lease (leader
election, as kube-scheduler and kube-controller-manager do), runs the
service's body, and on SIGTERM/SIGINT stops it, releases the lease and
closes.

A leader-elected service never exits because leading ended (:func:`lead_forever`): when
it loses its Lease (the API server or NATS away longer than the renew deadline, or
another candidate took it) or its body fails, it steps down (its body is cancelled, the
Lease handed back when it can be), and campaigns again.  Each term runs on a fresh
:class:`ServiceRuntime` view with informers and an event recorder of its own, so
nothing a finished term registered (informer handlers cannot be removed) outlives it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from ..client import ApiClient, EventRecorder, LeaderElector, SharedInformerFactory, WorkQueue
from ..runtime import Clock, RealClock, Settings, setup_logging
from ..runtime.telemetry import (
    JsonSpanExporter,
    setup_telemetry,
    threadsafe_publisher,
    trace_subject,
)
from ..store import BucketNotFoundError, NatsConnection, NatsStore, Store, connect

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-system"


@dataclass
class ServiceRuntime:
    """What a running service has: connections, store, API client, informers, events."""

    name: str
    settings: Settings
    nc: NatsConnection | None  # None in unit tests on the in-memory store
    store: Store
    api: ApiClient
    informers: SharedInformerFactory
    events: EventRecorder
    clock: Clock = field(default_factory=RealClock)
    identity: str = ""

    def work_queue(self, name: str) -> WorkQueue[str]:
        """A controller's key queue: dedup, per-item backoff and the overall rate limit of
        this service's settings."""
        return WorkQueue(self.clock, name=name, backoff=self.settings.queue_backoff,
                         rate_limit=self.settings.queue_rate_limit)


def add_service_flags(p: argparse.ArgumentParser) -> None:
    """The flags every service shares: where NATS is and how to prove who it is, leader
    election."""
    p.add_argument("--nats-url", help="default: $JETKUBE_NATS_URL or nats://127.0.0.1:4222")
    p.add_argument("--nats-creds", help="nkey seed file (default: $JETKUBE_NATS_CREDS_FILE)")
    p.add_argument("--nats-ca", help="cluster CA file for NATS TLS (default: $JETKUBE_NATS_CA_FILE)")
    p.add_argument("--leader-elect", default="true", choices=("true", "false"))
    p.add_argument("--leader-elect-lease-duration", type=float, default=None)
    p.add_argument("--leader-elect-renew-deadline", type=float, default=None)
    p.add_argument("--leader-elect-retry-period", type=float, default=None)


def settings_from_flags(a: argparse.Namespace) -> Settings:
    """Settings from ``JETKUBE_*`` with the flags of ``add_service_flags`` over them
    (raises ValueError, e.g. a lease shorter than its renew deadline)."""
    overrides: dict[str, Any] = {}
    for flag, field_name in (("nats_url", "nats_url"), ("nats_creds", "nats_creds_file"),
                             ("nats_ca", "nats_ca_file")):
        if getattr(a, flag, None):
            overrides[field_name] = getattr(a, flag)
    le = {k: v for k, v in (("lease_duration_seconds", a.leader_elect_lease_duration),
                            ("renew_deadline_seconds", a.leader_elect_renew_deadline),
                            ("retry_period_seconds", a.leader_elect_retry_period))
          if v is not None}
    if le:
        overrides["leader_election"] = le
    return Settings.from_env(**overrides)


def publish_spans(nc: NatsConnection, service: str, settings: Settings) -> None:
    """Publish this process's finished spans as JSON on ``jetkube.traces.<service>``."""
    if not settings.trace_publish:
        return
    subject = trace_subject(service, settings.trace_subject_prefix)
    loop = asyncio.get_running_loop()
    setup_telemetry(service, exporters=[JsonSpanExporter(threadsafe_publisher(
        loop, lambda data: nc.publish(subject, data)))])


async def open_runtime(name: str, settings: Settings, identity: str) -> ServiceRuntime:
    """Connect as ``identity`` (``settings.nats_user`` overrides it) and open the store
    read-only: the API server creates the bucket, so a service started first waits for it."""
    identity = settings.nats_user or identity
    nc = await connect(settings.nats_url, name=name, identity=identity,
                       creds_file=settings.nats_creds_file or None,
                       ca_file=settings.nats_ca_file or None)
    publish_spans(nc, name, settings)
    store = await _open_store(nc, settings)
    api = ApiClient(nc, identity, subject_prefix=settings.api_subject_prefix)
    informers = SharedInformerFactory(store, settings=settings)
    # hostname_pid_uuid: a Lease holder names its host and process (kctl cluster-info
    # marks the replica that leads by its pid)
    identity = f"{socket.gethostname()}_{os.getpid()}_{uuid.uuid4()}"
    clock = RealClock()
    return ServiceRuntime(name, settings, nc, store, api, informers,
                   EventRecorder(api, name, clock=clock), clock=clock, identity=identity)


async def _open_store(nc: NatsConnection, settings: Settings) -> NatsStore:
    delay = 0.1
    while True:
        try:
            return await NatsStore.open(nc, settings.bucket, history=settings.kv_history,
                                        create=False)
        except BucketNotFoundError:
            log.info("waiting for the API server to create bucket %s", settings.bucket)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


Body = Callable[[ServiceRuntime], Coroutine[Any, Any, None]]


def new_term(rt: ServiceRuntime) -> ServiceRuntime:
    """``rt`` with informers and an event recorder of its own (one leadership term's)."""
    return replace(rt, informers=SharedInformerFactory(rt.store, clock=rt.clock,
                                                       settings=rt.settings),
                   events=EventRecorder(rt.api, rt.name, clock=rt.clock))


async def lead_forever(rt: ServiceRuntime, lease: str, body: Body, *,
                       on_term: Callable[[ServiceRuntime], None] | None = None,
                       retry_after: float = 1.0) -> None:
    """Campaign for ``lease``; while leading, run ``body`` on a fresh term; when leading
    ends (lost lease, or the body failed), step down and campaign again.  Returns only
    when cancelled."""
    terms = 0
    while True:
        term = new_term(rt)
        failed = asyncio.Event()

        async def lead(term: ServiceRuntime = term, failed: asyncio.Event = failed) -> None:
            if on_term is not None:
                on_term(term)
            try:
                await body(term)
                log.error("%s: its body returned while leading; stepping down", rt.name)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed while leading; stepping down", rt.name)
            failed.set()

        elector = LeaderElector(
            rt.api, LEASE_NAMESPACE, lease, rt.identity, rt.clock,
            on_started_leading=lead, on_stopped_leading=lambda: None,
            settings=rt.settings.leader_election, release_on_cancel=True,
            on_new_leader=lambda who: log.info("leader of %s is now %s", lease, who))
        election = asyncio.create_task(elector.run())
        give_up = asyncio.create_task(failed.wait())
        try:
            await asyncio.wait({election, give_up}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (election, give_up):
                task.cancel()
            with contextlib.suppress(BaseException):
                await election
            give_up.cancel()
            await term.informers.stop()
            await term.events.flush()
        terms += 1
        log.warning("%s stepped down from lease %s/%s (term %d); campaigning again",
                    rt.name, LEASE_NAMESPACE, lease, terms)
        await rt.clock.sleep(retry_after)


async def _serve(name: str, settings: Settings, identity: str, body: Body,
                 lease: str | None) -> int:
    rt = await open_runtime(name, settings, identity)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if lease is None:
        work: asyncio.Task[None] = asyncio.create_task(body(rt))
    else:
        work = asyncio.create_task(lead_forever(rt, lease, body))
        log.info("%s waiting to lead lease %s/%s as %s", name, LEASE_NAMESPACE, lease,
                 rt.identity)
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({work, stopper}, return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if work.done() and not stop.is_set():
        exc = work.exception() if not work.cancelled() else None
        if exc is not None:
            log.error("%s failed: %r", name, exc, exc_info=exc)
            code = 1
    work.cancel()
    stopper.cancel()
    with contextlib.suppress(BaseException):
        await asyncio.wait_for(work, 10)
    await rt.informers.stop()
    await rt.events.flush()
    if rt.nc is not None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(rt.nc.close(), 5)
    return code


def run_service(name: str, body: Body, *, settings: Settings | None = None,
                identity: str, lease: str | None = None) -> None:
    """Run ``body`` as service ``name``, on the bus as ``identity``, until a signal; exit
    non-zero on failure."""
    settings = settings or Settings.from_env()
    setup_logging(name, settings.log_level, settings.log_format)
    setup_telemetry(name, sample_ratio=settings.trace_sample_ratio)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    code = asyncio.run(_serve(name, settings, identity, body, lease))
    sys.exit(code)
