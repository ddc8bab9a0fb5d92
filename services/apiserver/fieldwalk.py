"""Walks over objects that know how Kubernetes merges their lists and maps
(structured-merge-diff's schema, compactly): the field set of an applied configuration,
the comparison of two objects, the merge of a configuration into an object and the
removal of fields.  The sets are fieldset.py's (``FieldsV1``).

What a list or map is:

- an **associative list** (``x-kubernetes-list-type: map``) is one that
  ``STRATEGIC_MERGE_KEYS`` names, keyed by the first candidate key its items all have
  (the key the OpenAPI document publishes, ``x-kubernetes-list-map-keys``).  ``ports``
  adds ``protocol``, defaulting to ``TCP``, as Kubernetes keys container and Service
  ports (``k:{"containerPort":53,"protocol":"UDP"}``: DNS serves port 53 twice);
- a **set** (``x-kubernetes-list-type: set``): ``metadata.finalizers``, items ``v:"x"``;
- every other list is **atomic**, owned and replaced whole (``args``, ``command``,
  ``tolerations``...), as the OpenAPI document says;
- maps merge key by key, except the atomic ``selector`` (a ``LabelSelector`` or a
  Service's selector) and ``nodeSelector``.

Like structured-merge-diff, an item or map that is added or removed as a whole is itself
a member of the comparison (``"."``), except the structs a Go object always carries
(``spec``, ``template``, ``containers``...), which Kubernetes never sees appear.  Values
given as ``null`` count as absent.  The walks recurse as deep as the object, which
decode.py bounds (100 levels)."""

from __future__ import annotations

from typing import Any

import orjson

from ..machinery.apimachinery import STRATEGIC_MERGE_KEYS
from .fieldset import SELF, Children, field_key, item_key, join, path_string, split, value_key

__all__ = [
    "ItemKeyError",
    "applied_set",
    "compare",
    "merge",
    "remove",
    "whole",
]

SET = ("",)
"""The list kind of a set of scalars (an associative list's kind is its key fields)."""
ListKind = tuple[str, ...] | None  # None: atomic

_SETS = frozenset({("metadata", "finalizers")})
_ATOMIC_MAPS = frozenset({"selector", "nodeSelector"})
_EXTRA_KEY = {"ports": "protocol"}
"""A second key field of a list, Kubernetes' (the table names one)."""
_KEY_DEFAULTS = {"protocol": "TCP"}
"""Defaults of key fields, which an item may omit (a port's protocol)."""
_ALWAYS = frozenset({"metadata", "spec", "status", "template", "containers", "strategy"})
"""Fields a Go object always has (structs, non-omitempty lists): never added or removed."""
_NESTED = (dict, list)  # (a tuple: isinstance takes it faster than ``dict | list``)


class ItemKeyError(ValueError):
    """An applied list item without its key, or given twice: ``path`` and why."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


def _list_kind(parent: str, name: str, items: list[Any], where: str | None = None) -> ListKind:
    """How the list ``name`` (a field of the map ``parent``) merges; ``where`` (the path of
    an applied list) makes an item that omits the key an error instead of atomic."""
    if (parent, name) in _SETS:
        return SET if not any(isinstance(i, dict | list) for i in items) else None
    candidates = STRATEGIC_MERGE_KEYS.get(name)
    if not candidates:
        return None
    for key in candidates:
        if all(isinstance(i, dict) and i.get(key) is not None for i in items):
            extra = _EXTRA_KEY.get(name)
            return (key, extra) if extra else (key,)
    if where is not None and all(isinstance(i, dict) for i in items) and any(
            i.get(k) is not None for i in items for k in candidates):
        raise ItemKeyError(where, "associative list with keys has an element that omits key "
                                  f'field "{candidates[0]}" (and doesn\'t have default value)')
    return None  # (no item has a key: another list of that name, as Endpoints' addresses)


def _item(kind: tuple[str, ...], item: Any) -> str | None:
    """The key of ``item`` in a list of this kind (None: it has none)."""
    if kind == SET:
        return value_key(item) if not isinstance(item, dict | list) else None
    if not isinstance(item, dict):
        return None
    if len(kind) == 1:  # the usual case, without building a dict to sort
        value = item.get(kind[0])
        return None if isinstance(value, dict | list) or value is None else \
            f'k:{{"{kind[0]}":{orjson.dumps(value).decode()}}}'
    keys = {k: _KEY_DEFAULTS.get(k) if item.get(k) is None else item[k] for k in kind}
    if any(isinstance(v, dict | list) or v is None for v in keys.values()):
        return None
    return item_key(keys)


def _same_kind(parent: str, name: str, a: list[Any], b: list[Any]) -> ListKind:
    """The kind of two values of one list (an empty one takes the other's); None when
    atomic or when they disagree."""
    kind = _list_kind(parent, name, b or a)
    if kind is None or (a and b and _list_kind(parent, name, a) != kind):
        return None
    return kind


def _index(kind: tuple[str, ...], items: list[Any]) -> dict[str, Any] | None:
    """The items by key; None when one has no key or a key is given twice."""
    out: dict[str, Any] = {}
    for item in items:
        key = _item(kind, item)
        if key is None or key in out:
            return None
        out[key] = item
    return out


# --- the set an applied configuration owns ------------------------------------------

def applied_set(config: dict[str, Any]) -> Children:
    """Every field ``config`` gives (structured-merge-diff's ``ToFieldSet``): its leaves,
    atomic lists and maps, and the items of associative lists and sets (with ``"."``).
    An item without its key, or a key given twice, is :class:`ItemKeyError`."""
    return _applied_fields(config, "", "")


def _applied_fields(obj: dict[str, Any], owner: str, where: str) -> Children:
    out: Children = {}
    for name, value in obj.items():
        if value is None:
            continue
        node = _applied_node(owner, name, value, f"{where}.{name}")
        if node is not None:
            out[field_key(name)] = node
    return out


def _applied_node(parent: str, name: str, value: Any, where: str) -> Children | None:
    if isinstance(value, dict):
        if name in _ATOMIC_MAPS:
            return {}
        return _applied_fields(value, name, where) or None
    if not isinstance(value, list):
        return {}
    kind = _list_kind(parent, name, value, where)
    if kind is None:
        return {}
    kids: Children = {}
    for i, item in enumerate(value):
        key = _item(kind, item)
        if key is None:
            raise ItemKeyError(f"{where}[{i}]", "the key fields of an item must be scalars")
        if key in kids:
            raise ItemKeyError(where, f"duplicate entries for key {path_string((key,))}")
        sub = _applied_fields(item, name, f"{where}[{i}]") if kind != SET else {}
        kids[key] = join(True, sub)
    return kids or None


# --- comparing two objects ---------------------------------------------------------

def compare(old: dict[str, Any], new: dict[str, Any], owner: str = ""
            ) -> tuple[Children, Children]:
    """What ``new`` adds or changes over ``old``, and what it removes (structured-merge-
    diff's ``Compare``: Added and Modified, then Removed).  Equal subtrees are skipped in
    one C-level ``==``, so a status update costs about its status."""
    changed: Children = {}
    removed: Children = {}
    _compare_fields(old, new, owner, changed, removed)
    return changed, removed


def _compare_fields(a: dict[str, Any], b: dict[str, Any], owner: str,
                    changed: Children, removed: Children) -> None:
    for name, bv in b.items():
        av = a.get(name)
        if av == bv:
            continue
        key = field_key(name)
        if bv is None:
            removed[key] = whole(av, owner, name)
        elif av is None:
            changed[key] = whole(bv, owner, name)
        else:
            c, r = _compare_values(av, bv, owner, name)
            if c is not None:
                changed[key] = c
            if r is not None:
                removed[key] = r
    for name, av in a.items():
        if av is not None and name not in b:
            removed[field_key(name)] = whole(av, owner, name)


def _compare_values(av: Any, bv: Any, parent: str, name: str
                    ) -> tuple[Children | None, Children | None]:
    """The changed and removed nodes under a field present on both sides, and different."""
    if isinstance(av, dict) and isinstance(bv, dict) and name not in _ATOMIC_MAPS:
        c: Children = {}
        r: Children = {}
        _compare_fields(av, bv, name, c, r)
        return c or None, r or None
    if isinstance(av, list) and isinstance(bv, list):
        kind = _same_kind(parent, name, av, bv)
        ia = _index(kind, av) if kind is not None else None
        ib = _index(kind, bv) if kind is not None and ia is not None else None
        if kind is not None and ia is not None and ib is not None:
            return _compare_items(kind, ia, ib, name)
    return {}, None  # a leaf (or an atomic list or map) that changed


def _compare_items(kind: tuple[str, ...], ia: dict[str, Any], ib: dict[str, Any], name: str
                   ) -> tuple[Children | None, Children | None]:
    c: Children = {}
    r: Children = {}
    for key, item in ib.items():
        old = ia.get(key)
        if old is None:
            c[key] = _whole_item(kind, item, name)
        elif old != item and isinstance(old, dict) and isinstance(item, dict):
            cc: Children = {}
            rr: Children = {}
            _compare_fields(old, item, name, cc, rr)
            if cc:
                c[key] = cc
            if rr:
                r[key] = rr
    for key, item in ia.items():
        if key not in ib:
            r[key] = _whole_item(kind, item, name)
    return c or None, r or None


def whole(value: Any, parent: str = "", name: str = "") -> Children:
    """The node of a value added or removed as a whole: every field of it, and the maps and
    items themselves (``"."``) but the structs a Go object always has."""
    if isinstance(value, dict):
        if name in _ATOMIC_MAPS or not value:
            return {}
        return _whole_fields(value, name, name not in _ALWAYS)
    if isinstance(value, list) and value:
        kind = _list_kind(parent, name, value)
        index = _index(kind, value) if kind is not None else None
        if kind is None or index is None:
            return {}
        items = {key: _whole_item(kind, item, name) for key, item in index.items()}
        return join(name not in _ALWAYS, items) or {}
    return {}


def _whole_fields(value: dict[str, Any], name: str, member: bool) -> Children:
    """``join(member, {f:<field>: whole(...)})`` of a map's fields, built in one dict: a
    scalar field's node is made here, not in a call (a created pod's walk is most of its
    ``managedFields`` cost)."""
    kids: Children = {SELF: {}} if member else {}
    for k, v in value.items():
        if v is None:
            continue
        kids[field_key(k)] = whole(v, name, k) if isinstance(v, _NESTED) else {}
    return {} if len(kids) == (1 if member else 0) else kids  # nothing but "."


def _whole_item(kind: tuple[str, ...], item: Any, name: str) -> Children:
    if kind == SET or not isinstance(item, dict):
        return {}
    return _whole_fields(item, name, True)


# --- merging a configuration, removing fields ------------------------------------------

def merge(live: dict[str, Any], config: dict[str, Any], owner: str = "") -> dict[str, Any]:
    """``config`` merged into ``live``: maps key by key, associative lists and sets item by
    item (the live items keep their places, the applied ones come in their order),
    atomic lists and maps and scalars replaced.  Neither argument is changed."""
    out = dict(live)
    for name, cv in config.items():
        if cv is None:
            continue
        out[name] = _merge_value(live.get(name), cv, owner, name)
    return out


def _merge_value(lv: Any, cv: Any, parent: str, name: str) -> Any:
    if isinstance(lv, dict) and isinstance(cv, dict) and name not in _ATOMIC_MAPS:
        return merge(lv, cv, name)
    if isinstance(lv, list) and isinstance(cv, list):
        kind = _same_kind(parent, name, lv, cv)
        if kind is not None:
            return _merge_items(kind, lv, cv, name)
    return cv


def _merge_items(kind: tuple[str, ...], live: list[Any], config: list[Any], name: str
                 ) -> list[Any]:
    applied = [(k, c) for c in config if (k := _item(kind, c)) is not None]
    wanted = {k for k, _ in applied}
    first: dict[str, Any] = {}
    for item in live:
        key = _item(kind, item)
        if key is not None:
            first.setdefault(key, item)
    out: list[Any] = []
    done: set[str] = set()
    pos = 0

    def emit(key: str, cv: Any) -> None:
        lv = first.get(key)
        done.add(key)
        out.append(merge(lv, cv, name) if isinstance(lv, dict) and isinstance(cv, dict)
                   else cv)

    for item in live:
        key = _item(kind, item)
        if key is None or key not in wanted:
            out.append(item)  # not applied: stays where it is
            continue
        while key not in done and pos < len(applied):
            ck, cv = applied[pos]
            pos += 1
            if ck not in done:
                emit(ck, cv)
    for ck, cv in applied[pos:]:
        if ck not in done:
            emit(ck, cv)
    return out


def remove(obj: dict[str, Any], kids: Children, owner: str = "") -> dict[str, Any]:
    """``obj`` without the members of ``kids`` (each with all it holds); a copy where it
    changes, ``obj`` itself is left alone."""
    out = dict(obj)
    for key, node in kids.items():
        name = key[2:] if key.startswith("f:") else None
        if name is None or name not in out:
            continue
        member, sub = split(node)
        value = out[name]
        if member:
            del out[name]
        elif isinstance(value, dict):
            out[name] = remove(value, sub, name)
        elif isinstance(value, list):
            out[name] = _remove_items(value, sub, owner, name)
    return out


def _remove_items(items: list[Any], kids: Children, parent: str, name: str) -> list[Any]:
    kind = _list_kind(parent, name, items)
    if kind is None:
        return items
    out = []
    for item in items:
        key = _item(kind, item)
        node = kids.get(key) if key is not None else None
        if node is None:
            out.append(item)
            continue
        member, sub = split(node)
        if not member:
            out.append(remove(item, sub, name) if isinstance(item, dict) else item)
    return out
