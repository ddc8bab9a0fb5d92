"""Test helper for the namespace controller's tests on a real API server (not a test
module): :func:`namespace_controller` runs the controller as the controller-manager's bus
identity against the ``apiserver`` fixture's NATS for the duration of a block."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.namespace import build
from jetkube.services.machinery.runtime import Settings
from jetkube.services.machinery.service import open_runtime


@asynccontextmanager
async def namespace_controller(apiserver: dict[str, Any]) -> AsyncIterator[None]:
    settings = Settings(nats_url=str(apiserver["nats_url"]), bucket=str(apiserver["bucket"]))
    rt = await open_runtime("test-cm", settings, "kube-controller-manager")
    controller = build(ControllerContext(rt, ControllerManagerOptions()))
    rt.informers.start()
    await rt.informers.wait_for_cache_sync()
    controller.start()
    try:
        yield
    finally:
        await controller.stop(1.0)
        await rt.informers.stop()
        assert rt.nc is not None
        await rt.nc.close()
