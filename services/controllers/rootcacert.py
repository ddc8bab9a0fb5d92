"""The root-CA publisher: the ConfigMap ``kube-root-ca.crt`` in every namespace.

As Kubernetes' root-ca-cert-publisher: a namespace that is added or changes is queued,
and so is the namespace of a ``kube-root-ca.crt`` ConfigMap that is changed or deleted;
``reconcile(namespace)`` creates the ConfigMap (``data["ca.crt"]`` = the cluster CA
bundle, with Kubernetes' description annotation) or puts back its data and annotation when
they differ, unless the namespace is gone or terminating.  Pods read it through their
``kube-api-access-*`` projected volume (``ca.crt``) to verify the API server.

The bundle is the controller-manager's ``--root-ca-file`` (kctl up: the cluster CA).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors, object_key
from ..machinery.client import Controller, Informer, WorkQueue
from .context import ControllerContext
from .serviceaccount import active

log = logging.getLogger(__name__)

NAME = "root-ca-cert-publisher"
CONFIGMAP = "kube-root-ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when "
               "using internal endpoints such as the internal service IP or "
               "kubernetes.default.svc. No other usage is guaranteed across distributions "
               "of Kubernetes clusters.")


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, Mapping) else {}


class RootCACertPublisher:
    def __init__(self, ctx: ControllerContext, root_ca: str) -> None:
        self.api = ctx.rt.api
        self.root_ca = root_ca
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        inf = ctx.rt.informers
        self.namespaces: Informer[Obj] = inf.informer("namespaces")
        self.configmaps: Informer[Obj] = inf.informer("configmaps")
        self.namespaces.add_event_handler(self._namespace, lambda _old, new: self._namespace(new),
                                          None)
        self.configmaps.add_event_handler(None, lambda _old, new: self._configmap(new),
                                          self._configmap)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 1))

    def _namespace(self, ns: Obj) -> None:
        self.queue.add(str(_md(ns).get("name") or ""))

    def _configmap(self, cm: Obj) -> None:
        if _md(cm).get("name") == CONFIGMAP:
            self.queue.add(str(_md(cm).get("namespace") or ""))

    def _wanted(self, cm: Obj) -> bool:
        return ((cm.get("data") or {}) == {"ca.crt": self.root_ca}
                and (_md(cm).get("annotations") or {}).get(DESCRIPTION_ANNOTATION)
                == DESCRIPTION)

    async def reconcile(self, namespace: str) -> None:
        if not active(self.namespaces.get(object_key("namespaces", None, namespace))):
            return
        cm = self.configmaps.get(object_key("configmaps", namespace, CONFIGMAP))
        try:
            if cm is None:
                await self.api.create("configmaps", namespace, {
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": CONFIGMAP, "namespace": namespace,
                                 "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                    "data": {"ca.crt": self.root_ca}})
                log.info("published %s in %s", CONFIGMAP, namespace)
            elif not self._wanted(cm):
                md = dict(_md(cm))
                md["annotations"] = {**(md.get("annotations") or {}),
                                     DESCRIPTION_ANNOTATION: DESCRIPTION}
                await self.api.update("configmaps", namespace, CONFIGMAP, {
                    **cm, "metadata": md, "data": {"ca.crt": self.root_ca}})
        except apierrors.ApiError as err:
            # AlreadyExists or Conflict: the cache was behind, its event queues us again;
            # Forbidden / NotFound: the namespace is going away
            if err.reason in ("AlreadyExists", "Conflict", "Forbidden") or err.code == 404:
                return
            raise


def build(ctx: ControllerContext) -> Controller:
    path = ctx.options.root_ca_file
    root_ca = path.read_text() if path is not None else ""
    if not root_ca:
        log.warning("no --root-ca-file: %s holds an empty ca.crt", CONFIGMAP)
    return RootCACertPublisher(ctx, root_ca).controller


__all__ = ["CONFIGMAP", "RootCACertPublisher", "build"]
