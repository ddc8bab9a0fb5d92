"""Test helper for kctl's scale / rollout / columns tests (not a test module): an
apps-aware fake API and object builders (deployment, replicaset, template).

``AppsFakeApi`` extends the fake of kctl_fakeapi.py with the ``batch`` group (jobs)
and daemonsets, the ``scale`` subresource (GET, merge PATCH, PUT with a
resourceVersion check), and JSON patches (``replace`` / ``add`` / ``remove`` on
pointer paths), which ``rollout undo`` sends.  A test module gets it as its ``api``
fixture with ``pytestmark = pytest.mark.fake_api(cls=AppsFakeApi)`` (tests/kctl/conftest.py);
the fake's own tests are in test_kctl_rollout_fakeapps.py.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import httpx
from kctl_fakeapi import FakeApi, status

from jetkube.schemas.objects import Obj

EXTRA: list[tuple[str, str, str, bool, list[str]]] = [
    # group, kind, plural, namespaced, shortNames (all v1)
    ("apps", "DaemonSet", "daemonsets", True, ["ds"]),
    ("batch", "Job", "jobs", True, []),
]
_PATH = re.compile(r"(?:/api/v1|/apis/([^/]+)/v1)(?:/namespaces/([^/]+))?/([^/]+)"
                   r"(?:/([^/]+))?(?:/([^/]+))?")


def _pointer(doc: Any, path: str) -> tuple[Any, str]:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    for p in parts[:-1]:
        doc = doc[int(p)] if isinstance(doc, list) else doc[p]
    return doc, parts[-1]


def json_patch(doc: Obj, ops: list[Obj]) -> Obj:
    out = copy.deepcopy(doc)
    for op in ops:
        parent, key = _pointer(out, op["path"])
        if op["op"] == "replace" and key not in parent:
            raise KeyError(op["path"])
        if op["op"] in ("replace", "add"):
            parent[key] = copy.deepcopy(op["value"])
        elif op["op"] == "remove":
            del parent[key]
        else:
            raise ValueError(op["op"])
    return out


class AppsFakeApi(FakeApi):
    def handler(self, req: httpx.Request) -> httpx.Response:
        path = req.url.path
        if path == "/apis" or path in ("/apis/apps/v1", "/apis/batch/v1"):
            resp = super().handler(req)
            body = resp.json()
            if path == "/apis":
                body["groups"].append({"name": "batch", "versions": [
                    {"groupVersion": "batch/v1", "version": "v1"}],
                    "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"}})
            else:
                group = path.split("/")[2]
                if resp.status_code != 200:
                    body = {"kind": "APIResourceList", "resources": []}
                body["resources"] += [
                    {"name": p, "singularName": k.lower(), "namespaced": n, "kind": k,
                     "verbs": ["get", "list", "patch"], "shortNames": s}
                    for g, k, p, n, s in EXTRA if g == group]
            return httpx.Response(200, json=body)
        m = _PATH.fullmatch(path)
        if not m:
            return super().handler(req)
        group, ns, plural, name, sub = (m.group(1) or "", m.group(2) or "", m.group(3),
                                        m.group(4), m.group(5))
        extra = any(g == group and p == plural for g, _, p, _, _ in EXTRA)
        json_patch_req = req.method == "PATCH" and \
            req.headers.get("content-type") == "application/json-patch+json"
        if not (sub or extra or json_patch_req):
            return super().handler(req)
        self.requests.append(req)
        if self.token and req.headers.get("authorization") != f"Bearer {self.token}":
            return status(401, "Unauthorized", "Unauthorized")
        qual = f"{plural}.{group}" if group else plural
        if name is None:
            return self._collection(req, plural, ns, qual)
        cur = self.objects.get((plural, ns, name))
        if cur is None:
            return status(404, "NotFound", f'{qual} "{name}" not found')
        if sub == "scale":
            return self._scale(req, plural, cur)
        if sub:
            return status(404, "NotFound", "the server could not find the requested resource")
        if json_patch_req:
            try:
                new = json_patch(cur, json.loads(req.content))
            except (KeyError, ValueError, IndexError) as e:
                return status(422, "Invalid", f"the JSON patch failed: {e}")
            return httpx.Response(200, json=self.add(plural, new))
        return self._item(req, plural, ns, name, qual)

    def _scale(self, req: httpx.Request, plural: str, cur: Obj) -> httpx.Response:
        meta = cur["metadata"]

        def scale_of(o: Obj) -> Obj:
            return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                    "metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                                 "resourceVersion": o["metadata"]["resourceVersion"]},
                    "spec": {"replicas": (o.get("spec") or {}).get("replicas", 1)},
                    "status": {"replicas": (o.get("status") or {}).get("replicas", 0)}}
        if req.method == "GET":
            return httpx.Response(200, json=scale_of(cur))
        body = json.loads(req.content)
        if req.method == "PUT":
            if body["metadata"].get("resourceVersion") != meta["resourceVersion"]:
                return status(409, "Conflict", "Operation cannot be fulfilled")
        elif req.method != "PATCH":
            return status(405, "MethodNotAllowed", "not allowed")
        new = copy.deepcopy(cur)
        new.setdefault("spec", {})["replicas"] = body["spec"]["replicas"]
        return httpx.Response(200, json=scale_of(self.add(plural, new)))


# --- builders ---------------------------------------------------------------------------

def template(image: str, **annotations: str) -> Obj:
    meta: Obj = {"labels": {"app": "web"}}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"metadata": meta,
            "spec": {"containers": [{"name": "web", "image": image}]}}


def deployment(name: str = "web", image: str = "nginx:1.25", replicas: int = 3,
               revision: int = 1, *, generation: int = 1, observed: int = 1,
               status: Obj | None = None, **spec: Any) -> Obj:
    st = {"observedGeneration": observed, "replicas": replicas, "updatedReplicas": replicas,
          "readyReplicas": replicas, "availableReplicas": replicas}
    st.update(status or {})
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}",
                         "generation": generation, "labels": {"app": "web"},
                         "annotations": {"deployment.kubernetes.io/revision": str(revision)}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                     "template": template(image), **spec},
            "status": st}


def replicaset(deploy: str, hash_: str, image: str, revision: int, replicas: int = 0,
               cause: str | None = None, created: str = "2024-01-01T00:00:00Z") -> Obj:
    tmpl = template(image)
    tmpl["metadata"]["labels"]["pod-template-hash"] = hash_
    anns = {"deployment.kubernetes.io/revision": str(revision)}
    if cause:
        anns["kubernetes.io/change-cause"] = cause
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{deploy}-{hash_}", "namespace": "default",
                         "creationTimestamp": created,
                         "labels": {"app": "web", "pod-template-hash": hash_},
                         "annotations": anns,
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                              "name": deploy, "uid": f"uid-{deploy}",
                                              "controller": True}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {
                "app": "web", "pod-template-hash": hash_}}, "template": tmpl},
            "status": {"replicas": replicas}}
