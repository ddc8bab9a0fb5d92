"""Object keys: store keys ``<resource>.<namespace>.<name>`` with a reversible
encoding, and the ``<namespace>/<name>`` text key of a namespaced object.

NATS uses ``.`` to separate subject tokens, and object names may contain
``.``.  DNS-1123 names never contain ``_``, so ``.`` is written as ``_`` and
read back.  Cluster-scoped objects use ``_`` as their namespace token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

CLUSTER_SCOPE = "_"


class Key(NamedTuple):
    resource: str
    namespace: str  # "" for cluster-scoped objects
    name: str


def encode_token(value: str) -> str:
    """Encode a name or node name as one NATS subject token: ``.`` (the token separator)
    as ``_``, so a DNS name reads as itself; a literal ``_`` as ``~5f`` and ``~`` as ``~7e``,
    so no two names share a token (``a.b`` and ``a_b`` once did: a write to one changed
    the other).  Names without ``_`` or ``~`` keep the tokens they always had."""
    if "_" in value or "~" in value:
        value = value.replace("~", "~7e").replace("_", "~5f")
    return value.replace(".", "_")


def decode_token(token: str) -> str:
    """The name :func:`encode_token` encoded as ``token``."""
    value = token.replace("_", ".")
    if "~" in value:
        value = value.replace("~5f", "_").replace("~7e", "~")
    return value


def object_key(resource: str, namespace: str | None, name: str) -> str:
    ns = namespace if namespace else CLUSTER_SCOPE
    return f"{resource}.{ns}.{encode_token(name)}"


def key_prefix(resource: str, namespace: str | None = None) -> str:
    """The key prefix of one resource, or of one resource in one namespace."""
    if namespace:
        return f"{resource}.{namespace}."
    return f"{resource}."


def parse_key(key: str) -> Key:
    """``key``'s resource, namespace and name (read for every event by every watcher: a
    token with nothing to decode is its name as it is, and the tuple made directly,
    not through the NamedTuple's own ``__new__``, a Python function)."""
    resource, ns, token = key.split(".", 2)
    name = decode_token(token) if "_" in token or "~" in token else token
    return _new_key(Key, (resource, "" if ns == CLUSTER_SCOPE else ns, name))


_new_key = tuple.__new__


def namespaced_name(namespace: str | None, name: str) -> str:
    """``<namespace>/<name>``: how an object is keyed in memory and named in messages,
    span attributes and allocation owners (``types.NamespacedName.String()``)."""
    return f"{namespace or ''}/{name}"


def namespaced_name_of(obj: Mapping[str, Any]) -> str:
    """:func:`namespaced_name` of an object, from its metadata."""
    md = obj.get("metadata") or {}
    return namespaced_name(md.get("namespace"), str(md.get("name") or ""))


def split_namespaced_name(key: str) -> tuple[str, str]:
    """``(namespace, name)`` back from :func:`namespaced_name`."""
    namespace, _, name = key.partition("/")
    return namespace, name
