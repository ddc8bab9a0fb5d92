"""A namespace whose objects of one kind add up to more than one NATS message (1 MiB by
default) is still emptied and removed: the namespace controller lists its contents in
pages (issue 11: an unpaged list over NATS hit max_payload and the deletion hung
forever).  Real nats-server and API server; the controller runs as the
controller-manager's bus identity."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from namespace_helpers import namespace_controller
from polling import until

pytestmark = pytest.mark.integration

CONFIGMAPS = 14
VALUE = "x" * 100_000  # 14 x 100 kB: one unpaged list reply would be ~1.4 MB


async def test_a_namespace_bigger_than_a_nats_message_is_deleted(
        apiserver: dict[str, Any]) -> None:
    h = {"Authorization": f"Bearer {apiserver['token']}"}
    base = str(apiserver["url"])
    async with httpx.AsyncClient(headers=h, timeout=30) as c:
        r = await c.post(f"{base}/api/v1/namespaces", json={
            "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "big"}})
        assert r.status_code == 201, r.text
        for i in range(CONFIGMAPS):
            r = await c.post(f"{base}/api/v1/namespaces/big/configmaps", json={
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}"},
                "data": {"v": VALUE}})
            assert r.status_code == 201, r.text
        listed = (await c.get(f"{base}/api/v1/namespaces/big/configmaps")).content
        assert len(listed) > 1024 * 1024  # the target: more than one NATS message

        async with namespace_controller(apiserver):
            assert (await c.delete(f"{base}/api/v1/namespaces/big")).status_code == 200

            async def gone() -> bool:
                return (await c.get(f"{base}/api/v1/namespaces/big")).status_code == 404

            await until(gone, timeout=30, interval=0.2, message="namespace big removed")
            left = await c.get(f"{base}/api/v1/namespaces/big/configmaps")
            assert left.json()["items"] == []
