"""Patches found by bench/fuzz.py to hold the event loop: a strategic merge of 10,000
containers took 5.8 s (each item was matched by scanning the list) and blocked /healthz;
a 903-byte JSON patch of doubling copies took 0.3 s.  The merge now indexes the list by
its key (one pass), and a large patch or a copying JSON patch is applied in the worker
thread, so the API server answers /healthz while one is held there."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from apiharness import Api, make_api
from faces import Held, asgi_request

from jetkube.services.apiserver import patching
from jetkube.services.apiserver.http import HttpApp
from jetkube.services.apiserver.patch import JSON_PATCH, STRATEGIC, strategic_merge_patch

CMS = "/api/v1/namespaces/default/configmaps"


def test_a_strategic_merge_matches_items_by_key_keeping_order_and_duplicates_semantics() -> None:
    target = {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"},
                             {"name": "a", "image": "dup"}, {"name": "c", "image": "1"}]}
    patch = {"containers": [{"name": "c", "image": "2"}, {"name": "d", "image": "1"},
                            {"name": "a", "$patch": "delete"}, {"name": "b", "image": "2"}]}
    out = strategic_merge_patch(target, patch)
    assert out["containers"] == [{"name": "b", "image": "2"}, {"name": "c", "image": "2"},
                                 {"name": "d", "image": "1"}]
    assert target["containers"][1] == {"name": "b", "image": "1"}, "the target is not changed"


def test_a_merge_key_of_any_json_type_is_matched_by_value() -> None:
    target = {"containers": [{"name": {"x": [1]}, "image": "1"}, {"name": 1, "image": "1"}]}
    patch = {"containers": [{"name": {"x": [1]}, "image": "2"}, {"name": True, "image": "t"}]}
    out = strategic_merge_patch(target, patch)
    assert out["containers"] == [{"name": {"x": [1]}, "image": "2"}, {"name": 1, "image": "1"},
                                 {"name": True, "image": "t"}]


@pytest.fixture
async def api() -> Api:
    api = await make_api()
    await api.ok("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "target"}, "data": {"a": "b"}})
    return api


@pytest.mark.parametrize(("ctype", "patch", "off_loop"), [
    (STRATEGIC, {"data": {f"k{i:05d}": "v" * 20 for i in range(2000)}}, True),
    (STRATEGIC, {"data": {"k": "v"}}, False),
    (JSON_PATCH, [{"op": "copy", "from": "/data/a", "path": "/data/c"}], True),
    (JSON_PATCH, [{"op": "add", "path": "/data/c", "value": "d"}], False),
])
async def test_a_heavy_patch_is_applied_in_the_worker_thread_while_healthz_answers(
        api: Api, monkeypatch: pytest.MonkeyPatch, ctype: str, patch: Any,
        off_loop: bool) -> None:
    app = HttpApp(api.front)
    held = Held(monkeypatch, patching, "apply_patch")
    code, _, body = await held.serve(
        app, asgi_request(app, "PATCH", f"{CMS}/target", orjson.dumps(patch),
                          [(b"content-type", ctype.encode())]), off_loop=off_loop)
    assert code == 200, body
    assert held.on_loop_only == (not off_loop), held.threads
