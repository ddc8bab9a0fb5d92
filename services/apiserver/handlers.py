"""The REST verbs on any resource: one code path for the HTTP and NATS faces.

Each write: decode → default + validate (schemas) → admission → a single
compare-and-swap in the store.  Nothing is written when any step fails, nor for a
``dryRun=All`` request, which runs every step and answers what it would have stored
(dryrun.py).
Objects of a resource with a time to live (Events, ``--event-ttl``) carry it on every
write, and the store expires them by itself (a DELETE every watcher sees).
Reads of single objects go to the store (consistent); lists and watches are
served from the watch cache.  Subresources (status, scale, binding, pods/log,
...) are served from the table the server hands in (rest.py, subresources.py).
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson

from jetkube import schemas
from jetkube.schemas.objects import Obj
from jetkube.schemas.registry import ResourceType

from ..machinery.apimachinery import apierrors, object_key, random_string
from ..machinery.runtime import telemetry
from ..machinery.store import AlreadyExists, Conflict, NotFound, Store
from . import dryrun, lifecycle, managedfields, params, patching, tables
from .admission import Admission
from .decode import JSON
from .encryption import Encryption
from .filters import build_filter
from .objects import meta, served_bytes, stored_bytes, with_revision
from .request import ApiRequest, check_created, check_identity
from .response import Response, StreamResponse, UpgradeResponse, WatchResponse, written
from .rest import SubresourceTable, delete_options_body, read_body
from .watchcache import Cached, CacheWatcher, WatchCache
from .writeload import StaleNoop, is_big, load, load_created, maybe_off

ManagedFields = list[Obj]  # (``list`` is a verb in the class below)


def _json(code: int, obj: Any) -> Response:
    return Response(code, orjson.dumps(obj))


class Handlers:
    def __init__(self, store: Store, cache: WatchCache, admission: Admission,
                 subresources: SubresourceTable, encryption: Encryption | None = None, *,
                 ttls: Mapping[str, float] | None = None) -> None:
        self.store = store
        self.ttls: Mapping[str, float] = ttls or {}
        """Resource (plural) -> seconds its objects live after each write (``events``:
        ``--event-ttl``): every create and update of one sets the TTL again, as
        kube-apiserver attaches a lease to every write of an Event."""
        self.encryption = encryption or Encryption()
        self.cache = cache
        self.admission = admission
        self.subresources = subresources
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        """The wall clock that stamps creation and deletion times (tests: a fake clock's)."""

    async def handle(self, req: ApiRequest
                     ) -> Response | WatchResponse | StreamResponse | UpgradeResponse:
        req.table = tables.negotiate_request(  # JSON, or a Table (406 otherwise)
            req.verb, req.subresource, req.accept, req.params.include_object)
        # ?dryRun=All: every check, no write (dryrun.py); the field manager (managedfields.py)
        with dryrun.serving(req), managedfields.serving(req):
            return await self._serve(req)

    async def _serve(self, req: ApiRequest
                     ) -> Response | WatchResponse | StreamResponse | UpgradeResponse:
        serve_subresource = self.subresources.get(req.subresource) if req.subresource else None
        if serve_subresource is not None:
            got = await serve_subresource(self, req)
            if req.table is not None and isinstance(got, Response) and got.code == 200:
                return self._read(req, orjson.loads(got.body))  # GET .../status as a Table
            return got
        verb = req.verb
        if verb == "get":
            return self._read(req, await self.get_object(req.rt, req.namespace, req.name or ""))
        if verb == "list":
            return await self.list(req)
        if verb == "watch":
            return await self.watch(req)
        if verb == "create":
            json_size = len(req.body or b"") if req.content_type == JSON else None
            new, raw = await self.create_answer(req.rt, req.namespace, await read_body(req),
                                                json_size=json_size)
            return written(201, new, req.minimal, raw)
        if verb == "update":
            return written(200, await self.update(req.rt, req.namespace, req.name or "",
                                                  await read_body(req)), req.minimal)
        if verb == "patch":
            patched = await self.patch(req)
            return written(201 if managedfields.was_created() else 200, patched, req.minimal)
        if verb == "delete":
            opts = self._delete_options(req)
            return _json(200, await self.delete(req.rt, req.namespace, req.name or "", opts))
        if verb == "deletecollection":
            return await self.delete_collection(req)
        raise apierrors.method_not_allowed(f"verb {verb} is not supported")

    # --- reads --------------------------------------------------------------

    def _read(self, req: ApiRequest, obj: Obj) -> Response:
        """A get's answer: the object, or its Table when one was negotiated."""
        if req.table is None:
            return _json(200, obj)
        return Response(200, tables.object_table(req.table, req.rt.kind, req.rt.api_version, obj))

    async def get_object(self, rt: ResourceType, namespace: str | None, name: str) -> Obj:
        key = object_key(rt.plural, namespace, name)
        try:
            e = await self.store.get(key)
        except NotFound:
            raise apierrors.not_found(rt.plural, name, rt.group) from None
        return self.encryption.open(rt.plural, key, with_revision(e.value, e.revision))

    def cached_object(self, rt: ResourceType, namespace: str | None, name: str) -> Obj | None:
        """The watch cache's current copy (``managedFields`` and all; perhaps stale), for a
        read-modify-write that a CAS guards (rest.on_current); None when it has none."""
        c = self.cache.resource(rt.plural).items.get(object_key(rt.plural, namespace, name))
        return None if c is None else orjson.loads(c.raw)  # type: ignore[no-any-return]

    def _stored(self, rt: ResourceType, key: str, obj: Obj) -> bytes:
        """The bytes written under ``key``: no resourceVersion, values sealed if encrypted.
        The watch cache is told, so the write's event need not decode them again."""
        value = stored_bytes(self.encryption.seal(rt.plural, key, obj))
        self.cache.expect(rt.plural, key, value, obj)
        return value

    async def list(self, req: ApiRequest) -> Response:
        rt = req.rt
        f = build_filter(rt, req.namespace, req.query)
        # a consistent read unless resourceVersion=0 (the cache as it is); a cold on-demand
        # resource is read from the store (watchcache.current)
        rc, rv = await self.cache.current(rt.plural, req.namespace,
                                          fresh=req.query.get("resourceVersion", "") != "0")
        limit = req.params.limit or 0
        start = ""
        if req.query.get("continue"):
            try:
                tok = orjson.loads(base64.urlsafe_b64decode(req.query["continue"]))
                start, rv = str(tok["start"]), int(tok["rv"])
            except Exception:
                raise apierrors.bad_request("invalid continue token") from None
        found: list[Cached] = []
        cont: str | None = None
        prev_key = ""
        for c in rc.candidates(req.namespace, f.label_eq, f.label_exists, f.field_eq):
            if start and c.key <= start:
                continue
            if not f.match(c):
                continue
            if limit and len(found) >= limit:
                tok = orjson.dumps({"start": prev_key, "rv": rv})
                cont = base64.urlsafe_b64encode(tok).decode()
                break
            found.append(c)
            prev_key = c.key
        if req.table is not None:
            list_meta = {"resourceVersion": str(rv), **({"continue": cont} if cont else {})}
            return Response(200, orjson.dumps(tables.table(
                req.table, rt.kind, rt.api_version, [c.served() for c in found], list_meta)))
        md = f'"resourceVersion":"{rv}"'
        if cont:
            md += f',"continue":"{cont}"'
        head = (f'{{"kind":"{rt.list_kind}","apiVersion":"{rt.api_version}",'
                f'"metadata":{{{md}}},"items":[').encode()
        return Response(200, head + b",".join(c.raw for c in found) + b"]}")

    async def watch(self, req: ApiRequest) -> WatchResponse:
        """A watch from the watch cache, started where its query says (``resourceVersion``,
        ``sendInitialEvents``: ``WatchCache.start_watch``); selectors filter the initial
        events as they filter the live ones.  A WatchList that allowed bookmarks ends its
        initial events with the ``k8s.io/initial-events-end`` bookmark (watchstream.py)."""
        rt, p = req.rt, req.params
        query = dict(req.query)
        if req.name:  # GET .../pods/NAME?watch=true watches that one object
            query["fieldSelector"] = ",".join(
                x for x in (query.get("fieldSelector", ""), f"metadata.name={req.name}") if x)
        f = build_filter(rt, req.namespace, query)
        w = CacheWatcher(rt.plural, req.namespace, f.match)
        await self.cache.warm(rt.plural)  # an on-demand resource is held while watched
        await self.cache.start_watch(w, p.resource_version, p.send_initial_events)
        timeout = float(p.timeout_seconds or 0) or None
        return WatchResponse(w, p.allow_watch_bookmarks, timeout, rt.kind, rt.api_version,
                             initial_events_end=bool(p.send_initial_events
                                                     and p.allow_watch_bookmarks),
                             table=req.table)

    # --- writes -------------------------------------------------------------

    async def create(self, rt: ResourceType, namespace: str | None, obj: Obj,
                     *, trace: dict[str, str] | None = None,
                     managed: ManagedFields | None = None) -> Obj:
        return (await self.create_answer(rt, namespace, obj, managed=managed))[0]

    async def create_answer(self, rt: ResourceType, namespace: str | None, obj: Obj, *,
                            managed: ManagedFields | None = None, json_size: int | None = None
                            ) -> tuple[Obj, bytes | None]:
        """:meth:`create`'s object and, when they can be had without encoding it again, its
        bytes as the answer carries them: the stored ones with its resourceVersion put in
        (objects.served_bytes; None for a sealed value or a dry run).  ``json_size``: the
        length of the JSON body ``obj`` came as (writeload.is_big)."""
        obj = check_identity(rt, namespace, obj)
        md = meta(obj)
        namespace = md.get("namespace")
        generate = not md.get("name") and md.get("generateName")
        for _ in range(8 if generate else 1):
            if generate:
                md["name"] = f"{md['generateName']}{random_string(5)}"
            new = lifecycle.prepare_create(rt, obj, self.now())
            big = is_big(new, json_size)  # (its defaults add little)
            new, table = await load_created(rt, new, big)
            check_created(rt, new)  # its name can be a store key
            # an apply's entries, else an Update's of every field (a big object: off the loop)
            await maybe_off(managed is None and big, managedfields.on_create, rt, new, managed,
                            table)
            telemetry.annotate(new)
            await self.admission.admit(rt, "create", None, new)
            name = new["metadata"]["name"]
            key = object_key(rt.plural, namespace, name)
            if dryrun.active():
                try:
                    await self.store.get(key)
                except NotFound:
                    return new, None  # what would be stored; no resourceVersion, as kube-apiserver
                if generate:
                    continue
                raise apierrors.already_exists(rt.plural, name, rt.group)
            value = self._stored(rt, key, new)
            try:
                rev = await self.store.create(key, value, ttl=self.ttls.get(rt.plural))
            except AlreadyExists:
                await self.admission.undo(rt, None, new)
                if generate:
                    continue
                raise apierrors.already_exists(rt.plural, name, rt.group) from None
            raw = None if self.encryption.seals(rt.plural) else (
                self.cache.bytes_at(rt.plural, key, rev) or served_bytes(value, new, rev))
            new["metadata"]["resourceVersion"] = str(rev)
            self.admission.committed(rt, None, new)
            return new, raw
        raise apierrors.ApiError(500, "AlreadyExists", "could not generate a unique name")

    async def update(self, rt: ResourceType, namespace: str | None, name: str, obj: Obj,
                     *, subresource: str | None = None) -> Obj:
        obj = check_identity(rt, namespace, obj)
        md = meta(obj)
        if md.get("name") and md["name"] != name:
            raise apierrors.bad_request(
                f"the name of the object ({md['name']}) does not match the name on the URL ({name})")
        md["name"] = name
        want_rv = md.get("resourceVersion")
        if want_rv not in (None, ""):  # the cache's copy at that version is that version
            old = self.cached_object(rt, namespace, name)  # (a lease renewal: no store read)
            if old is not None and old["metadata"]["resourceVersion"] == str(want_rv):
                with contextlib.suppress(StaleNoop):
                    return await self.write_update(rt, old, obj, subresource=subresource,
                                                   cached=True)
        old = await self.get_object(rt, namespace, name)
        if want_rv not in (None, "") and str(want_rv) != old["metadata"]["resourceVersion"]:
            raise apierrors.conflict(rt.plural, name, rt.group)
        return await self.write_update(rt, old, obj, subresource=subresource)

    async def write_update(self, rt: ResourceType, old: Obj, obj: Obj, *,
                           subresource: str | None = None,
                           managed: ManagedFields | None = None, cached: bool = False) -> Obj:
        """Validate and commit ``obj`` over ``old`` (CAS on old's resourceVersion), with the
        ``managedFields`` an apply made (``managed``), else an Update's (managedfields.py).
        ``cached``: ``old`` is the watch cache's copy, so a write that changes nothing is not
        answered from it (it may be stale) but raises ``_StaleNoop``, for the caller to ask
        the store, as GuaranteedUpdate refreshes a cached object before a no-op answer."""
        md = old["metadata"]
        name, namespace = md["name"], md.get("namespace")
        new = lifecycle.prepare_update(rt, old, obj, subresource)
        big = is_big(new)
        if subresource != "binding":  # a bind only sets spec.nodeName and a condition
            new = await load(rt, new, big, status_only=subresource == "status")
        if new["metadata"].get("generation") != md.get("generation"):
            telemetry.annotate(new)  # a new intent: later work continues this request's trace
        causes = schemas.validate_update(rt, old, new) if subresource is None else []
        if causes:
            raise apierrors.invalid(rt.kind, name, causes, rt.group)
        await maybe_off(managed is None and big, managedfields.on_update, rt, old, new,
                         subresource, managed)
        await self.admission.admit(rt, "update", old, new, subresource=subresource)
        key = object_key(rt.plural, namespace, name)
        rev0 = int(md["resourceVersion"])
        if dryrun.active():  # all checked: answer what would be stored, write nothing
            new["metadata"]["resourceVersion"] = md["resourceVersion"]
            return new
        if lifecycle.ready_to_remove(new):
            try:
                rev = await self.store.delete(key, rev0)
            except Conflict:
                await self.admission.undo(rt, old, new)
                raise apierrors.conflict(rt.plural, name, rt.group) from None
            new["metadata"]["resourceVersion"] = str(rev)
            self.admission.committed(rt, old, None)
            return new
        if lifecycle.same_stored(old, new):
            if cached:
                raise StaleNoop(rt.plural, name)
            return old  # a no-op update writes nothing, as Kubernetes does
        try:
            rev = await self.store.update(key, self._stored(rt, key, new), rev0,
                                          ttl=self.ttls.get(rt.plural))
        except (Conflict, NotFound) as err:  # not written (Unavailable may have been: kept)
            await self.admission.undo(rt, old, new)
            if isinstance(err, NotFound):
                raise apierrors.not_found(rt.plural, name, rt.group) from None
            raise apierrors.conflict(rt.plural, name, rt.group) from None
        new["metadata"]["resourceVersion"] = str(rev)
        self.admission.committed(rt, old, new)
        return new

    async def patch(self, req: ApiRequest, subresource: str | None = None) -> Obj:
        return await patching.patch(self, req, subresource)

    def _delete_options(self, req: ApiRequest) -> Obj:
        opts: Obj = {}
        if req.body and req.body.strip():
            opts = delete_options_body(req)  # JSON or protobuf (rest.py)
            if not isinstance(opts, dict):
                raise apierrors.bad_request("DeleteOptions must be an object")
            params.check_delete_options(opts)
        opts.update(req.params.delete_options())  # checked in params.py
        pol = opts.get("propagationPolicy")
        if pol not in (None, "Orphan", "Background", "Foreground"):
            raise apierrors.bad_request(
                f'propagationPolicy: Unsupported value: "{pol}": supported values: '
                '"Foreground", "Background", "Orphan"')
        return opts

    async def delete(self, rt: ResourceType, namespace: str | None, name: str, opts: Obj) -> Obj:
        for _ in range(patching.PATCH_RETRIES):
            old = await self.get_object(rt, namespace, name)
            self.admission.admit_delete(rt, old)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"].get("uid"):
                raise apierrors.conflict(rt.plural, name, rt.group)
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"][
                    "resourceVersion"]:
                raise apierrors.conflict(rt.plural, name, rt.group)
            new = lifecycle.mark_deleted(rt, old, opts, self.now())
            if dryrun.active():
                return old if new is None else new
            key = object_key(rt.plural, namespace, name)
            rev0 = int(old["metadata"]["resourceVersion"])
            try:
                if new is None:
                    rev = await self.store.delete(key, rev0)
                    old["metadata"]["resourceVersion"] = str(rev)
                    self.admission.committed(rt, old, None)
                    return old
                if lifecycle.same_stored(old, new):
                    return old
                rev = await self.store.update(key, self._stored(rt, key, new), rev0,
                                              ttl=self.ttls.get(rt.plural))
            except Conflict:
                continue
            except NotFound:
                raise apierrors.not_found(rt.plural, name, rt.group) from None
            new["metadata"]["resourceVersion"] = str(rev)
            self.admission.committed(rt, old, new)
            return new
        raise apierrors.conflict(rt.plural, name, rt.group)

    async def delete_collection(self, req: ApiRequest) -> Response:
        listed = orjson.loads((await self.list(req)).body)
        opts = self._delete_options(req)
        items = []
        for item in listed["items"]:
            md = item["metadata"]
            try:
                items.append(await self.delete(req.rt, md.get("namespace"), md["name"], opts))
            except apierrors.ApiError as err:
                if err.code != 404:
                    raise
        listed["items"] = items
        return _json(200, listed)
