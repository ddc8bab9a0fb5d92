"""Typed settings shared by every jetkube process, as data.

Backoff and retry schedules, rate limits, lease durations and resync periods
are fields here, not constants in code, so an operator (or a test) changes
them without touching the code that uses them.  Values come from, in order
of precedence: explicit overrides, ``JETKUBE_*`` environment variables, the
defaults below.  Nested groups read ``JETKUBE_<GROUP>__<FIELD>`` (double
underscore), e.g. ``JETKUBE_QUEUE_BACKOFF__CAP_SECONDS=60`` or
``JETKUBE_LEADER_ELECTION__LEASE_DURATION_SECONDS=30``.

Services extend :class:`Settings` by subclassing; ``from_env`` reads the
subclass's fields too.  Unknown ``JETKUBE_*`` variables are ignored (they may
belong to another component).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ENV_PREFIX = "JETKUBE_"
NESTED_SEP = "__"


class _Frozen(BaseModel):
    # each field's docstring (the string right under it) is its description
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Backoff(_Frozen):
    """Exponential backoff: ``base * factor**n`` capped at ``cap``."""

    base_seconds: float = Field(0.005, gt=0)
    """The first delay (``delay(0)``), seconds."""
    cap_seconds: float = Field(1000.0, gt=0)
    """No delay is longer than this, seconds."""
    factor: float = Field(2.0, ge=1)
    """Each further failure multiplies the delay by this."""

    def delay(self, failures: int) -> float:
        """The delay after ``failures`` previous failures (0 -> base)."""
        if failures <= 0:
            return self.base_seconds
        try:
            d = self.base_seconds * self.factor**failures
        except OverflowError:
            return self.cap_seconds
        return min(d, self.cap_seconds)


class RateLimit(_Frozen):
    """A token bucket: ``qps`` tokens per second, at most ``burst`` saved up.  qps<=0: unlimited."""

    qps: float = 10.0
    """Tokens added per second: the sustained rate; 0 or less: no limit."""
    burst: int = Field(100, ge=1)
    """Most tokens the bucket holds: how many may go at once after a quiet spell."""


class LeaderElection(_Frozen):
    """Kubernetes' defaults (kube-scheduler, kube-controller-manager)."""

    lease_duration_seconds: float = Field(15.0, gt=0)
    """How long a standby waits after the leader's last renewal before it takes the Lease."""
    renew_deadline_seconds: float = Field(10.0, gt=0)
    """The leader gives up leading when it could not renew for this long."""
    retry_period_seconds: float = Field(2.0, gt=0)
    """The wait between attempts to acquire or renew the Lease."""
    jitter_factor: float = Field(1.2, ge=0)
    """Acquire retries wait ``retry_period_seconds * (1 + random * jitter_factor)``."""

    @model_validator(mode="after")
    def _check_order(self) -> Self:
        if self.lease_duration_seconds <= self.renew_deadline_seconds:
            raise ValueError("lease_duration_seconds must be greater than renew_deadline_seconds")
        if self.renew_deadline_seconds <= self.retry_period_seconds:
            raise ValueError("renew_deadline_seconds must be greater than retry_period_seconds")
        return self


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["kv", "json"]


class Settings(_Frozen):
    """What every jetkube service reads (``JETKUBE_<FIELD>``; groups ``JETKUBE_<GROUP>__<FIELD>``)."""

    nats_url: str = "nats://127.0.0.1:4222"
    """The NATS servers to connect to (several: comma-separated, as NATS clients take them)."""
    nats_creds_file: str = ""
    """This process's nkey seed file (``DIR/creds/<identity>.nk``, 0600, written by ``kctl up``
    or ``kctl node-credentials``); empty: connect without credentials, which only a NATS
    server without authorization accepts (unit tests)."""
    nats_store_creds_file: str = ""
    """The API server only: the seed of its store identity (``kube-apiserver-store``), the
    one user of the store's NATS account; empty: the store shares the bus's account (an
    open bus)."""
    nats_ca_file: str = ""
    """The cluster CA (``DIR/pki/ca.crt``) the NATS servers' TLS certificates must chain to;
    empty: plain TCP (a server that requires TLS then refuses the connection)."""
    nats_user: str = ""
    """The bus identity to act as instead of the component's own (``kube-scheduler``,
    ``node:<name>``...); its credentials must be those of that identity.  Test tools that
    stand for many nodes at once (the hollow-node process) run as ``admin``."""
    bucket: str = "jetkube"
    """The JetStream key-value bucket that holds the cluster's objects."""
    kv_history: int = Field(8, ge=1, le=64)
    """Revisions the bucket keeps per key (applied when the bucket is created)."""
    api_subject_prefix: str = "jetkube.api"
    """Subjects of the API server's NATS face are ``<prefix>.<verb>.<group>.<version>.<resource>``:
    the API server serves ``<prefix>.>`` and every service's API client sends there."""
    trace_subject_prefix: str = "jetkube.traces"
    """Finished spans are published to ``<trace_subject_prefix>.<service>``."""
    trace_publish: bool = False
    """Publish finished spans as JSON on NATS (what ``kctl trace`` and tests read)."""
    trace_sample_ratio: float = Field(0.0, ge=0, le=1)
    """The fraction of the traces this process starts (a request or reconcile with no
    trace to continue) that are sampled.  Work that continues a trace follows its sampled
    flag whatever this is (parent-based sampling), and kctl sends a sampled
    ``traceparent`` with every command, so ``kctl trace`` sees every kctl command whole.
    0, as Kubernetes' ``samplingRatePerMillion``: unsampled work builds no span and writes
    no trace annotation.  ``OTEL_TRACES_SAMPLER``, when set, replaces this."""

    queue_backoff: Backoff = Backoff()
    """Work queues: the per-item backoff after a failed sync (client-go's item
    exponential failure rate limiter)."""
    queue_rate_limit: RateLimit = RateLimit()
    """Work queues: the overall token bucket, combined with ``queue_backoff`` (the longer wait wins)."""
    job_pod_failure_backoff: Backoff = Backoff(base_seconds=10.0, cap_seconds=600.0)
    """The Job controller replaces a failed pod after ``delay(n - 1)`` for the n-th failure
    (Kubernetes: 10 s doubling, at most 10 min)."""

    informer_resync_seconds: float = Field(600.0, ge=0)
    """Informers call ``on_update(obj, obj)`` for every cached object this often; 0: never."""
    informer_relist_backoff: Backoff = Backoff(base_seconds=0.8, cap_seconds=30.0)
    """The wait between attempts to re-establish a failed list-then-watch (client-go's reflector)."""

    leader_election: LeaderElection = LeaderElection()
    """Lease timings of leader-elected services (scheduler, controller-manager)."""

    log_level: LogLevel = "INFO"
    """The lowest level logged (case-insensitive)."""
    log_format: LogFormat = "kv"
    """``kv``: ``key=value`` lines; ``json``: one JSON object per line."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v

    @field_validator("log_format", mode="before")
    @classmethod
    def _lower(cls, v: Any) -> Any:
        return v.lower() if isinstance(v, str) else v

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, /, **overrides: Any) -> Self:
        """Build settings from ``JETKUBE_*`` variables (``os.environ`` by default) and overrides.

        Overrides take field names; a nested group may be given as a model or
        as a dict of some of its fields (merged over the environment's).
        """
        env = os.environ if environ is None else environ
        data: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            ann = info.annotation
            if isinstance(ann, type) and issubclass(ann, BaseModel):
                sub: dict[str, Any] = {}
                for sname in ann.model_fields:
                    var = f"{ENV_PREFIX}{name.upper()}{NESTED_SEP}{sname.upper()}"
                    if var in env:
                        sub[sname] = env[var]
                if sub:
                    data[name] = sub
            else:
                var = ENV_PREFIX + name.upper()
                if var in env:
                    data[name] = env[var]
        for name, value in overrides.items():
            if name not in cls.model_fields:
                raise ValueError(f"unknown setting: {name}")
            if isinstance(value, Mapping) and isinstance(data.get(name), dict):
                data[name] = {**data[name], **value}
            else:
                data[name] = value
        for name, value in data.items():  # a partly given group keeps this field's own defaults
            default = cls.model_fields[name].get_default(call_default_factory=True)
            if isinstance(value, dict) and isinstance(default, BaseModel):
                data[name] = {**default.model_dump(), **value}
        return cls.model_validate(data)
