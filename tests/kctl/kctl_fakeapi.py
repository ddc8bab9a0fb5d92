"""Test helper for kctl's unit tests (not a test module): a fake Kubernetes API
(httpx.MockTransport), ``Kctl`` to run kctl in-process against it, and builders.

The fake serves discovery, CRUD with resourceVersions, merge patches, DeleteOptions,
label/field selectors and watch streams from a queue, and records every request so
tests can assert on what kctl sent.  The ``api`` and ``kctl`` fixtures are in
tests/kctl/conftest.py; the fake's own tests are in test_kctl_fakeapi.py.
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from jetkube.cli.main import run
from jetkube.schemas.objects import Obj

RESOURCES: list[tuple[str, str, str, str, bool, list[str]]] = [
    # group, version, kind, plural, namespaced, shortNames
    ("", "v1", "Pod", "pods", True, ["po"]),
    ("", "v1", "Service", "services", True, ["svc"]),
    ("", "v1", "Endpoints", "endpoints", True, ["ep"]),
    ("", "v1", "Node", "nodes", False, ["no"]),
    ("", "v1", "Namespace", "namespaces", False, ["ns"]),
    ("", "v1", "ConfigMap", "configmaps", True, ["cm"]),
    ("", "v1", "Secret", "secrets", True, []),
    ("", "v1", "Event", "events", True, ["ev"]),
    ("apps", "v1", "Deployment", "deployments", True, ["deploy"]),
    ("apps", "v1", "ReplicaSet", "replicasets", True, ["rs"]),
    ("coordination.k8s.io", "v1", "Lease", "leases", True, []),
    ("example.com", "v1", "Widget", "widgets", True, ["wd"]),
]


def _merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _merge(out.get(k), v)
    return out


def status(code: int, reason: str, message: str) -> httpx.Response:
    return httpx.Response(code, json={"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "message": message, "reason": reason, "code": code})


@dataclass
class FakeApi:
    objects: dict[tuple[str, str, str], Obj] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)
    watch_events: list[Obj] = field(default_factory=list)
    token: str | None = "secret-token"
    defaults: Callable[[str, Obj], None] | None = None  # server-side defaulting hook
    rv: Iterator[int] = field(default_factory=lambda: itertools.count(100))

    # --- seeding / inspection ------------------------------------------
    def add(self, plural: str, obj: Obj) -> Obj:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", f"uid-{meta['name']}")
        meta.setdefault("creationTimestamp", "2024-01-01T00:00:00Z")
        meta["resourceVersion"] = str(next(self.rv))
        self.objects[(plural, meta.get("namespace", ""), meta["name"])] = obj
        return obj

    def get(self, plural: str, ns: str, name: str) -> Obj | None:
        return self.objects.get((plural, ns, name))

    def sent(self, method: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method]

    def body(self, req: httpx.Request) -> Any:
        return json.loads(req.content) if req.content else None

    # --- HTTP ------------------------------------------------------------
    def handler(self, req: httpx.Request) -> httpx.Response:
        self.requests.append(req)
        if self.token and req.headers.get("authorization") != f"Bearer {self.token}":
            return status(401, "Unauthorized", "Unauthorized")
        path = req.url.path
        if path == "/api":
            return httpx.Response(200, json={"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            groups = sorted({g for g, *_ in RESOURCES if g})
            return httpx.Response(200, json={"kind": "APIGroupList", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/v1", "version": "v1"}],
                 "preferredVersion": {"groupVersion": f"{g}/v1", "version": "v1"}}
                for g in groups]})
        if path == "/version":
            return httpx.Response(200, json={"gitVersion": "v1.30.0-jetkube", "major": "1"})
        if path == "/healthz":
            return httpx.Response(200, text="ok")
        if path == "/readyz":
            return httpx.Response(200, text="[+]ping ok\n[+]store ok\nreadyz check passed")
        m = re.fullmatch(r"/api/v1|/apis/([^/]+)/v1", path)
        if m:
            group = m.group(1) or ""
            return httpx.Response(200, json={"kind": "APIResourceList", "resources": [
                {"name": p, "singularName": k.lower(), "namespaced": n, "kind": k,
                 "verbs": ["get", "list", "create"], "shortNames": s}
                for g, _, k, p, n, s in RESOURCES if g == group]})
        m = re.fullmatch(r"(?:/api/v1|/apis/([^/]+)/v1)(?:/namespaces/([^/]+))?/([^/]+)(?:/([^/]+))?",
                         path)
        if not m:
            return status(404, "NotFound", "the server could not find the requested resource")
        group, ns, plural, name = m.group(1) or "", m.group(2) or "", m.group(3), m.group(4)
        if not any(g == group and p == plural for g, _, _, p, _, _ in RESOURCES):
            return status(404, "NotFound", "the server could not find the requested resource")
        qual = f"{plural}.{group}" if group else plural
        if name is None:
            return self._collection(req, plural, ns, qual)
        return self._item(req, plural, ns, name, qual)

    def _matches(self, req: httpx.Request, o: Obj) -> bool:
        sel = req.url.params.get("labelSelector")
        labels = (o.get("metadata") or {}).get("labels") or {}
        if sel:
            for part in sel.split(","):
                k, _, v = part.partition("=")
                if labels.get(k) != v:
                    return False
        fsel = req.url.params.get("fieldSelector")
        if fsel:
            for part in fsel.split(","):
                k, _, v = part.partition("=")
                cur: Any = o
                for step in k.split("."):
                    cur = cur.get(step) if isinstance(cur, dict) else None
                if str(cur) != v:
                    return False
        return True

    def _collection(self, req: httpx.Request, plural: str, ns: str, qual: str) -> httpx.Response:
        if req.method == "GET":
            if req.url.params.get("watch") == "true":
                lines = "".join(json.dumps(e) + "\n" for e in self.watch_events)
                self.watch_events = []
                return httpx.Response(200, content=lines.encode())
            items = [copy.deepcopy(o) for (p, n, _), o in sorted(self.objects.items())
                     if p == plural and (not ns or n == ns) and self._matches(req, o)]
            return httpx.Response(200, json={"kind": "List", "items": items,
                                             "metadata": {"resourceVersion": "500"}})
        if req.method == "POST":
            obj = json.loads(req.content)
            name = obj["metadata"]["name"]
            if (plural, ns, name) in self.objects:
                return status(409, "AlreadyExists", f'{qual} "{name}" already exists')
            if ns:
                obj["metadata"]["namespace"] = ns
            if self.defaults:
                self.defaults(plural, obj)
            return httpx.Response(201, json=self.add(plural, obj))
        return status(405, "MethodNotAllowed", "not allowed")

    def _item(self, req: httpx.Request, plural: str, ns: str, name: str,
              qual: str) -> httpx.Response:
        key = (plural, ns, name)
        cur = self.objects.get(key)
        if cur is None:
            return status(404, "NotFound", f'{qual} "{name}" not found')
        if req.method == "GET":
            return httpx.Response(200, json=copy.deepcopy(cur))
        if req.method == "PATCH":
            assert req.headers["content-type"] == "application/merge-patch+json"
            new = _merge(cur, json.loads(req.content))
            want = (json.loads(req.content).get("metadata") or {}).get("resourceVersion")
            if want and want != cur["metadata"]["resourceVersion"]:
                return status(409, "Conflict", f'Operation cannot be fulfilled on {qual} "{name}"')
            return httpx.Response(200, json=self.add(plural, new))
        if req.method == "PUT":
            new = json.loads(req.content)
            if new["metadata"].get("resourceVersion") != cur["metadata"]["resourceVersion"]:
                return status(409, "Conflict", f'Operation cannot be fulfilled on {qual} "{name}"')
            return httpx.Response(200, json=self.add(plural, new))
        if req.method == "DELETE":
            if cur["metadata"].get("finalizers"):
                cur["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:01Z"
                return httpx.Response(200, json=self.add(plural, cur))
            del self.objects[key]
            return httpx.Response(200, json={"kind": "Status", "status": "Success",
                                             "details": {"name": name, "kind": plural}})
        return status(405, "MethodNotAllowed", "not allowed")


@dataclass
class Kctl:
    """Runs kctl in-process against the fake; returns (exit code, stdout, stderr)."""

    api: FakeApi
    kubeconfig: Path
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str, stdin: str | None = None) -> tuple[int, str, str]:
        self.capsys.readouterr()
        old = sys.stdin
        if stdin is not None:
            sys.stdin = io.StringIO(stdin)
        try:
            code = run(["--kubeconfig", str(self.kubeconfig), *argv],
                       transport=httpx.MockTransport(self.api.handler))
        finally:
            sys.stdin = old
        out, err = self.capsys.readouterr()
        return code, out, err


def write_kubeconfig(path: Path, *, server: str = "http://127.0.0.1:6443",
                     token: str = "secret-token", namespace: str = "default") -> Path:
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": token}}],
        "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u",
                                                  "namespace": namespace}}]}))
    return path


def pod(name: str, ns: str = "default", **extra: Any) -> Obj:
    o: Obj = {"apiVersion": "v1", "kind": "Pod",
              "metadata": {"name": name, "namespace": ns, "labels": {"app": "web"}},
              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    o.update(extra)
    return o
