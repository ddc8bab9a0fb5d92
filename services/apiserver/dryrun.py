"""Server-side dry run (``?dryRun=All``), as kube-apiserver does it.

A dry-run write goes through every step of a real one (decoding, defaulting,
validation, admission, the AlreadyExists / Conflict / NotFound checks) and answers
with the object it would have stored, but the store sees no write: a create answers
the would-be uid and creationTimestamp and no resourceVersion, an update, patch or
delete the current resourceVersion (nothing new was written).  Admission looks for a
ClusterIP or NodePort without taking it, checks quota without counting the object,
and no node hears of it (no per-node pod event).

The request's dry-run flag is a context variable, :data:`DRY_RUN`, set for the one
request by the handlers (as :data:`~.request.REQUEST_USER` is), so the write paths
and admission read it where they would write, and the subresources (status, scale,
binding) are dry-run through the same code without a parameter of their own.
"""

from __future__ import annotations

from contextvars import ContextVar

from ..machinery.apimachinery import apierrors
from .request import ApiRequest, Setting

DRY_RUN_ALL = "All"

DRY_RUN: ContextVar[bool] = ContextVar("jetkube_dry_run", default=False)
"""True while serving a request that asked for ``dryRun=All``."""

_OPTIONS_KIND = {"create": "CreateOptions", "update": "UpdateOptions",
                 "patch": "PatchOptions", "delete": "DeleteOptions",
                 "deletecollection": "DeleteOptions"}

WRITE_SUBRESOURCES = frozenset({"status", "finalize", "scale", "binding"})
"""Subresources whose writes are dry-run (log, exec... are connections, not writes)."""


def active() -> bool:
    """Whether the request being served is a dry run."""
    return DRY_RUN.get()


def requested(req: ApiRequest) -> bool:
    """Whether ``req`` asks for a dry run; 422 for any value but ``All`` (kube-apiserver's
    ``ValidateDryRun``: ``<Verb>Options.meta.k8s.io "" is invalid: dryRun: Unsupported
    value: []string{"x"}: supported values: "All"``), an empty one too.  Reads and
    connections ignore it.  The value is params.py's (a repeated ``dryRun`` arrives as its
    distinct values comma-joined; every one must be ``All``)."""
    kind = _OPTIONS_KIND.get(req.verb)
    if kind is None or "dryRun" not in req.query:
        return False
    if req.subresource is not None and req.subresource not in WRITE_SUBRESOURCES:
        return False
    value = req.params.dry_run or req.query["dryRun"]
    if value == DRY_RUN_ALL:
        return True
    listed = ", ".join(f'"{v}"' for v in value.split(","))
    message = f'Unsupported value: []string{{{listed}}}: supported values: "{DRY_RUN_ALL}"'
    raise apierrors.ApiError(
        422, "Invalid", f'{kind}.meta.k8s.io "" is invalid: dryRun: {message}',
        {"name": "", "group": "meta.k8s.io", "kind": kind,
         "causes": [{"reason": "FieldValueNotSupported", "message": message,
                     "field": "dryRun"}]})


def serving(req: ApiRequest) -> Setting[bool]:
    """Set :data:`DRY_RUN` for the request ``req`` while it is served (``with``)."""
    return Setting(DRY_RUN, requested(req))
