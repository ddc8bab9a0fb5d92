"""Field sets in Kubernetes' ``FieldsV1`` form: what a ``managedFields`` entry owns.

A set is kept exactly as it is written in ``metadata.managedFields[].fieldsV1``, so an
object's entries are used as they are read, with no parsing: a JSON object whose keys name
the children of a node and whose values are the child nodes, in the same form.

- ``f:<name>``: the field ``name`` of an object;
- ``k:{"name":"web"}``: the item of an associative list whose key fields have these
  values (compact JSON, key fields sorted by name);
- ``v:"value"``: the item of a set-like list of scalars;
- ``i:<n>``: the item at index ``n`` (Kubernetes writes it only for lists that are none of
  these and not atomic; here every other list is atomic, so it is read, never written).

A node is a *member* of the set (the path itself is owned) when it is ``{}`` (a leaf) or
holds ``"."``, the item itself, next to its children; a node with children and no ``"."``
only leads to its members.  The functions here take and return the children map of the
root (what ``fieldsV1`` is) and never change their arguments (nodes are shared between
the sets they return).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson

__all__ = [
    "Children",
    "difference",
    "field_key",
    "intersection",
    "item_key",
    "join",
    "members",
    "path_string",
    "split",
    "union",
    "value_key",
]

Children = dict[str, Any]
"""A node's children, keyed ``f:``/``k:``/``v:``/``i:`` (the root's is ``fieldsV1``)."""

SELF = "."


def field_key(name: str) -> str:
    return f"f:{name}"


def item_key(keys: dict[str, Any]) -> str:
    """``k:{...}``: the key fields of an associative list's item, sorted, compact JSON."""
    return "k:" + orjson.dumps(keys, option=orjson.OPT_SORT_KEYS).decode()


def value_key(value: Any) -> str:
    """``v:...``: an item of a set-like list of scalars, as compact JSON."""
    return "v:" + orjson.dumps(value).decode()


def split(node: Any) -> tuple[bool, Children]:
    """Whether ``node`` is a member, and its children (``"."`` left out)."""
    if not node or not isinstance(node, dict):
        return True, {}
    if SELF in node:
        return True, {k: v for k, v in node.items() if k != SELF}
    return False, node


def join(member: bool, kids: Children) -> Children | None:
    """The node with this membership and the children of ``kids`` (whose own ``"."`` does
    not count); ``kids`` itself when it is that node already, None when it holds nothing."""
    has_self = SELF in kids
    if len(kids) == (1 if has_self else 0):
        return {} if member else None
    if member == has_self:
        return kids
    if member:
        return {SELF: {}, **kids}
    return {k: v for k, v in kids.items() if k != SELF}


def _member(node: Children) -> bool:
    return not node or SELF in node


def union(a: Children, b: Children) -> Children:
    """Every path of ``a`` or ``b`` (``a`` itself when ``b`` adds nothing)."""
    out: Children | None = None
    for key, bn in b.items():
        if key == SELF:
            continue
        an = a.get(key)
        if an is None:
            new = bn
        elif an is bn or (not bn and _member(an)):
            continue  # (a leaf a member of ``a`` already)
        else:
            new = join(_member(an) or _member(bn), union(an, bn)) or {}
            if new is an:
                continue
        if out is None:
            out = dict(a)
        out[key] = new
    return a if out is None else out


def difference(a: Children, b: Children) -> Children:
    """The members of ``a`` that are no members of ``b`` (a path, not its children);
    ``a`` itself when ``b`` takes nothing from it."""
    out: Children | None = None
    for key, bn in b.items():
        if key == SELF:
            continue
        an = a.get(key)
        if an is None:
            continue
        keep = SELF in an and not _member(bn) if an else not _member(bn)
        new = join(keep, difference(an, bn) if an else an)
        if new is an:
            continue
        if out is None:
            out = dict(a)
        if new is None:
            del out[key]
        else:
            out[key] = new
    return a if out is None else out


def intersection(a: Children, b: Children) -> Children:
    """The members of both ``a`` and ``b``."""
    if len(b) < len(a):
        a, b = b, a
    out: Children = {}
    for key, an in a.items():
        bn = b.get(key)
        if key == SELF or bn is None:
            continue
        node = join(_member(an) and _member(bn), intersection(an, bn))
        if node is not None:
            out[key] = node
    return out


def members(kids: Children, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Each member path of the set, as its keys from the root, parents before children."""
    for key, node in kids.items():
        if key == SELF:
            continue
        path = (*prefix, key)
        if _member(node):
            yield path
        yield from members(node, path)


def _element(key: str) -> str:
    """One path element as ``fieldpath.PathElement.String()`` prints it."""
    kind, _, rest = key.partition(":")
    if kind == "f":
        return f".{rest}"
    if kind == "i":
        return f"[{rest}]"
    try:
        value = orjson.loads(rest)
    except orjson.JSONDecodeError:
        return f"[{rest}]"
    if kind == "k" and isinstance(value, dict):
        pairs = sorted(f"{k}={orjson.dumps(v).decode()}" for k, v in value.items())
        return "[" + ",".join(pairs) + "]"
    return f"[={orjson.dumps(value).decode()}]"


def path_string(path: tuple[str, ...]) -> str:
    """A member path as Kubernetes prints it in a conflict:
    ``.spec.template.spec.containers[name="web"].image``, ``.metadata.finalizers[="x"]``."""
    return "".join(_element(key) for key in path)
