"""The service-account controller: a ``default`` ServiceAccount in every namespace.

As Kubernetes' ServiceAccountsController: a namespace that is added or changes is queued,
and so is the namespace of a ServiceAccount that is deleted; ``reconcile(namespace)``
creates each of :data:`ACCOUNTS` that the cache lacks, unless the namespace is gone or
terminating.  AlreadyExists (the cache was behind) and Forbidden (the namespace began
terminating meanwhile) are success.  The ServiceAccount admission plugin refuses pods of an
account that does not exist, so pods of a new namespace wait for this.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from jetkube.schemas.objects import Obj

from ..machinery.apimachinery import apierrors, object_key
from ..machinery.client import Controller, Informer, WorkQueue
from .context import ControllerContext

log = logging.getLogger(__name__)

NAME = "serviceaccount"
ACCOUNTS = ("default",)
"""The accounts every namespace gets (kube-controller-manager's ``ServiceAccounts``)."""


def _md(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    md = obj.get("metadata")
    return md if isinstance(md, Mapping) else {}


def active(ns: Mapping[str, Any] | None) -> bool:
    """A namespace that exists and is not terminating."""
    if ns is None or _md(ns).get("deletionTimestamp"):
        return False
    return (ns.get("status") or {}).get("phase") != "Terminating"


class ServiceAccountsController:
    def __init__(self, ctx: ControllerContext) -> None:
        self.api = ctx.rt.api
        self.queue: WorkQueue[str] = ctx.rt.work_queue(NAME)
        inf = ctx.rt.informers
        self.namespaces: Informer[Obj] = inf.informer("namespaces")
        self.accounts: Informer[Obj] = inf.informer("serviceaccounts")
        self.namespaces.add_event_handler(self._namespace, lambda _old, new: self._namespace(new),
                                          None)
        self.accounts.add_event_handler(None, None, self._account_deleted)
        self.controller = Controller(NAME, self.queue, self.reconcile,
                                     ctx.options.workers(NAME, 1))

    def _namespace(self, ns: Obj) -> None:
        self.queue.add(str(_md(ns).get("name") or ""))

    def _account_deleted(self, sa: Obj) -> None:
        if _md(sa).get("name") in ACCOUNTS:
            self.queue.add(str(_md(sa).get("namespace") or ""))

    async def reconcile(self, namespace: str) -> None:
        if not active(self.namespaces.get(object_key("namespaces", None, namespace))):
            return
        for name in ACCOUNTS:
            if self.accounts.get(object_key("serviceaccounts", namespace, name)) is not None:
                continue
            try:
                await self.api.create("serviceaccounts", namespace, {
                    "apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": namespace}})
            except apierrors.ApiError as err:
                if err.reason in ("AlreadyExists", "Forbidden") or err.code == 404:
                    continue  # the cache was behind; or the namespace is going away
                raise
            log.info("created serviceaccount %s/%s", namespace, name)


def build(ctx: ControllerContext) -> Controller:
    return ServiceAccountsController(ctx).controller


__all__ = ["ACCOUNTS", "ServiceAccountsController", "build"]
