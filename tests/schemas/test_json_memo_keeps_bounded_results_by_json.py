"""schemas.memo.JsonMemo, under load_object's pods and the API server's created field sets:
results keyed by JSON, at most ``size`` of them (the oldest dropped first), none for a
value whose JSON is too long or that is no JSON."""

from __future__ import annotations

from typing import Any

import pytest

from jetkube.schemas import SchemaError, load_object
from jetkube.schemas.memo import JsonMemo
from jetkube.schemas.registry import by_plural


def test_the_key_is_the_json_and_none_past_the_bound_or_for_no_json() -> None:
    memo: JsonMemo[int] = JsonMemo(size=4, max_json=16)
    assert memo.key({"a": 1}) == b'{"a":1}'
    assert memo.key({"a": "x" * 20}) is None
    assert memo.key({"a": 2**70}) is None  # an integer orjson cannot write
    assert memo.key({"a": object()}) is None


def test_the_oldest_result_goes_first() -> None:
    memo: JsonMemo[int] = JsonMemo(size=3, max_json=64)
    for i in range(5):
        key = memo.key({"i": i})
        assert key is not None
        memo.keep(key, i)
    assert list(memo.values()) == [2, 3, 4]


def test_a_pod_that_is_no_json_meets_the_full_load() -> None:
    pods = by_plural("", "pods")
    assert pods is not None
    pod: dict[str, Any] = {"metadata": {"name": "a"}, "spec": {
        "terminationGracePeriodSeconds": 2**70, "containers": [{"name": "c", "image": "i"}]}}
    with pytest.raises(SchemaError):
        load_object(pods, pod)
