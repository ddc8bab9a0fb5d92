"""A JSON patch's operations are applied to copies of their values: a patch retried on a
newer object (a conflict, a stale cached copy) applies the same operations again, so one
application must not change them through the document it built."""

from __future__ import annotations

import copy

from jetkube.services.apiserver.patch import json_patch


def test_an_added_value_later_changed_by_another_operation_stays_as_it_came() -> None:
    ops = [{"op": "add", "path": "/status", "value": {"phase": "Running", "podIPs": []}},
           {"op": "add", "path": "/status/podIPs/-", "value": {"ip": "10.0.0.5"}},
           {"op": "replace", "path": "/status/phase", "value": "Failed"}]
    before = copy.deepcopy(ops)
    first = json_patch({"metadata": {"name": "p"}}, ops)
    assert first["status"] == {"phase": "Failed", "podIPs": [{"ip": "10.0.0.5"}]}
    assert ops == before
    assert json_patch({"metadata": {"name": "p"}}, ops) == first


def test_a_value_past_64_bit_integers_is_still_copied() -> None:
    big = {"n": 2**70}
    out = json_patch({}, [{"op": "add", "path": "/status", "value": big}])
    out["status"]["n"] = 1
    assert big == {"n": 2**70}
