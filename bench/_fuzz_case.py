"""What every fuzz case is made of (bench/fuzz.py): the request as sent (:class:`Case`)
and its answer (:class:`Outcome`), the media types, the paths of the five resources
fuzzed in the namespace ``fuzz``, a valid object of each, and :func:`with_raw` for JSON
text that orjson would not write.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import orjson
from _cluster import TOKEN

__all__ = ["ADMIN", "APPLY", "HOLE", "JSON", "JSON_PATCH", "MERGE", "NS", "RESOURCES", "STRATEGIC",
           "SUBRESOURCES", "TARGET", "YAML", "Case", "Outcome", "b", "collection", "container", "obj",
           "with_raw"]

NS = "fuzz"
TARGET = "target"  # one object of each resource, made before the fuzz: what patches hit
ADMIN = b"Bearer " + TOKEN.encode()
JSON = b"application/json"
YAML = b"application/yaml"
MERGE = b"application/merge-patch+json"
STRATEGIC = b"application/strategic-merge-patch+json"
JSON_PATCH = b"application/json-patch+json"
APPLY = b"application/apply-patch+yaml"
HOLE = b'"@@hole@@"'
"""Where :func:`with_raw` puts JSON text that orjson would not write (numbers past 64 bits,
lone surrogates, invalid UTF-8)."""

RESOURCES = {
    "configmaps": f"/api/v1/namespaces/{NS}/configmaps",
    "secrets": f"/api/v1/namespaces/{NS}/secrets",
    "services": f"/api/v1/namespaces/{NS}/services",
    "pods": f"/api/v1/namespaces/{NS}/pods",
    "deployments": f"/apis/apps/v1/namespaces/{NS}/deployments",
}
SUBRESOURCES = {"pods": ("status", "binding"), "deployments": ("status", "scale"),
                "services": ("status",)}


def container() -> dict[str, Any]:
    return {"name": "c", "image": "busybox:1.36", "resources": {"requests": {"cpu": "10m"}}}


def obj(resource: str, name: str) -> dict[str, Any]:
    """A valid object of ``resource`` named ``name``."""
    md: dict[str, Any] = {"name": name, "labels": {"app": "fz"}}
    if resource == "configmaps":
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {"a": "b"}}
    if resource == "secrets":
        return {"apiVersion": "v1", "kind": "Secret", "metadata": md, "type": "Opaque",
                "stringData": {"a": "b"}}
    if resource == "services":
        return {"apiVersion": "v1", "kind": "Service", "metadata": md,
                "spec": {"selector": {"app": "fz"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    if resource == "pods":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
                "spec": {"containers": [container()]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md,
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "fz"}},
                     "template": {"metadata": {"labels": {"app": "fz"}},
                                  "spec": {"containers": [container()]}}}}


def with_raw(value: Any, raw: bytes) -> bytes:
    """``value`` as JSON with the string ``"@@hole@@"`` in it replaced by ``raw``."""
    return orjson.dumps(value).replace(HOLE, raw, 1)


@dataclass
class Case:
    """One request, as sent."""

    category: str
    label: str  # a short description of what is hostile in it
    method: str
    target: bytes  # the request target (path and query), raw
    body: bytes | None = None
    content_type: bytes | None = JSON
    auth: bytes | None = ADMIN  # the Authorization header's value; None: no header
    headers: list[bytes] = field(default_factory=list)  # more header lines, raw
    declared: int | None = None  # a Content-Length other than the body's own
    chunked: bool = False
    refuse: bool = False  # the server must refuse it: a 2xx is a failure
    close_after: float | None = None  # a watch the client closes after so many seconds


@dataclass
class Outcome:
    case: Case
    status: int  # 0: no answer
    body: bytes
    error: str  # "", "hang" or "connection error: ..."
    seconds: float


def b(s: str) -> bytes:
    return s.encode()


def collection(rng: random.Random, resources: tuple[str, ...] = tuple(RESOURCES)) -> tuple[str, str]:
    r = rng.choice(resources)
    return r, RESOURCES[r]
