"""Controller references (``metav1.GetControllerOf`` / ``metav1.NewControllerRef``).

An object has at most one owner reference with ``controller: true`` (API
validation refuses a second): the controller that manages it.  Controllers
find their dependents' controller with :func:`controller_ref` and stamp new
dependents with :func:`new_controller_ref`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jetkube.schemas.objects import OwnerReferenceDict


def controller_ref(obj: Mapping[str, Any], kind: str | None = None) -> OwnerReferenceDict | None:
    """The object's controller reference (of that ``kind`` when one is given), or None."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or ():
        if isinstance(ref, dict) and ref.get("controller") is True:
            if kind is not None and ref.get("kind") != kind:
                return None
            return ref  # type: ignore[return-value]
    return None


def new_controller_ref(owner: Mapping[str, Any], api_version: str, kind: str) -> OwnerReferenceDict:
    """A reference making ``owner`` the controller of a new dependent, blocking the owner's
    foreground deletion until the dependent is gone."""
    md = owner.get("metadata") or {}
    return {"apiVersion": api_version, "kind": kind, "name": md.get("name", ""),
            "uid": md.get("uid", ""), "controller": True, "blockOwnerDeletion": True}
