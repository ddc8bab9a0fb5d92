"""An ``Authorization`` header holding bytes outside ASCII is a wrong token like any
other: 401 Unauthorized as a Status, never a 500 from comparing it."""

from __future__ import annotations

from pathlib import Path

import pytest
from apiharness import ADMIN_TOKEN, make_api_with_nodes
from faces import AsgiApi

CM = "/api/v1/namespaces/default/configmaps"


@pytest.mark.parametrize("header", [
    "Bearer tök".encode(), b"Bearer \xff\xfe", "Bearer ☃".encode(), b"bearer \x00",
    f"Bearer {ADMIN_TOKEN}é".encode(), "Basic ünd".encode()])
async def test_a_non_ascii_authorization_header_is_401(tmp_path: Path, header: bytes) -> None:
    api = AsgiApi(await make_api_with_nodes(tmp_path))
    code, st = await api.call("GET", CM, authorization=header)
    assert code == 401 and st["kind"] == "Status" and st["reason"] == "Unauthorized", st
    code, _ = await api.call("POST", CM, {"apiVersion": "v1", "kind": "ConfigMap",
                                          "metadata": {"name": "c"}}, authorization=header)
    assert code == 401
    assert (await api.ok("GET", CM))["items"] == []


async def test_the_front_door_says_401_too(tmp_path: Path) -> None:
    api = await make_api_with_nodes(tmp_path)
    code, st = await api.call("GET", CM, token="tök")
    assert code == 401 and st["reason"] == "Unauthorized", st
