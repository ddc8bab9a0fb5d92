"""The one matcher of a selector requirement (``In``, ``NotIn``, ``Exists``,
``DoesNotExist``, ``Gt``, ``Lt``) that label and node selectors share, without pydantic:
machinery's selectors (and so kctl) use it without importing the models."""

from __future__ import annotations

import re
from collections.abc import Collection

__all__ = ["requirement_matches"]

_INT = re.compile(r"[+-]?[0-9]+")


def _parse_int64(text: str) -> int | None:
    """``strconv.ParseInt(text, 10, 64)``: an optional sign and ASCII digits, in range."""
    if not _INT.fullmatch(text):
        return None
    n = int(text)
    return n if -(2**63) <= n < 2**63 else None


def requirement_matches(operator: str | None, value: str | None, values: Collection[str]) -> bool:
    """One selector requirement against an object's ``value`` for its key (``None``: the
    label is absent), as ``labels.Requirement.Matches``: ``In``, ``NotIn``, ``Exists``,
    ``DoesNotExist``, and the node selectors' ``Gt``/``Lt`` (one integer each side).
    An unknown operator matches nothing."""
    if operator == "In":
        return value is not None and value in values
    if operator == "NotIn":
        return value is None or value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and value is not None and len(values) == 1:
        actual, bound = _parse_int64(value), _parse_int64(next(iter(values)))
        if actual is None or bound is None:
            return False
        return actual > bound if operator == "Gt" else actual < bound
    return False
