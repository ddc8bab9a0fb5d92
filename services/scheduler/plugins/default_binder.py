"""DefaultBinder: bind through the API server's ``pods/binding`` subresource (the
server refuses a second bind of the same pod with 409 Conflict)."""

from __future__ import annotations

from typing import Any

from jetkube.services.machinery.apimachinery import apierrors

from ..framework import CycleState, Handle, Status
from ..podinfo import PodInfo

NAME = "DefaultBinder"


class DefaultBinder:
    name = NAME

    def __init__(self, args: dict[str, Any], handle: Handle) -> None:
        self.handle = handle

    async def bind(self, state: CycleState, pod: PodInfo, node_name: str) -> Status | None:
        try:
            await self.handle.api.bind(pod.namespace, pod.name, node_name, pod.uid or None)
        except apierrors.ApiError as err:
            return Status.error(NAME, f"binding rejected: {err}")
        return None
