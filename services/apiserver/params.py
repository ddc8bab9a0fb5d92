"""Query parameters of the REST verbs, decoded and checked in one place for both faces.

:data:`PARAMETERS` is the table: each known parameter with its type and range, as
Kubernetes' ``ListOptions``, ``DeleteOptions``, ``CreateOptions`` (…) declare them.  A bad
value is 400 BadRequest naming the parameter and the value; the handlers read the parsed
:class:`Params` and never cast a query string themselves.  Unknown parameters are ignored,
as kube-apiserver ignores them.  As in Kubernetes (``runtime.Convert_Slice_string_To_*``),
of a repeated parameter the first value counts, and a boolean is false only when absent,
``0`` or ``false`` (any case): any other value, even empty, is true.  An empty integer or
enumeration is taken as absent (the parameter was not given a value).  ``dryRun`` and
``fieldValidation`` are refused by the code that acts on them (dryrun.py, decode.py) with
kube-apiserver's 422 for its ``CreateOptions``/``UpdateOptions``/... .  Watch options that
do not go together (``sendInitialEvents``, ``resourceVersionMatch``: the WatchList rules)
are 422 Invalid ``ListOptions`` naming the field, with Kubernetes' wording.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ..machinery.apimachinery import apierrors

INT64_MAX = 2**63 - 1
UINT64_MAX = 2**64 - 1
_INTEGER = re.compile(r"[+-]?[0-9]{1,20}")
_DIGITS = re.compile(r"[0-9]{1,20}")


def _invalid(name: str, value: str, why: str) -> apierrors.ApiError:
    message = f'{name}: Invalid value: "{value}": {why}'
    return apierrors.bad_request(
        message, [{"reason": "FieldValueInvalid", "field": name, "message": message}])


def _unsupported(name: str, value: str, choices: tuple[str, ...]) -> apierrors.ApiError:
    listed = ", ".join(f'"{c}"' for c in choices)
    message = f'{name}: Unsupported value: "{value}": supported values: {listed}'
    return apierrors.bad_request(
        message, [{"reason": "FieldValueNotSupported", "field": name, "message": message}])


def _non_negative_int(name: str, value: str) -> int | None:
    if value == "":
        return None
    n = int(value) if _INTEGER.fullmatch(value) else -1  # Go's strconv.ParseInt syntax
    if not 0 <= n <= INT64_MAX:
        raise _invalid(name, value, "must be a non-negative integer (int64)")
    return n


def _bool(_name: str, value: str) -> bool:
    return not (value == "0" or value.lower() == "false")


def _resource_version(name: str, value: str) -> str:
    if value and not (_DIGITS.fullmatch(value) and int(value) <= UINT64_MAX):
        raise _invalid(name, value, "must be a resource version (a non-negative integer)")
    return value


def _text(_name: str, value: str) -> str:
    return value


def _enum(*choices: str) -> Callable[[str, str], str | None]:
    def check(name: str, value: str) -> str | None:
        if value == "":
            return None
        if value not in choices:
            raise _unsupported(name, value, choices)
        return value
    return check


PARAMETERS: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    # query name: (Params field, parse)
    "limit": ("limit", _non_negative_int),
    "continue": ("continue_", _text),
    "labelSelector": ("label_selector", _text),  # parsed by filters.build_filter (400)
    "fieldSelector": ("field_selector", _text),
    "resourceVersion": ("resource_version", _resource_version),
    "resourceVersionMatch": ("resource_version_match", _enum("NotOlderThan", "Exact")),
    "watch": ("watch", _bool),
    "allowWatchBookmarks": ("allow_watch_bookmarks", _bool),
    "sendInitialEvents": ("send_initial_events", _bool),
    "timeoutSeconds": ("timeout_seconds", _non_negative_int),
    "gracePeriodSeconds": ("grace_period_seconds", _non_negative_int),
    "propagationPolicy": ("propagation_policy", _enum("Foreground", "Background", "Orphan")),
    "orphanDependents": ("orphan_dependents", _bool),
    "dryRun": ("dry_run", _text),  # checked by dryrun.py (422, as kube-apiserver)
    "fieldValidation": ("field_validation", _text),  # checked by decode.py (422, as kube)
    "fieldManager": ("field_manager", _text),  # checked by managedfields.py (422)
    "force": ("force", _bool),  # for apply patches only: managedfields.py (422 otherwise)
    "includeObject": ("include_object", _text),  # checked by tables.py when a Table is asked
}

REPEATED = ("dryRun",)
"""Parameters Kubernetes reads as a list, so every value counts: their distinct values are
kept comma-joined (``All,x`` is then refused as a whole, ``All&All`` is ``All``)."""


@dataclass(frozen=True, slots=True)
class Params:
    """The parsed query of one request (defaults: the parameter was not given)."""

    limit: int | None = None
    continue_: str = ""
    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    resource_version_match: str | None = None
    watch: bool = False
    allow_watch_bookmarks: bool = False
    send_initial_events: bool | None = None
    timeout_seconds: int | None = None
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    orphan_dependents: bool | None = None
    dry_run: str = ""
    field_validation: str = ""
    field_manager: str = ""
    force: bool | None = None
    include_object: str = ""

    def delete_options(self) -> dict[str, Any]:
        """The DeleteOptions fields the query sets (``orphanDependents`` as its policy)."""
        opts: dict[str, Any] = {}
        if self.grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = self.grace_period_seconds
        if self.propagation_policy is not None:
            opts["propagationPolicy"] = self.propagation_policy
        elif self.orphan_dependents is not None:
            opts["propagationPolicy"] = "Orphan" if self.orphan_dependents else "Background"
        return opts


NO_PARAMS = Params()
"""The parameters of a request without a query (frozen: one shared by all)."""


_OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "kind": (str,), "apiVersion": (str,), "gracePeriodSeconds": (int,),
    "propagationPolicy": (str,), "orphanDependents": (bool,), "dryRun": (list,),
    "preconditions": (dict,),
}


def check_delete_options(opts: dict[str, Any]) -> None:
    """A DeleteOptions body: each known field of its Kubernetes type (null allowed), the
    grace period an int64 >= 0, preconditions strings; 400 naming the field otherwise."""
    for name, value in opts.items():
        kinds = _OPTION_TYPES.get(name)
        if value is None or kinds is None:
            continue
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise _invalid(name, str(value)[:64], f"must be of type {kinds[0].__name__}")
    grace = opts.get("gracePeriodSeconds")
    if grace is not None and not 0 <= grace <= INT64_MAX:
        raise _invalid("gracePeriodSeconds", str(grace), "must be a non-negative integer (int64)")
    for field in ("uid", "resourceVersion"):
        value = (opts.get("preconditions") or {}).get(field)
        if value is not None and not isinstance(value, str):
            raise _invalid(f"preconditions.{field}", str(value)[:64], "must be of type string")


def parse(query: Mapping[str, str]) -> Params:
    """Check every known parameter of ``query`` and return their parsed values (no query,
    the usual write's: the shared defaults, 0.1 µs against 3.6)."""
    if not query:
        return NO_PARAMS
    values: dict[str, Any] = {}
    for name, raw in query.items():
        known = PARAMETERS.get(name)
        if known is not None:
            field, check = known
            values[field] = check(name, raw)
    p = Params(**{k: v for k, v in values.items() if v is not None})
    if p.orphan_dependents is not None and p.propagation_policy is not None:
        raise _invalid("propagationPolicy", p.propagation_policy,
                       "orphanDependents and propagationPolicy cannot be both set")
    _check_list_options(p)
    return p


def _check_list_options(p: Params) -> None:
    """Kubernetes' ``ValidateListOptions`` with the WatchList feature on.

    A watch's options (``validateWatchOptions``) and ``sendInitialEvents`` on a list are
    refused as kube-apiserver refuses them: 422 Invalid ``ListOptions`` with every field
    error.  ``sendInitialEvents`` (true or false) needs ``resourceVersionMatch=NotOlderThan``
    and a ``resourceVersionMatch`` on a watch needs ``sendInitialEvents``.  As in
    Kubernetes, ``allowWatchBookmarks`` is not required: without it a WatchList gets its
    initial events but no ``k8s.io/initial-events-end`` bookmark.  The list-only rules on
    ``resourceVersionMatch`` stay 400, as they were here."""
    match = p.resource_version_match
    if p.watch or p.send_initial_events is not None:
        causes = _watch_option_errors(p) if p.watch else [_forbidden(
            "sendInitialEvents", "sendInitialEvents is forbidden for list")]
        if causes:
            raise apierrors.invalid("ListOptions", "", causes, "meta.k8s.io")
    if p.watch:
        return
    if match is not None and p.continue_:
        raise _invalid("resourceVersionMatch", match, "forbidden when continue is provided")
    if match is not None and not p.resource_version:
        raise _invalid("resourceVersionMatch", match,
                       "forbidden unless resourceVersion is provided")
    if match == "Exact" and p.resource_version == "0":
        raise _invalid("resourceVersionMatch", match, 'Exact is forbidden for resourceVersion "0"')


def _forbidden(field: str, detail: str) -> dict[str, str]:
    """A field error as Kubernetes' ``field.Forbidden`` (a cause of a 422)."""
    return {"reason": "FieldValueForbidden", "field": field, "message": f"Forbidden: {detail}"}


def _watch_option_errors(p: Params) -> list[dict[str, str]]:
    """Kubernetes' ``validateWatchOptions``, in its order."""
    match = p.resource_version_match
    causes: list[dict[str, str]] = []
    if p.send_initial_events is not None and match != "NotOlderThan":
        causes.append(_forbidden(
            "resourceVersionMatch",
            "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
    if match is not None:
        if p.send_initial_events is None:
            causes.append(_forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"))
        if match != "NotOlderThan":
            causes.append({"reason": "FieldValueNotSupported", "field": "resourceVersionMatch",
                           "message": f'Unsupported value: "{match}": supported values: '
                                      '"NotOlderThan"'})
        if p.continue_:
            causes.append(_forbidden(
                "resourceVersionMatch",
                "resourceVersionMatch is forbidden when continue is provided"))
    return causes


def decode_query(raw: str) -> dict[str, str]:
    """A query string as a dict: the first value of a repeated parameter, the distinct
    values of a list parameter comma-joined, and a repeated ``command`` (pods/exec's
    argv) NUL-joined."""
    query: dict[str, str] = {}
    if not raw:
        return query
    for k, v in parse_qsl(raw, keep_blank_values=True):
        if k == "command" and k in query:
            query[k] = f"{query[k]}\x00{v}"
        elif k in REPEATED and k in query:
            if v not in query[k].split(","):
                query[k] = f"{query[k]},{v}"
        else:
            query.setdefault(k, v)
    return query
