"""The API server survives arbitrary JSON (issue 12, Deliver 8): a property-based fuzz
suite over every resource's create, update and patch (each patch type, the status
subresource, hostile paths and query strings), every review's create and the metrics'
(refused) writes, sent through the real ASGI app; the strategies are in fuzzinput.py.

For every request it asserts: the answer is never a 5xx and never holds a traceback, and
nothing was logged as an error; every error answer is a Kubernetes ``Status`` whose
``code`` is the HTTP status; and the store holds exactly what the answer says, compared
as a dump of the whole store taken before and after the request:

- a 4xx, or a 2xx with ``dryRun=All``, leaves the store exactly as it was (every key,
  value and revision);
- a 2xx create, update or patch changes the one key of the object it names and no other
  (but for the side effects in :data:`SIDE_EFFECTS`), and that key then holds the object
  the answer shows: the same value, ``metadata.resourceVersion`` being the key's revision
  (the store keeps no resourceVersion in the value; the server adds it on every read);
  or, for an update that takes the last finalizer off an object being deleted, the key is
  gone and the answer says so;
- an update or patch changes the object of the name on the URL (not another whose store
  key looks the same), and a 409 AlreadyExists names an object that exists;
- a review is answered (201) or refused, and never stored.

Each example starts from a fresh API server (in-memory store) holding one valid object of
the resource (sometimes being deleted, held by a finalizer), a namespace whose
ResourceQuota allows nothing and a terminating one; each example is a sequence of one
or two requests, and valid requests (Hypothesis' explicit examples) run first in every
property.  Examples are derandomized, so a run is reproducible; ``JETKUBE_FUZZ_EXAMPLES``
sets how many each property draws (say 200 for a deeper search before a release).  The
server bugs the fuzzing found are kept below as minimal regression tests (each failed
before its fix).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest
from apiharness import Api, make_api
from faces import AsgiApi, asgi_request
from fuzzinput import (
    APPLY,
    JSON_PATCH,
    MERGE,
    PATCH_TYPES,
    STRATEGIC,
    FuzzRequest,
    StoreDump,
    any_write,
    change_patches,
    collection_path,
    create_requests,
    object_path,
    patch_requests,
    seed_name,
    seed_object,
    store_dump,
    update_requests,
    valid_create,
    valid_patch,
    valid_update,
)
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from jetkube.schemas.registry import ResourceType, all_resources, metrics, reviews
from jetkube.services.apiserver.decode import media_type
from jetkube.services.apiserver.http import HttpApp
from jetkube.services.apiserver.patch import PATCH_TYPES as SERVED_PATCH_TYPES
from jetkube.services.machinery.apimachinery import object_key

EXAMPLES = int(os.environ.get("JETKUBE_FUZZ_EXAMPLES", "0"))
"""Examples each property draws (beside its explicit ones); 0: each its own number below,
sized to keep the whole file well under a minute on two cores."""

FUZZ = settings(deadline=None, derandomize=True, database=None,
                print_blob=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much,
                                       HealthCheck.large_base_example])

RESOURCES = all_resources()
REVIEWS = reviews()
METRICS = metrics()
WITH_STATUS = [rt for rt in RESOURCES if "status" in rt.subresources]


def _ids(rt: ResourceType) -> str:
    return str(rt.plural)


# --- what the API server itself may write beside the object -------------------------

def _service_allocations(svc: Any, owner: str) -> dict[str, Any]:
    """The allocation keys a stored Service holds: its ClusterIP (unless headless or an
    ExternalName, which holds none in Kubernetes) and the NodePort of each port (NodePort
    and LoadBalancer types)."""
    if not isinstance(svc, dict):
        return {}
    spec = svc.get("spec") or {}
    held: dict[str, Any] = {}
    ip = spec.get("clusterIP")
    if spec.get("type") != "ExternalName" and ip and ip != "None":
        held[object_key("ipallocations", None, ip)] = {"owner": owner}
    if spec.get("type") in ("NodePort", "LoadBalancer"):
        for port in spec.get("ports") or []:
            if port.get("nodePort"):
                held[object_key("nodeportallocations", None, str(port["nodePort"]))] = {
                    "owner": owner}
    return held


SIDE_EFFECTS: dict[str, tuple[tuple[str, ...], Callable[[Any, str], dict[str, Any]]]] = {
    # A Service's ClusterIP and NodePorts are keys of their own, taken with a store create
    # before the Service is written (allocator.py) and deleted once a write gives them
    # up (Admission.committed): after a 2xx write of a Service, the allocation keys are
    # those before, less the old Service's, plus the new one's, each owned by the Service.
    "services": (("ipallocations.", "nodeportallocations."), _service_allocations),
}
"""Resource -> (prefixes of the keys the API server writes beside the object on a 2xx
write of it, the keys and values the stored object holds there).  Nothing else is
written: no Events, no Namespaces, no quota status (controllers write those)."""


# --- one example --------------------------------------------------------------------

@dataclass
class World:
    api: Api
    app: HttpApp


async def make_world(rt: ResourceType, deleting: bool) -> World:
    """A fresh API server with a valid ``rt`` object (``seed_name``, in ``default`` when
    namespaced; none of a review or metrics), held by a finalizer and being deleted when
    ``deleting``; namespaces ``fuzz-quota`` (a ResourceQuota that allows nothing) and
    ``fuzz-ending`` (terminating)."""
    api = await make_api()
    namespaces = "/api/v1/namespaces"
    for name in ("fuzz-quota", "fuzz-ending"):
        await api.ok("POST", namespaces, {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": name},
                                          "spec": {"finalizers": ["kubernetes"]}})
    hard = {f"count/{r.plural}" + (f".{r.group}" if r.group else ""): "0"
            for r in RESOURCES if r.namespaced}
    await api.ok("POST", f"{namespaces}/fuzz-quota/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "nothing"},
        "spec": {"hard": {**hard, "services": "0", "pods": "0", "configmaps": "0",
                          "secrets": "0"}}})
    await api.ok("DELETE", f"{namespaces}/fuzz-ending", None)
    if rt not in RESOURCES:  # a review or metrics: nothing of it is stored
        await api.cache.wait_fresh()
        return World(api, HttpApp(api.front))
    seed = seed_object(rt, stored=True)
    ns = "default" if rt.namespaced else None
    if deleting:
        seed["metadata"]["finalizers"] = ["fuzz.io/hold"]
    await api.ok("POST", collection_path(rt, ns), seed)
    if deleting:
        await api.ok("DELETE", object_path(rt, ns, seed_name(rt)), None)
    await api.cache.wait_fresh()
    return World(api, HttpApp(api.front))


class _ErrorLog(logging.Handler):
    """Records every error logged (an internal error's traceback, an exception in a task)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def _errors_logged() -> Iterator[_ErrorLog]:
    handler = _ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


async def _settle(before: set[asyncio.Task[Any]]) -> list[BaseException]:
    """Let the tasks a request started finish (a Service's released allocations are
    deleted by a task of their own); what they raised."""
    raised: list[BaseException] = []
    for _ in range(3):
        await asyncio.sleep(0)
        started = asyncio.all_tasks() - before - {asyncio.current_task()}
        if started:
            results = await asyncio.gather(*started, return_exceptions=True)
            raised += [r for r in results if isinstance(r, BaseException)]
    await asyncio.sleep(0)
    return raised


@dataclass
class Exchange:
    """One request, its answer, and the store before and after it."""

    req: FuzzRequest
    status: int
    body: bytes
    answer: Any
    before: StoreDump
    after: StoreDump


async def send(world: World, req: FuzzRequest) -> Exchange:
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    tasks = set(asyncio.all_tasks())
    await world.api.cache.wait_fresh()
    before = await store_dump(world.api.store)
    with _errors_logged() as logged:
        status, headers, body = await asgi_request(
            world.app, req.method, req.path, req.body,
            [(b"content-type", req.content_type.encode())], req.query.encode())
        raised = await _settle(tasks)
        await world.api.cache.wait_fresh()
    after = await store_dump(world.api.store)
    assert not raised, f"a task the request started raised: {raised!r}"
    assert not loop_errors, f"an exception escaped a task: {loop_errors}"
    assert not logged.records, "errors were logged: " + "; ".join(
        f"{r.name}: {r.getMessage()}" + (f" ({r.exc_info[1]!r})" if r.exc_info else "")
        for r in logged.records)
    answer: Any = None
    if dict(headers).get(b"content-type") == b"application/json":
        answer = orjson.loads(body)
    return Exchange(req, status, body, answer, before, after)


# --- the properties -----------------------------------------------------------------

def _dry_run(query: str) -> bool:
    """Whether the query asks for a dry run the server honours (every ``dryRun`` ``All``)."""
    values = [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "dryRun"]
    return bool(values) and all(v == "All" for v in values)


def _without_rv(obj: dict[str, Any]) -> dict[str, Any]:
    md = {k: v for k, v in obj["metadata"].items() if k != "resourceVersion"}
    return {**obj, "metadata": md}


def _changed(ex: Exchange) -> set[str]:
    return {k for k in ex.before.keys() | ex.after.keys() if ex.before.get(k) != ex.after.get(k)}


def check(rt: ResourceType, ex: Exchange) -> str:
    """Assert the properties of one exchange; return what it was (for the tally)."""
    req = ex.req
    assert ex.status < 500, f"{req.method} answered {ex.status}: {ex.body[:2000]!r}"
    assert b"Traceback" not in ex.body, f"a traceback in the answer: {ex.body[:2000]!r}"
    if ex.status >= 300:
        st_ = ex.answer
        assert isinstance(st_, dict) and (st_.get("kind"), st_.get("apiVersion")) == (
            "Status", "v1"), f"a {ex.status} whose body is no Status: {ex.body[:500]!r}"
        assert (st_.get("status"), st_.get("code")) == ("Failure", ex.status), (
            f"a {ex.status} Status says code {st_.get('code')}, status {st_.get('status')}")
        assert isinstance(st_.get("reason"), str) and st_["reason"], f"no reason: {st_}"
        assert isinstance(st_.get("message"), str), f"no message: {st_}"
        assert ex.after == ex.before, (
            f"a {ex.status} {st_['reason']} changed the store: keys {sorted(_changed(ex))}")
        if st_["reason"] == "AlreadyExists" and req.subresource is None:
            _check_already_exists(rt, req, st_, ex.before)
        return f"{ex.status}"
    if rt in REVIEWS:
        assert ex.status == 201 and isinstance(ex.answer, dict), (ex.status, ex.body)
        assert ex.answer.get("kind") == rt.kind, ex.answer
        assert ex.after == ex.before, f"a review changed the store: {sorted(_changed(ex))}"
        return "answered"
    assert rt in RESOURCES, f"{req.method} {req.path} answered {ex.status}: {ex.body!r}"
    return _check_written(rt, ex)


def _check_already_exists(rt: ResourceType, req: FuzzRequest, st_: dict[str, Any],
                          before: StoreDump) -> None:
    """A 409 AlreadyExists names an object that is there, under its own name."""
    name = (st_.get("details") or {}).get("name", "")
    if req.verb != "create":
        return
    key = object_key(rt.plural, req.namespace if rt.namespaced else None, name)
    held = before.get(key, (0, {}))[1]
    assert held.get("metadata", {}).get("name") == name, (
        f"AlreadyExists for {name!r}, but the store key {key} holds "
        f"{held.get('metadata', {}).get('name')!r}")


def _check_written(rt: ResourceType, ex: Exchange) -> str:
    req, out = ex.req, ex.answer
    assert isinstance(out, dict), ex.body
    assert (out.get("kind"), out.get("apiVersion")) == (rt.kind, rt.api_version), out
    md = out["metadata"]
    ns = req.namespace if rt.namespaced else None
    assert md.get("namespace") == ns, (md, req)
    if req.verb != "create":
        assert md["name"] == req.name, (md["name"], req.name)
    key = object_key(rt.plural, ns, md["name"])
    old = ex.before[key][1] if key in ex.before else None
    # a create, or an apply (or a PUT, where Kubernetes allows it: RBAC, Leases...) of an
    # object not there, creates it (201); others are 200
    applied = req.verb == "patch" and media_type(req.content_type) == APPLY
    created = req.verb == "create" or ((applied or req.verb == "update") and old is None)
    assert ex.status == (201 if created else 200), f"{req.method} answered {ex.status}: {out}"
    assert created or old is not None, f"a {req.verb} of a missing {key} answered {ex.status}"
    if _dry_run(req.query):
        assert ex.after == ex.before, f"a dry run changed the store: {sorted(_changed(ex))}"
        return "dry run"
    prefixes, held_by = SIDE_EFFECTS.get(rt.plural, ((), lambda _o, _n: {}))
    others = {k for k in _changed(ex) - {key} if not k.startswith(prefixes)}
    assert not others, f"a {req.verb} of {key} also changed {sorted(others)}"
    if old is None:
        assert key in ex.after, f"a create answered 201 but wrote nothing at {key}"
    else:
        assert not created, f"a create answered 201 but {key} was not new"
        assert old["metadata"]["name"] == req.name, (
            f"{req.method} of {req.name!r} changed the object {old['metadata']['name']!r}")
    if key in ex.after:
        rev, stored = ex.after[key]
        assert stored == _without_rv(out), (
            f"the store holds\n{stored}\nbut the answer was\n{out}")
        assert str(rev) == md.get("resourceVersion"), (rev, md.get("resourceVersion"))
        new: Any = stored
        outcome = "written" if key in _changed(ex) else "unchanged"
    else:
        assert md.get("deletionTimestamp") and not md.get("finalizers"), (
            f"{key} left the store, but the answer holds it: {out}")
        new, outcome = None, "removed"
    owner = f"{ns}/{md['name']}" if ns else md["name"]
    want = {k: v for k, (_, v) in ex.before.items() if k.startswith(prefixes)} if prefixes \
        else {}
    for k in held_by(old, owner):
        want.pop(k, None)
    want.update(held_by(new, owner))
    got = {k: v for k, (_, v) in ex.after.items() if k.startswith(prefixes)} if prefixes \
        else {}
    assert got == want, f"side effects of a {req.verb} of {key}: {got} != {want}"
    return outcome


Tally = Counter[str]


def fuzz(rt: ResourceType, requests: st.SearchStrategy[FuzzRequest], examples: int,
         explicit: list[FuzzRequest]) -> Tally:
    """Send the ``explicit`` requests, then ``examples`` sequences of one or two drawn
    from ``requests``, each sequence to a fresh world, and check every exchange; the
    outcomes counted."""
    tally: Tally = Counter()

    async def sequence(reqs: list[FuzzRequest], deleting: bool) -> list[str]:
        world = await make_world(rt, deleting)
        try:
            return [check(rt, await send(world, req)) for req in reqs]
        finally:
            await world.api.cache.stop()
            await world.api.store.close()  # type: ignore[attr-defined]

    @settings(FUZZ, max_examples=EXAMPLES or examples)
    @given(reqs=st.lists(requests, min_size=1, max_size=2), deleting=st.booleans())
    def run(reqs: list[FuzzRequest], deleting: bool) -> None:
        for outcome in asyncio.run(sequence(reqs, deleting)):
            event(outcome)
            tally[outcome] += 1

    for req in reversed(explicit):
        run = example(reqs=[req], deleting=False)(run)
    run()
    return tally


def _wrote(tally: Tally) -> bool:
    return tally["written"] + tally["removed"] > 0


def _alias(rt: ResourceType) -> str:
    """The seed's name with ``.`` written ``_``: the same store key token, another name."""
    return seed_name(rt).replace(".", "_")


@pytest.mark.parametrize("rt", RESOURCES, ids=_ids)
def test_creates_of_arbitrary_json_are_refused_or_stored_as_answered(rt: ResourceType) -> None:
    where = ["default", "fuzz-quota", "fuzz-ending", "absent"] if rt.namespaced else [None]
    tally = fuzz(rt, create_requests(rt), 6, [
        *(valid_create(rt, ns) for ns in where), valid_create(rt, query="dryRun=All"),
        valid_create(rt, name=_alias(rt))])
    assert _wrote(tally), f"no example created anything: {tally}"


@pytest.mark.parametrize("rt", RESOURCES, ids=_ids)
def test_updates_with_arbitrary_json_are_refused_or_stored_as_answered(
        rt: ResourceType) -> None:
    tally = fuzz(rt, update_requests(rt), 5, [
        valid_update(rt), valid_update(rt, query="dryRun=All"),
        valid_update(rt, name=_alias(rt))])
    assert _wrote(tally), f"no example updated anything: {tally}"


@pytest.mark.parametrize("content_type", PATCH_TYPES)
@pytest.mark.parametrize("rt", RESOURCES, ids=_ids)
def test_patches_of_every_type_are_refused_or_stored_as_answered(
        rt: ResourceType, content_type: str) -> None:
    changes = change_patches(rt) if content_type == MERGE else []
    if content_type == APPLY:  # an apply of an object not there creates it
        changes = [valid_patch(rt, APPLY, name="made")]
    tally = fuzz(rt, patch_requests(rt, content_type), 2 if content_type == APPLY else 5, [
        valid_patch(rt, content_type), valid_patch(rt, content_type, name=_alias(rt)),
        *changes])
    if content_type in SERVED_PATCH_TYPES:
        assert _wrote(tally), f"no example patched anything: {tally}"
    else:  # (server-side apply before it was served) every one is refused
        assert all(outcome.isdigit() for outcome in tally), tally


@pytest.mark.parametrize("rt", WITH_STATUS, ids=_ids)
def test_status_writes_of_arbitrary_json_are_refused_or_stored_as_answered(
        rt: ResourceType) -> None:
    sub = "status"
    fuzz(rt, st.one_of(update_requests(rt, subresource=sub),
                       *(patch_requests(rt, t, subresource=sub)
                         for t in PATCH_TYPES if t in SERVED_PATCH_TYPES)), 4, [
        valid_update(rt, subresource=sub), valid_patch(rt, MERGE, subresource=sub),
        valid_patch(rt, MERGE, name=_alias(rt), subresource=sub)])


@pytest.mark.parametrize("rt", RESOURCES, ids=_ids)
def test_writes_at_hostile_paths_with_hostile_queries_are_refused_or_stored_as_answered(
        rt: ResourceType) -> None:
    fuzz(rt, any_write(rt), 5, [
        valid_create(rt, namespace="a b"), valid_create(rt, name="a>b"),
        valid_update(rt, name="a\x00b"), valid_patch(rt, MERGE, name="%"),
        valid_patch(rt, JSON_PATCH, namespace="*"),
        valid_create(rt, query="limit=abc&fieldValidation=Strict&resourceVersion=x"),
        valid_update(rt, query="dryRun=All&dryRun=x"),
        valid_patch(rt, STRATEGIC, query="dry%52un=All&fieldValidation=Ignore")])


@pytest.mark.parametrize("rt", REVIEWS, ids=_ids)
def test_reviews_of_arbitrary_json_are_refused_or_answered_and_store_nothing(
        rt: ResourceType) -> None:
    tally = fuzz(rt, st.one_of(create_requests(rt), create_requests(rt, hostile=True)), 10,
                 [valid_create(rt), valid_create(rt, query="dryRun=All")])
    assert tally["answered"], f"no review was answered: {tally}"


@pytest.mark.parametrize("rt", METRICS, ids=lambda rt: f"{rt.plural}.{rt.group}")
def test_writes_to_metrics_are_refused_and_store_nothing(rt: ResourceType) -> None:
    name = "node-1" if not rt.namespaced else "p"
    tally = fuzz(rt, any_write(rt), 5, [
        valid_create(rt), valid_update(rt, name=name), valid_patch(rt, MERGE, name=name)])
    assert all(outcome.isdigit() for outcome in tally), tally


# --- the server bugs the fuzzing found, each as a minimal regression test --------------

async def test_a_service_refused_by_quota_takes_no_cluster_ip() -> None:
    api = AsgiApi(await make_api())
    await api.ok("POST", "/api/v1/namespaces/default/resourcequotas", {
        "apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"services": "0"}}})
    await api.cache.wait_fresh()
    before = await store_dump(api.store)
    code, st_ = await api.call("POST", "/api/v1/namespaces/default/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"type": "NodePort", "ports": [{"port": 80}]}})
    assert (code, st_["reason"]) == (403, "Forbidden"), st_
    await asyncio.sleep(0)
    assert await store_dump(api.store) == before


async def test_every_cluster_ip_is_allocated_to_its_own_service() -> None:
    api = AsgiApi(await make_api())
    svcs = "/api/v1/namespaces/default/services"
    external = {"type": "ExternalName", "externalName": "example.com", "clusterIP": "10.96.0.30"}
    for name, spec in (("ext", external), ("other", {"clusterIP": "10.96.0.30"})):
        code, _ = await api.call("POST", svcs, {"apiVersion": "v1", "kind": "Service",
                                                "metadata": {"name": name},
                                                "spec": {**spec, "ports": [{"port": 80}]}})
        assert code in (201, 422)  # as Kubernetes, refusing a ClusterIP on an ExternalName
    await api.cache.wait_fresh()
    await api.call("PATCH", f"{svcs}/ext", {"spec": {"type": "ClusterIP", "externalName": None}},
                   content_type=MERGE)
    await asyncio.sleep(0)
    held = await store_dump(api.store)
    for _, svc in [v for k, v in held.items() if k.startswith("services.")]:
        owner = f"default/{svc['metadata']['name']}"
        missing = {k: v for k, v in _service_allocations(svc, owner).items()
                   if held.get(k, (0, None))[1] != v}
        assert not missing, f"{owner} holds {svc['spec']['clusterIP']}, not allocated to it"


# --- each check can fail ---------------------------------------------------------------

_CM = next(rt for rt in RESOURCES if rt.plural == "configmaps")
_SVC = next(rt for rt in RESOURCES if rt.plural == "services")
_OTHER = ("configmaps.default.other", (3, {"kind": "ConfigMap", "metadata": {"name": "other"}}))


def _created(rt: ResourceType, stored: dict[str, Any], rev: int, query: str = "",
             extra: dict[str, tuple[int, Any]] | None = None) -> Exchange:
    """A create of ``stored`` at revision ``rev``, as a correct server answers it."""
    req = valid_create(rt, query=query)
    key = object_key(rt.plural, "default", stored["metadata"]["name"])
    answer = {**stored, "metadata": {**stored["metadata"], "resourceVersion": str(rev)}}
    before = dict([_OTHER])
    after = {**before, key: (rev, stored), **(extra or {})}
    return Exchange(req, 201, orjson.dumps(answer), answer, before, after)


def _good_configmap() -> Exchange:
    return _created(_CM, {"apiVersion": "v1", "kind": "ConfigMap",
                          "metadata": {"name": "made", "namespace": "default"},
                          "data": {"a": "b"}}, 4)


def _good_service(node_port: int = 30000) -> Exchange:
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": "made", "namespace": "default"},
           "spec": {"type": "NodePort", "clusterIP": "10.96.1.0",
                    "ports": [{"port": 80, "nodePort": node_port}]}}
    owner = {"owner": "default/made"}
    return _created(_SVC, svc, 6, extra={"ipallocations._.10_96_1_0": (4, owner),
                                         "nodeportallocations._.30000": (5, owner)})


def _refused(code: int, status: Any, changed: bool = False) -> Exchange:
    before = dict([_OTHER])
    after = {**before, "configmaps.default.made": (4, {})} if changed else dict(before)
    return Exchange(valid_create(_CM), code, orjson.dumps(status), status, before, after)


def _status(code: int, reason: str = "Invalid") -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "m", "reason": reason, "code": code}


def _edit(ex: Exchange, **changes: Any) -> Exchange:
    return Exchange(**{**ex.__dict__, **changes})


def _after_with(ex: Exchange, key: str, value: Any) -> Exchange:
    return _edit(ex, after={**ex.after, key: value})


_STORED_CM = _good_configmap().after["configmaps.default.made"]
BAD_EXCHANGES: dict[str, tuple[Callable[[], tuple[ResourceType, Exchange]], str]] = {
    "a 5xx": (lambda: (_CM, _refused(500, _status(500, "InternalError"))), "answered 500"),
    "a traceback": (lambda: (_CM, _refused(400, {**_status(400), "message": "Traceback"})),
                    "a traceback"),
    "an error that is no Status": (lambda: (_CM, _refused(400, {"kind": "ConfigMap"})),
                                   "no Status"),
    "a Status of another code": (lambda: (_CM, _refused(400, _status(422))),
                                 "says code 422"),
    "a refusal that wrote": (lambda: (_CM, _refused(422, _status(422), changed=True)),
                             "changed the store"),
    "AlreadyExists for a name not there": (lambda: (_CM, _refused(409, {
        **_status(409, "AlreadyExists"), "details": {"name": "made"}})), "AlreadyExists for"),
    "a stored value unlike the answer": (lambda: (_CM, _after_with(
        _good_configmap(), "configmaps.default.made",
        (4, {**_STORED_CM[1], "data": {"a": "c"}}))), "the store holds"),
    "a revision unlike the resourceVersion": (lambda: (_CM, _after_with(
        _good_configmap(), "configmaps.default.made", (5, _STORED_CM[1]))), r"\(5, '4'\)"),
    "a write beside the object": (lambda: (_CM, _after_with(
        _good_configmap(), _OTHER[0], (9, _OTHER[1][1]))), "also changed"),
    "a create that wrote nothing": (lambda: (_CM, _edit(_good_configmap(),
                                                        after=dict([_OTHER]))), "wrote nothing"),
    "a create over an object there": (lambda: (_CM, _edit(_good_configmap(), before={
        **_good_configmap().before, "configmaps.default.made": (2, _STORED_CM[1])})),
        "was not new"),
    "a dry run that wrote": (lambda: (_CM, _created(_CM, _STORED_CM[1], 4,
                                                    query="dryRun=All")), "a dry run changed"),
    "an allocation the answer does not hold": (lambda: (_SVC, _after_with(
        _good_service(), "nodeportallocations._.30001", (5, {"owner": "default/made"}))),
        "side effects"),
    "an allocation missing": (lambda: (_SVC, _good_service(node_port=30001)), "side effects"),
    "an update of another object": (lambda: (_CM, _edit(
        _good_configmap(), req=valid_update(_CM, name="made"), status=200,
        before={**_good_configmap().before, "configmaps.default.made": (
            2, {"metadata": {"name": "made.too"}})})), "changed the object 'made.too'"),
}
"""Exchanges a correct server never has, each refused by :func:`check` (with a message
that says why)."""


def test_the_checks_pass_what_a_correct_server_answers() -> None:
    assert check(_CM, _good_configmap()) == "written"
    assert check(_SVC, _good_service()) == "written"
    assert check(_CM, _refused(422, _status(422))) == "422"


@pytest.mark.parametrize("case", BAD_EXCHANGES)
def test_the_checks_fail_on(case: str) -> None:
    make, says = BAD_EXCHANGES[case]
    rt, ex = make()
    with pytest.raises(AssertionError, match=says):
        check(rt, ex)


async def test_the_checks_fail_on_an_internal_error_logged(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("broken on purpose")

    world = await make_world(_CM, deleting=False)
    monkeypatch.setattr(world.api.front.handlers, "create_answer", broken)
    with pytest.raises(AssertionError, match=r"errors were logged: .*broken on purpose"):
        await send(world, valid_create(_CM))


async def test_the_checks_fail_on_a_task_the_request_started_that_raised(
        monkeypatch: pytest.MonkeyPatch) -> None:
    async def boom() -> None:
        raise RuntimeError("raised on purpose")

    world = await make_world(_CM, deleting=False)
    real = world.api.front.handlers.create_answer

    async def create(*args: Any, **kwargs: Any) -> Any:
        asyncio.get_running_loop().create_task(boom())
        return await real(*args, **kwargs)

    monkeypatch.setattr(world.api.front.handlers, "create_answer", create)
    with pytest.raises(AssertionError, match=r"(a task the request started raised|"
                                             r"an exception escaped a task): .*on purpose"):
        await send(world, valid_create(_CM))
