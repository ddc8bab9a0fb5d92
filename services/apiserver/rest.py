"""The contract between the REST verbs (handlers.py) and the subresources.

Like kube-apiserver's ``registry/rest``: a subresource (``status``, ``scale``,
``binding``, ``pods/log``, ...) is served by a function over the verbs of its
resource, described here by :class:`ResourceHandlers` (which
:class:`~.handlers.Handlers` implements).  The subresources are a table,
:data:`SubresourceTable`, from subresource name to function, that the server
builds (subresources.py) and hands to the handlers; so handlers.py imports no
subresource and no subresource imports handlers.py.  Decoding a request body
lives here too, as both sides use it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import orjson
import yaml

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors
from ..machinery.store import Store
from .request import ApiRequest
from .response import Response, StreamResponse

MAX_BODY = 3 * 1024 * 1024 // 2  # 1.5 MiB, as etcd's request limit


def decode_body(req: ApiRequest) -> Obj:
    body = req.body or b""
    if len(body) > MAX_BODY:
        raise apierrors.too_large(MAX_BODY)
    if not body.strip():
        raise apierrors.bad_request("the request body is empty")
    try:
        if "yaml" in req.content_type:
            data = yaml.safe_load(body)
        else:
            data = orjson.loads(body)
    except (orjson.JSONDecodeError, yaml.YAMLError) as err:
        raise apierrors.bad_request(f"the request body is not valid JSON or YAML: {err}") from None
    return data  # type: ignore[no-any-return]


class ResourceHandlers(Protocol):
    """The verbs on a resource that a subresource builds on."""

    @property
    def store(self) -> Store: ...

    async def get_object(self, rt: ResourceType, namespace: str | None, name: str) -> Obj: ...

    async def update(self, rt: ResourceType, namespace: str | None, name: str, obj: Obj,
                     *, subresource: str | None = None) -> Obj: ...

    async def write_update(self, rt: ResourceType, old: Obj, obj: Obj, *,
                           subresource: str | None = None) -> Obj: ...

    async def patch(self, req: ApiRequest, subresource: str | None = None) -> Obj: ...


SubresourceHandler = Callable[[ResourceHandlers, ApiRequest],
                              Awaitable[Response | StreamResponse]]
SubresourceTable = Mapping[str, SubresourceHandler]  # subresource name -> its handler
