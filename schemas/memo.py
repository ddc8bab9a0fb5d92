"""Results remembered by the JSON of what they were made from: ``load_object``'s loaded
pods (load.py) and the API server's created field sets (managedfields.py), where the
objects of one template give the same JSON.  A bounded table: the oldest result goes
first, and a value whose JSON is over the bound (or that is no JSON) is never kept, so a
big object's work, which runs in a worker thread, never touches the table."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import orjson

__all__ = ["JsonMemo"]

V = TypeVar("V")


class JsonMemo(dict[bytes, V], Generic[V]):
    """At most ``size`` results, keyed by JSON of at most ``max_json`` bytes."""

    def __init__(self, size: int, max_json: int) -> None:
        super().__init__()
        self.size = size
        self.max_json = max_json

    def key(self, value: Any) -> bytes | None:
        """``value``'s JSON as a key; None when it is longer than ``max_json`` or cannot
        be encoded (an integer past 64 bits, say): such a value is not remembered."""
        try:
            key = orjson.dumps(value)
        except orjson.JSONEncodeError:
            return None
        return key if len(key) <= self.max_json else None

    def keep(self, key: bytes, result: V) -> None:
        """Remember ``result`` under ``key``, the oldest result dropped when full."""
        if len(self) >= self.size:
            del self[next(iter(self))]
        self[key] = result
