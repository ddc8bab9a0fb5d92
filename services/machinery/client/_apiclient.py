"""The API client services use to write (and read single objects) through the
API server over NATS request/reply.  Reads at scale use informers on the
store; only the API server writes the store.

A request goes to ``jetkube.api.<identity>.<verb>.<group>.<version>.<resource>``: the
identity token is the caller's NATS identity, the only one nats-server lets publish
there, so the API server knows who asks without any token on the bus and authorizes the
Kubernetes user it stands for.  W3C trace context travels in NATS headers, so the API
server continues the trace.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast
from urllib.parse import urlencode

import orjson
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType, api_groups, by_plural

from ..apimachinery import apierrors, inbox_prefix
from ..runtime.telemetry import current_ids, inject_headers
from ..store import Requests
from ._groups import GroupKey, Pending, RequestGroups

API_SUBJECT = "jetkube.api"
QUEUE_GROUP = "apiserver"
LIST_PAGE = 250  # objects per list reply
BATCH = 64
"""Objects per batched create request (the API server takes up to 128: natsbatch.py)."""
BATCH_BYTES = 256 * 1024
"""Bytes of objects per batched create request, at most (one object alone may be more)."""
BATCH_HEADER = "Jetkube-Batch"
"""The request header naming how many objects a batched request carries (the API
server's natsbatch.py)."""
NAMES_HEADER = "Jetkube-Batch-Names"
"""Each line's object, comma-separated: a batch of a subresource's creates, or of patches."""
TRACES_HEADER = "Jetkube-Batch-Traceparents"
"""Each line's ``traceparent``, comma-separated (empty: the request's own)."""
JSON = "application/json"
"""The content type of a request that names none (the NATS face's default)."""
PREFER_MINIMAL = {"Prefer": "return=minimal"}
"""The header a write whose caller reads nothing of the answer but the object's identity
sends (RFC 7240): the API server answers with apiVersion, kind and ``metadata``'s name,
namespace, uid, resourceVersion and creationTimestamp (its response.py), so the object
is neither encoded whole, carried on the bus, nor decoded here."""


def encode_group(group: str) -> str:
    return group.replace(".", "_") if group else "core"


def decode_group(token: str) -> str:
    return "" if token == "core" else token.replace("_", ".")


def api_subject(verb: str, rt: ResourceType, identity: str, prefix: str = API_SUBJECT) -> str:
    return f"{prefix}.{identity}.{verb}.{encode_group(rt.group)}.{rt.version}.{rt.plural}"




class ApiClient:
    def __init__(self, nc: NATS | None, identity: str, *, timeout: float = 10.0,
                 retries: int = 3, subject_prefix: str = API_SUBJECT) -> None:
        self.nc = nc
        self.identity = identity  # the NATS identity this connection authenticated as
        if nc is not None and bytes(getattr(nc, "_inbox_prefix", b"")) != (
                inbox_prefix(identity).encode()):
            raise ValueError(f"the connection's inbox is not {inbox_prefix(identity)}: "
                             f"connect(..., identity={identity!r}) to send as {identity}; "
                             "the API server answers only into the sender's own inbox")
        self.timeout = timeout
        self.retries = retries
        self.subject_prefix = subject_prefix  # Settings.api_subject_prefix, as the API server's
        self._groups: RequestGroups | None = None
        self._requests = Requests(nc) if nc is not None else None

    @staticmethod
    def resource(resource: str, group: str | None = None) -> ResourceType:
        if group is None:
            for g in api_groups():
                rt = by_plural(g, resource)
                if rt is not None:
                    return rt
        else:
            rt = by_plural(group, resource)
            if rt is not None:
                return rt
        raise ValueError(f"unknown resource {resource!r}")

    async def request(self, verb: str, resource: str, namespace: str | None = None,
                      name: str | None = None, body: Any = None, *, subresource: str | None = None,
                      query: dict[str, str] | None = None,
                      content_type: str = "application/json", group: str | None = None,
                      minimal: bool = False) -> Obj:
        """One request (429s retried); ``minimal``: a write answered with the object's
        identity only (:data:`PREFER_MINIMAL`)."""
        rt = self.resource(resource, group)
        # JSON is what the NATS face takes a body without a Content-Type for: no header
        headers: dict[str, str] = {} if content_type == JSON else {"Content-Type": content_type}
        if minimal:
            headers.update(PREFER_MINIMAL)
        if namespace:
            headers["Jetkube-Namespace"] = namespace
        if name:
            headers["Jetkube-Name"] = name
        if subresource:
            headers["Jetkube-Subresource"] = subresource
        if query:
            headers["Jetkube-Query"] = urlencode(query)
        if current_ids() is not None:  # (a request outside any trace carries no context)
            headers = inject_headers(headers)
        payload = b"" if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
        subject = api_subject(verb, rt, self.identity, self.subject_prefix)
        for attempt in range(apierrors.THROTTLE_RETRIES + 1):
            code, data = await self.send(subject, payload, headers)
            if code < 400:
                return data
            err = apierrors.ApiError.from_status(data, code)
            # 429: not served (the user's queue was full): the same request again, after
            # the Retry-After it was told, as client-go does
            if code != 429 or attempt == apierrors.THROTTLE_RETRIES:
                raise err
            await asyncio.sleep(err.retry_after if err.retry_after is not None else 1)
        raise AssertionError("unreachable")

    async def send(self, subject: str, payload: bytes, headers: dict[str, str]) -> tuple[int, Obj]:
        """One request/reply round trip: the HTTP-like code and the decoded body."""
        assert self._requests is not None, (
            "an ApiClient without a NATS connection must override send")
        for attempt in range(self.retries):
            try:
                msg = await self._requests.request(subject, payload, wait=self.timeout,
                                                   headers=headers)
                break
            except NatsTimeout:
                # the request may have been served: retrying a create could report a
                # misleading AlreadyExists, so a timeout is the caller's to handle
                raise apierrors.timeout(f"no reply to {subject} within {self.timeout}s") from None
            except NoRespondersError:
                if attempt == self.retries - 1:
                    raise apierrors.ApiError(
                        503, "ServiceUnavailable",
                        f"no API server answered {subject} (is jetkube-apiserver running?)",
                    ) from None
                await asyncio.sleep(0.2 * (2 ** attempt))
        code = int((msg.headers or {}).get("Jetkube-Code", "200"))
        data = orjson.loads(msg.data) if msg.data else {}
        return code, data

    async def get(self, resource: str, namespace: str | None, name: str) -> Obj:
        return await self.request("get", resource, namespace, name)

    async def pages(self, resource: str, namespace: str | None = None, *,
                    label_selector: str | None = None, field_selector: str | None = None,
                    page_size: int = LIST_PAGE, group: str | None = None
                    ) -> AsyncIterator[Obj]:
        """A list, page by page (``limit`` and ``continue``): every list over NATS goes
        through here, since one reply is at most max_payload (1 MiB by default) and the API
        server refuses an unpaged list that would not fit.  A page may hold fewer than
        ``page_size`` items (the server cuts one that would not fit a message).  The
        caller may act on a page, deleting its items even, before asking for the next:
        the continue token resumes after the page's last key."""
        q = {"limit": str(page_size)}
        if label_selector:
            q["labelSelector"] = label_selector
        if field_selector:
            q["fieldSelector"] = field_selector
        while True:
            page = await self.request("list", resource, namespace, query=q, group=group)
            yield page
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return
            q = {**q, "continue": cont}

    async def list(self, resource: str, namespace: str | None = None, *,
                   label_selector: str | None = None, field_selector: str | None = None,
                   page_size: int = LIST_PAGE, group: str | None = None) -> Obj:
        """A whole list, fetched in :meth:`pages`: the items of every page, with the first
        page's metadata (its resourceVersion, the list's snapshot) less ``continue``."""
        first: Obj | None = None
        items: list[Obj] = []
        async for page in self.pages(resource, namespace, label_selector=label_selector,
                                     field_selector=field_selector, page_size=page_size,
                                     group=group):
            first = first or page
            items += page.get("items") or []
        assert first is not None
        out = dict(first)
        out["items"] = items
        out["metadata"] = {k: v for k, v in (first.get("metadata") or {}).items()
                           if k != "continue"}
        return out

    async def create(self, resource: str, namespace: str | None, body: Obj) -> Obj:
        return await self.request("create", resource, namespace, body=body)

    async def create_many(self, resource: str, namespace: str | None, bodies: Sequence[Obj],
                          *, group: str | None = None, minimal: bool = False
                          ) -> builtins.list[Obj | apierrors.ApiError]:
        """Create each of ``bodies`` (of one resource, in ``namespace``), in order, in as few
        requests as the batches allow (the NATS face's ``Jetkube-Batch``: natsbatch.py, each
        object created as its own create would be): the created object (``minimal``: its
        identity only, :data:`PREFER_MINIMAL`), or the ApiError its create met (429s are
        retried, as :meth:`request` retries them).  A batch refused whole, or left
        unanswered, raises."""
        rt = self.resource(resource, group)
        subject = api_subject("create", rt, self.identity, self.subject_prefix)
        encoded = [orjson.dumps(b) for b in bodies]
        chunks: builtins.list[builtins.list[bytes]] = []
        start = 0
        while start < len(encoded):
            end, size = start + 1, len(encoded[start])
            while end < len(encoded) and end - start < BATCH and (
                    size + len(encoded[end]) < BATCH_BYTES):
                size += len(encoded[end])
                end += 1
            chunks.append(encoded[start:end])
            start = end
        answers = await asyncio.gather(*(self._batch(subject, namespace, c, minimal=minimal)
                                         for c in chunks))  # at once, as single creates were
        return [a for answer in answers for a in answer]

    async def _batch(self, subject: str, namespace: str | None, items: builtins.list[bytes],
                     *, subresource: str | None = None, names: Sequence[str] = (),
                     traces: Sequence[str] = (), content_type: str = "application/json",
                     minimal: bool = False) -> builtins.list[Obj | apierrors.ApiError]:
        """One batched request of ``items`` (natsbatch.py): each one's answer or error.  A
        subresource's creates and patches name each item's object (``names``);
        ``traces``: each one's traceparent ("" for none); ``minimal``: each answer the
        object's identity only."""
        results: builtins.list[Obj | apierrors.ApiError] = [apierrors.internal("not sent")] * len(items)
        todo = builtins.list(range(len(items)))
        for attempt in range(apierrors.THROTTLE_RETRIES + 1):
            headers = {"Content-Type": content_type, BATCH_HEADER: str(len(todo))}
            if minimal:
                headers.update(PREFER_MINIMAL)
            if namespace:
                headers["Jetkube-Namespace"] = namespace
            if subresource:
                headers["Jetkube-Subresource"] = subresource
            if names:
                headers[NAMES_HEADER] = ",".join(names[i] for i in todo)
            if any(traces):
                headers[TRACES_HEADER] = ",".join(traces[i] for i in todo)
            code, data = await self.send(subject, b"\n".join(items[i] for i in todo),
                                         inject_headers(headers))
            if code >= 400:
                raise apierrors.ApiError.from_status(data, code)
            answers = cast(builtins.list[Obj], data)
            throttled: builtins.list[int] = []
            wait = 1.0
            for i, answer in zip(todo, answers, strict=True):
                item_code, body = int(answer["code"]), answer["body"]
                if item_code < 400:
                    results[i] = body
                    continue
                results[i] = err = apierrors.ApiError.from_status(body, item_code)
                if item_code == 429:
                    throttled.append(i)
                    wait = float(err.retry_after) if err.retry_after is not None else 1.0
            if not throttled or attempt == apierrors.THROTTLE_RETRIES:
                break
            await asyncio.sleep(wait)
            todo = throttled
        return results

    async def update(self, resource: str, namespace: str | None, name: str, body: Obj, *,
                     subresource: str | None = None) -> Obj:
        return await self.request("update", resource, namespace, name, body,
                                  subresource=subresource)

    async def update_status(self, resource: str, namespace: str | None, name: str,
                            body: Obj) -> Obj:
        return await self.update(resource, namespace, name, body, subresource="status")

    async def patch(self, resource: str, namespace: str | None, name: str, patch: Any, *,
                    patch_type: str = "application/merge-patch+json",
                    subresource: str | None = None) -> Obj:
        return await self.request("patch", resource, namespace, name, patch,
                                  subresource=subresource, content_type=patch_type)

    async def delete(self, resource: str, namespace: str | None, name: str, *,
                     propagation_policy: str | None = None,
                     grace_period_seconds: int | None = None) -> Obj:
        opts: Obj = {}
        if propagation_policy:
            opts["propagationPolicy"] = propagation_policy
        if grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = grace_period_seconds
        return await self.request("delete", resource, namespace, name, opts or None)

    async def bind(self, namespace: str, pod: str, node: str, uid: str | None = None) -> Obj:
        """Bind ``pod`` to ``node`` (the ``pods/binding`` subresource; with ``uid``, only
        that incarnation of the pod), batched with the binds of the same turn."""
        body: Obj = {"apiVersion": "v1", "kind": "Binding",
                     "metadata": {"name": pod, "namespace": namespace},
                     "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        if uid:
            body["metadata"]["uid"] = uid
        return await self.create_subresource("pods", namespace, pod, "binding", body)

    async def create_subresource(self, resource: str, namespace: str, name: str,
                                 subresource: str, body: Obj) -> Obj:
        """Create ``name``'s ``subresource`` (a bind, a TokenRequest), together with the
        others of the same turn (:meth:`together`)."""
        return await self.together("create", resource, namespace, name, body,
                                   subresource=subresource)

    async def patch_together(self, resource: str, namespace: str, name: str, patch: Any, *,
                             patch_type: str = "application/merge-patch+json",
                             subresource: str | None = None, minimal: bool = False) -> Obj:
        """:meth:`patch`, together with the patches of the same turn (:meth:`together`)."""
        return await self.together("patch", resource, namespace, name, patch,
                                   subresource=subresource, content_type=patch_type,
                                   minimal=minimal)

    async def together(self, verb: str, resource: str, namespace: str, name: str, body: Any,
                       *, subresource: str | None = None,
                       content_type: str = "application/json", minimal: bool = False) -> Obj:
        """One request, sent with the others of its kind (verb, resource, subresource,
        namespace, content type) asked for in the same turn of the event loop: alone, as
        its own request; two or more, in one batched request (``_groups.py``), each with
        its own answer or error.  A batch's answers that would not fit one NATS message
        come back cut to each object's identity (natsbatch.py): callers that read the
        answer check for what they need.  ``minimal``: the answer is the object's identity
        only (:data:`PREFER_MINIMAL`), alone or in a batch."""
        if self._groups is None:
            self._groups = RequestGroups(self._send_group)
        key = (verb, resource, subresource or "", namespace, content_type, minimal)
        encoded = orjson.dumps(body)  # once, for either way it goes
        answer = await self._groups.join(key, name, encoded)
        if answer is not None:
            return answer
        return await self.request(verb, resource, namespace, name, encoded,
                                  subresource=subresource, content_type=content_type,
                                  minimal=minimal)

    async def _send_group(self, key: GroupKey, group: Sequence[Pending]) -> None:
        verb, resource, subresource, namespace, content_type, minimal = key
        subject = api_subject(verb, self.resource(resource), self.identity,
                              self.subject_prefix)
        results = await self._batch(
            subject, namespace, [p.body for p in group], subresource=subresource or None,
            names=[p.name for p in group], traces=[p.traceparent for p in group],
            content_type=content_type, minimal=minimal)
        for p, result in zip(group, results, strict=True):
            if p.answer.done():
                continue
            if isinstance(result, apierrors.ApiError):
                p.answer.set_exception(result)
            else:
                p.answer.set_result(result)
