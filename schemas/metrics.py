"""metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics: resource usage (``kubectl top``).

Read-only and never stored: the API server builds them at each request from what the node
agents report (services/apiserver/metrics.py).  ``usage`` holds ``cpu`` (cores used over
``window``, as a quantity: ``"123456n"``, ``"5m"``) and ``memory`` (the working set in
bytes: ``"12345Ki"``); ``timestamp`` is when the usage was measured and ``window`` the
interval it is averaged over (a Go duration: ``"10.5s"``).
"""

from __future__ import annotations

from pydantic import Field

from .base import K8sModel, Time
from .meta import ObjectMeta
from .quantity import ResourceList


class NodeMetrics(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    timestamp: Time
    window: str
    usage: ResourceList


class ContainerMetrics(K8sModel):
    name: str
    usage: ResourceList


class PodMetrics(K8sModel):
    apiVersion: str | None = None
    kind: str | None = None
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    timestamp: Time
    window: str
    containers: list[ContainerMetrics]
