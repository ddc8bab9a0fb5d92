"""Helpers for the Deployment / ReplicaSet scenarios (test scaffolding, not a product).

Each scenario works in its own namespace on hollow nodes of its own pool (a
nodeSelector keeps its pods off nodes other scenarios left behind); the real
scheduler binds the pods and the hollow nodes mark them Running and Ready.
Requests go through the official kubernetes client, as a user's would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from polling import wait_until

from jetkube.schemas.objects import Obj

REVISION = "deployment.kubernetes.io/revision"


def deployment(name: str, replicas: int, pool: dict[str, str], image: str = "busybox:1.36",
               **spec: Any) -> Obj:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "nodeSelector": pool, "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "c", "image": image}]}}, **spec}}


@contextmanager
def namespace(k8s: Any, name: str) -> Iterator[Api]:
    """A fresh namespace for one scenario, deleted afterwards (use it inside the hollow
    nodes' block, so they are still there to finish the pods' graceful deletion)."""
    api = Api(k8s, name)
    try:
        yield api
    finally:
        api.delete_namespace()
        try:
            wait_until(api.namespace_gone, timeout=30, interval=0.05, message=f"namespace {name} to go")
        except AssertionError as err:
            print(f"cleanup: {err}")  # not the scenario's failure


class Api:
    """The typed clients a scenario needs, for one namespace."""

    def __init__(self, k8s: Any, namespace: str) -> None:
        client, api_client = k8s
        self.client = client
        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.ns = namespace
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))

    def delete_namespace(self) -> None:
        """Best effort: leave nothing running on nodes that are about to go silent."""
        try:
            self.core.delete_namespace(self.ns)
        except self.client.ApiException:
            pass

    def namespace_gone(self) -> bool:
        try:
            self.core.read_namespace(self.ns)
        except self.client.ApiException as err:
            return bool(err.status == 404)
        return False

    def pods(self, selector: str | None = None) -> list[Any]:
        return list(self.core.list_namespaced_pod(self.ns, label_selector=selector or "").items)

    def replicasets(self) -> list[Any]:
        return list(self.apps.list_namespaced_replica_set(self.ns).items)

    def deployment(self, name: str) -> Any:
        return self.apps.read_namespaced_deployment(name, self.ns)

    def patch_deployment(self, name: str, patch: Obj) -> Any:
        return self.apps.patch_namespaced_deployment(name, self.ns, patch)

    def set_image(self, name: str, image: str) -> Any:
        return self.patch_deployment(name, {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": image}]}}}})

    def events(self, reason: str) -> list[Any]:
        return [e for e in self.core.list_namespaced_event(self.ns).items if e.reason == reason]

    def rolled_out(self, name: str) -> bool:
        """Complete: every replica updated and available, nothing else left running."""
        d = self.deployment(name)
        st, want = d.status, d.spec.replicas
        if st is None or (st.observed_generation or 0) < d.metadata.generation:
            return False
        if (st.updated_replicas or 0, st.replicas or 0, st.available_replicas or 0) != (
                want, want, want):
            return False
        return len(self.pods(f"app={name}")) == want  # the old pods are gone too


def live(pod: Any) -> bool:
    return pod.metadata.deletion_timestamp is None and (pod.status is None or pod.status.phase
                                                        not in ("Succeeded", "Failed"))


def ready(pod: Any) -> bool:
    conds = (pod.status.conditions if pod.status else None) or []
    return any(c.type == "Ready" and c.status == "True" for c in conds)


class PodWatcher:
    """Watches a namespace's pods from a list's resourceVersion and checks at every change
    how many are live (not being deleted, not finished) and how many of those are Ready."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.pods: dict[str, Any] = {}
        self.max_live = 0
        self.min_ready: int | None = None
        self.changes = 0
        self.trace: list[tuple[int, int]] = []  # (live, ready) after each change
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._error: BaseException | None = None

    def _note(self) -> None:
        alive = [p for p in self.pods.values() if live(p)]
        n_ready = sum(1 for p in alive if ready(p))
        self.changes += 1
        self.trace.append((len(alive), n_ready))
        self.max_live = max(self.max_live, len(alive))
        self.min_ready = n_ready if self.min_ready is None else min(self.min_ready, n_ready)

    def _run(self) -> None:
        from kubernetes import watch

        try:
            listed = self.api.core.list_namespaced_pod(self.api.ns)
            self.pods = {p.metadata.name: p for p in listed.items}
            self._note()
            rv = listed.metadata.resource_version
            w = watch.Watch()
            while not self._stop.is_set():
                for ev in w.stream(self.api.core.list_namespaced_pod, self.api.ns,
                                   resource_version=rv, timeout_seconds=1):
                    pod = ev["object"]
                    rv = pod.metadata.resource_version
                    if ev["type"] == "DELETED":
                        self.pods.pop(pod.metadata.name, None)
                    else:
                        self.pods[pod.metadata.name] = pod
                    self._note()
                    if self._stop.is_set():
                        break
        except BaseException as err:  # surfaced by stop()
            self._error = err

    @contextmanager
    def running(self) -> Iterator[PodWatcher]:
        self._thread.start()
        wait_until(lambda: self.changes > 0, timeout=10, interval=0.05, message="the pod watch to list")
        try:
            yield self
        finally:
            time.sleep(0.5)  # the last events in flight
            self._stop.set()
            self._thread.join(10)
        if self._error is not None:
            raise self._error
