"""``JETKUBE_API_SUBJECT_PREFIX`` moves the API's NATS subjects on both sides: the API
server serves ``<prefix>.*.>`` and every service's API client (``open_runtime``) sends there."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from jetkube.schemas.registry import by_plural
from jetkube.services.apiserver.natsface import request_from_message
from jetkube.services.apiserver.server import ApiServer, ServerConfig
from jetkube.services.machinery.apimachinery import apierrors
from jetkube.services.machinery.client import ApiClient
from jetkube.services.machinery.client._apiclient import api_subject
from jetkube.services.machinery.runtime import Settings
from jetkube.services.machinery.service import open_runtime
from jetkube.services.machinery.store import free_port


def test_subjects_are_built_and_parsed_under_the_prefix() -> None:
    pods = by_plural("", "pods")
    assert pods is not None
    assert api_subject("get", pods, "kube-scheduler", "blue.api") == (
        "blue.api.kube-scheduler.get.core.v1.pods")
    req = request_from_message("blue.api.kube-scheduler.get.core.v1.pods", {"Jetkube-Name": "p"},
                               b"", "blue.api")
    assert (req.verb, req.rt.plural, req.name) == ("get", "pods", "p")
    assert req.user is not None and req.user.name == "system:kube-scheduler"
    for subject in ("jetkube.api.admin.get.core.v1.pods", "blue.api.admin.get.core.v1",
                    "blue.apix.admin.get.core.v1.pods"):
        with pytest.raises(apierrors.ApiError, match="malformed API subject"):
            request_from_message(subject, {}, b"", "blue.api")
    # the default stays jetkube.api
    assert request_from_message("jetkube.api.admin.list.apps.v1.deployments", {}, b"").verb == (
        "list")


@pytest.mark.integration
async def test_server_and_services_meet_on_the_configured_prefix(
        nats_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}.api"
    bucket = f"prefix{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("JETKUBE_API_SUBJECT_PREFIX", prefix)
    server = ApiServer(ServerConfig(nats_url=nats_url, port=free_port(), bucket=bucket))
    task = asyncio.create_task(server.run())
    await asyncio.wait_for(server.ready.wait(), 20)
    rt = await open_runtime("prefix-test", Settings.from_env(nats_url=nats_url, bucket=bucket),
                            "admin")
    try:
        assert rt.api.subject_prefix == prefix
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "moved"}}
        await rt.api.create("configmaps", "default", cm)
        assert (await rt.api.get("configmaps", "default", "moved"))["metadata"]["name"] == "moved"
        assert rt.nc is not None
        with pytest.raises(apierrors.ApiError) as err:  # nobody serves the default prefix here
            await ApiClient(rt.nc, "admin", retries=1).get("configmaps", "default", "moved")
        assert err.value.code in (503, 504)
    finally:
        if rt.nc is not None:
            await rt.nc.close()
        server.stop()
        await asyncio.wait_for(task, 20)
