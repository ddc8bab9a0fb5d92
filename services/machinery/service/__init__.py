"""How every jetkube service starts, runs and stops: the top of machinery.

:func:`run_service` composes the layers below (runtime: settings, logging,
tracing; store: NATS and the KV bucket; client: API client, informers,
events, leader election) into a :class:`ServiceRuntime` and runs a service's
body on it until a signal.
"""

from __future__ import annotations

from ._service import (
    ServiceRuntime,
    add_service_flags,
    lead_forever,
    new_term,
    open_runtime,
    publish_spans,
    run_service,
    settings_from_flags,
)

__all__ = [
    "ServiceRuntime",
    "add_service_flags",
    "lead_forever",
    "new_term",
    "open_runtime",
    "publish_spans",
    "run_service",
    "settings_from_flags",
]
