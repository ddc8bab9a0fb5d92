"""WatchList (``watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan``), as
Kubernetes 1.32+ serves it to client-go's reflectors and kubectl: every existing object
that matches the selectors as ADDED, then one BOOKMARK whose object carries only the
state's resourceVersion and the ``k8s.io/initial-events-end: "true"`` annotation, then the
live events after that revision, none lost and none twice.  The options that do not go
together are 422 Invalid ``ListOptions`` naming the field (Kubernetes' wording), a bad value
400 naming the parameter; ``sendInitialEvents=false`` and the legacy watch are unchanged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from apiharness import Api, make_api, pod, rejected
from faces import FACES, face

from jetkube.services.apiserver.http import HttpApp
from jetkube.services.apiserver.response import WatchResponse
from jetkube.services.apiserver.watchcache import CacheWatcher
from jetkube.services.apiserver.watchstream import watch_lines

CM = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"
END = "k8s.io/initial-events-end"
WATCH_LIST = {"watch": "1", "sendInitialEvents": "true",
              "resourceVersionMatch": "NotOlderThan", "allowWatchBookmarks": "true"}
Event = dict[str, Any]


def cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}}, "data": data}


def name_of(ev: Event) -> str:
    return str(ev["object"]["metadata"].get("name", ""))


def rv_of(ev: Event) -> int:
    return int(ev["object"]["metadata"]["resourceVersion"])


def is_end(ev: Event) -> bool:
    annotations = ev["object"]["metadata"].get("annotations") or {}
    return ev["type"] == "BOOKMARK" and annotations.get(END) == "true"


async def read(api: Api, w: WatchResponse, done: Callable[[list[Event]], bool], *,
               bookmark_interval: float = 3600.0) -> list[Event]:
    """The watch's events until ``done(events)`` holds (a hang guard of 10 s, no timing)."""
    out: list[Event] = []

    async def run() -> None:
        lines = watch_lines(w, api.cache, bookmark_interval=bookmark_interval)
        try:
            async for chunk in lines:
                out.extend(orjson.loads(line) for line in chunk.splitlines())
                if done(out):
                    return
        finally:
            await lines.aclose()

    await asyncio.wait_for(run(), 10)
    return out


def until_named(name: str) -> Callable[[list[Event]], bool]:
    return lambda evs: any(name_of(e) == name for e in evs)


async def watch(api: Api, path: str = CM, **extra: str) -> WatchResponse:
    code, w = await api.call("GET", path, query={**WATCH_LIST, **extra})
    assert code == 200 and isinstance(w, WatchResponse), w
    return w


async def test_existing_objects_come_as_added_then_the_end_bookmark_then_live_events() -> None:
    api = await make_api()
    await api.ok("POST", CM, cm("b", {"app": "web"}))
    await api.ok("POST", CM, cm("a", {"app": "web"}))
    await api.ok("POST", CM, cm("other", {"app": "db"}))
    last = await api.ok("POST", "/api/v1/namespaces/kube-system/configmaps", cm("elsewhere"))
    w = await watch(api, labelSelector="app=web")
    created = asyncio.create_task(api.ok("POST", CM, cm("c", {"app": "web"})))
    events = await read(api, w, until_named("c"))
    c = await created
    assert [(e["type"], name_of(e)) for e in events] == [
        ("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", ""), ("ADDED", "c")]
    end = events[2]
    assert end["object"] == {
        "kind": "ConfigMap", "apiVersion": "v1",
        "metadata": {"resourceVersion": last["metadata"]["resourceVersion"],
                     "annotations": {END: "true"}}}, "only the snapshot's revision and the mark"
    assert rv_of(events[3]) == int(c["metadata"]["resourceVersion"]) > rv_of(end)


async def test_a_field_selector_and_a_named_watch_filter_the_initial_events() -> None:
    api = await make_api()
    for name in ("x", "y", "z"):
        await api.ok("POST", CM, cm(name))
    w = await watch(api, fieldSelector="metadata.name!=y")
    events = await read(api, w, lambda evs: any(map(is_end, evs)))
    assert [(e["type"], name_of(e)) for e in events] == [
        ("ADDED", "x"), ("ADDED", "z"), ("BOOKMARK", "")]
    named = await watch(api, f"{CM}/y")
    events = await read(api, named, lambda evs: any(map(is_end, evs)))
    assert [(e["type"], name_of(e)) for e in events] == [("ADDED", "y"), ("BOOKMARK", "")]


async def test_writes_racing_the_start_of_watches_are_neither_lost_nor_duplicated() -> None:
    api = await make_api()
    for i in range(5):
        await api.ok("POST", CM, cm(f"pre{i}", n="0"))
    await api.cache.wait_fresh()
    first_rv = api.cache.rv
    writes = 40

    async def writer() -> None:
        for i in range(writes):
            await api.ok("POST", CM, cm(f"w{i}"))
            await api.ok("PATCH", f"{CM}/pre{i % 5}", {"data": {"n": str(i + 1)}},
                         content_type="application/merge-patch+json")
            if i % 4 == 3:
                await api.ok("DELETE", f"{CM}/w{i - 1}")
            await asyncio.sleep(0)  # let the watches start in between (and the cache catch up)

    writing = asyncio.create_task(writer())
    watches: list[WatchResponse] = []
    while not writing.done():
        watches.append(await watch(api))
        await asyncio.sleep(0)
    await writing
    final = {c["metadata"]["name"]: c["metadata"]["resourceVersion"]
             for c in (await api.ok("GET", CM))["items"]}
    await api.cache.wait_fresh()
    last_rv = api.cache.rv
    starts = [w.watcher.initial_rv for w in watches]
    assert any(s is not None and first_rv < s < last_rv for s in starts), \
        "some watch started while the writes went on"
    for w in watches:
        events = await read(api, w, lambda evs: bool(evs) and rv_of(evs[-1]) >= last_rv
                            and any(map(is_end, evs)))
        cut = next(i for i, e in enumerate(events) if is_end(e))
        initial, end, live = events[:cut], events[cut], events[cut + 1:]
        assert all(e["type"] == "ADDED" and rv_of(e) <= rv_of(end) for e in initial)
        assert len({name_of(e) for e in initial}) == len(initial), "an object twice"
        live_rvs = [rv_of(e) for e in live]
        assert live_rvs == sorted(set(live_rvs)) and all(r > rv_of(end) for r in live_rvs), \
            "a live event at or before the state's revision, or twice"
        state = {name_of(e): e["object"]["metadata"]["resourceVersion"] for e in initial}
        for e in live:
            if e["type"] == "DELETED":
                del state[name_of(e)]
            else:
                assert (e["type"] == "ADDED") == (name_of(e) not in state), e["type"]
                state[name_of(e)] = e["object"]["metadata"]["resourceVersion"]
        assert state == final, "replaying the stream gives the store's state"


async def test_without_allow_watch_bookmarks_initial_events_come_without_the_bookmark() -> None:
    """As in Kubernetes: the request is valid, the end bookmark needs allowWatchBookmarks."""
    api = await make_api()
    await api.ok("POST", CM, cm("a"))
    code, w = await api.call("GET", CM, query={**WATCH_LIST, "allowWatchBookmarks": "false"})
    assert code == 200 and isinstance(w, WatchResponse) and not w.initial_events_end
    created = asyncio.create_task(api.ok("POST", CM, cm("b")))
    events = await read(api, w, until_named("b"), bookmark_interval=0.01)
    await created
    assert [(e["type"], name_of(e)) for e in events] == [("ADDED", "a"), ("ADDED", "b")]


async def test_a_state_larger_than_the_watchers_queue_arrives_whole() -> None:
    api = await make_api()
    for i in range(7):
        await api.ok("POST", CM, cm(f"c{i}"))
    watcher = CacheWatcher("configmaps", "default", lambda _c: True, capacity=3)
    await api.cache.start_watch(watcher, "", True)
    w = WatchResponse(watcher, True, None, "ConfigMap", "v1", initial_events_end=True)
    events = await read(api, w, lambda evs: any(map(is_end, evs)))
    assert [name_of(e) for e in events] == [f"c{i}" for i in range(7)] + [""]


async def test_a_resource_version_newer_than_the_cache_waits_for_it() -> None:
    api = await make_api()
    await api.ok("POST", CM, cm("a"))
    await api.cache.wait_fresh()
    ahead = api.cache.rv + 1
    starting = asyncio.create_task(watch(api, resourceVersion=str(ahead)))
    await asyncio.sleep(0)
    assert not starting.done(), "it waits for the cache to reach the revision"
    b = await api.ok("POST", CM, cm("b"))
    assert int(b["metadata"]["resourceVersion"]) == ahead
    events = await read(api, await starting, lambda evs: any(map(is_end, evs)))
    assert [(e["type"], name_of(e)) for e in events] == [
        ("ADDED", "a"), ("ADDED", "b"), ("BOOKMARK", "")]
    assert rv_of(events[-1]) >= ahead


async def test_a_resource_version_the_cache_never_reaches_is_504_too_large() -> None:
    api = await make_api()
    api.cache.wait_limit_s = 0.01
    code, st = await api.call("GET", CM, query={**WATCH_LIST,
                                                "resourceVersion": str(api.cache.rv + 100)})
    assert code == 504 and st["reason"] == "Timeout", st
    assert "Too large resource version" in st["message"]


async def test_an_older_resource_version_gets_the_current_state_not_a_replay() -> None:
    api = await make_api()
    first = await api.ok("POST", CM, cm("a", n="1"))
    await api.ok("PATCH", f"{CM}/a", {"data": {"n": "2"}},
                 content_type="application/merge-patch+json")
    await api.ok("POST", CM, cm("gone"))
    await api.ok("DELETE", f"{CM}/gone")
    await api.cache.wait_fresh()
    for rv in ("0", first["metadata"]["resourceVersion"], ""):
        w = await watch(api, resourceVersion=rv)
        events = await read(api, w, lambda evs: any(map(is_end, evs)))
        assert [(e["type"], name_of(e)) for e in events] == [("ADDED", "a"), ("BOOKMARK", "")]
        assert events[0]["object"]["data"] == {"n": "2"}
        assert rv_of(events[1]) == api.cache.rv


async def test_no_resource_version_is_a_consistent_read() -> None:
    """resourceVersion unset: the state is at least the store's revision when the request
    came, even when the cache has not yet seen the last write."""
    api = await make_api()
    rev = await api.store.create("configmaps.default.direct", orjson.dumps(cm("direct")))
    w = await watch(api)
    events = await read(api, w, lambda evs: any(map(is_end, evs)))
    assert [name_of(e) for e in events] == ["direct", ""]
    assert rv_of(events[-1]) >= rev


async def test_send_initial_events_false_sends_no_state() -> None:
    api = await make_api()
    a = await api.ok("POST", CM, cm("a"))
    await api.ok("POST", CM, cm("b"))
    false = {**WATCH_LIST, "sendInitialEvents": "false"}
    for rv in ("", "0"):
        code, w = await api.call("GET", CM, query={**false, "resourceVersion": rv})
        assert code == 200 and isinstance(w, WatchResponse) and not w.initial_events_end
        created = asyncio.create_task(api.ok("POST", CM, cm(f"new{rv}")))
        events = await read(api, w, until_named(f"new{rv}"), bookmark_interval=0.01)
        await created
        assert [(e["type"], name_of(e)) for e in events if e["type"] != "BOOKMARK"] == [
            ("ADDED", f"new{rv}")]
        assert not any(map(is_end, events))
    code, w = await api.call("GET", CM, query={**false,
                                               "resourceVersion": a["metadata"]["resourceVersion"]})
    assert code == 200 and isinstance(w, WatchResponse)
    events = await read(api, w, until_named("new0"))
    assert [(e["type"], name_of(e)) for e in events] == [
        ("ADDED", "b"), ("ADDED", "new"), ("ADDED", "new0")], "exactly the events after it"


async def test_the_legacy_watch_keeps_its_initial_events_and_sends_no_end_bookmark() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("a"))
    code, w = await api.call("GET", PODS, query={"watch": "1", "allowWatchBookmarks": "1"})
    assert code == 200 and isinstance(w, WatchResponse) and not w.initial_events_end
    events = await read(api, w, lambda evs: len(evs) >= 2, bookmark_interval=0.01)
    assert [(e["type"], name_of(e)) for e in events] == [("ADDED", "a"), ("BOOKMARK", "")]
    assert not is_end(events[1])


INVALID = [
    ("watch=1&sendInitialEvents=true&allowWatchBookmarks=1", "resourceVersionMatch",
     "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
    ("watch=1&sendInitialEvents=false", "resourceVersionMatch",
     "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"),
    ("watch=1&resourceVersionMatch=NotOlderThan", "resourceVersionMatch",
     "Forbidden: resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
     "provided"),
    ("watch=1&sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=1",
     "resourceVersionMatch", 'Unsupported value: "Exact": supported values: "NotOlderThan"'),
    ("sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0",
     "sendInitialEvents", "Forbidden: sendInitialEvents is forbidden for list"),
]


@pytest.mark.parametrize("face_name", FACES)
@pytest.mark.parametrize(("query", "field", "text"), INVALID, ids=[q for q, *_ in INVALID])
async def test_options_that_do_not_go_together_are_422_naming_the_field(
        face_name: str, query: str, field: str, text: str) -> None:
    api = face(await make_api(), face_name)
    st = await rejected(api, "GET", f"{CM}?{query}", None, 422, reason="Invalid", text=text,
                        count_path=CM)
    assert st["details"]["kind"] == "ListOptions" and st["details"]["group"] == "meta.k8s.io"
    assert f'ListOptions "" is invalid: {field}: ' in st["message"], st["message"]
    assert field in [c["field"] for c in st["details"]["causes"]]


@pytest.mark.parametrize("face_name", FACES)
@pytest.mark.parametrize(("query", "param"), [
    ("resourceVersionMatch=Newest", "resourceVersionMatch"),
    ("resourceVersionMatch=NotOlderThan&resourceVersion=abc", "resourceVersion"),
])
async def test_a_bad_value_is_400_naming_the_parameter(face_name: str, query: str,
                                                      param: str) -> None:
    api = face(await make_api(), face_name)
    path = f"{CM}?watch=1&sendInitialEvents=true&allowWatchBookmarks=1&{query}"
    st = await rejected(api, "GET", path, None, 400, reason="BadRequest", text=param,
                        count_path=CM)
    assert st["details"]["causes"][0]["field"] == param


async def test_the_http_face_streams_the_state_the_bookmark_and_live_events() -> None:
    api = await make_api()
    await api.ok("POST", CM, cm("a"))
    app = HttpApp(api.front, bookmark_interval=3600)
    lines: asyncio.Queue[Event] = asyncio.Queue()
    statuses: list[int] = []
    leave = asyncio.Event()
    incoming = [{"type": "http.request", "body": b"", "more_body": False}]
    buffer = b""

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await leave.wait()
        return {"type": "http.disconnect"}

    async def send(msg: dict[str, Any]) -> None:
        nonlocal buffer
        if msg["type"] == "http.response.start":
            statuses.append(msg["status"])
            return
        buffer += msg.get("body", b"")
        *complete, buffer = buffer.split(b"\n")
        for line in complete:
            lines.put_nowait(orjson.loads(line))

    query = "&".join(f"{k}={v}" for k, v in WATCH_LIST.items())
    scope = {"type": "http", "method": "GET", "path": CM, "raw_path": CM.encode(),
             "headers": [], "query_string": query.encode()}
    serving = asyncio.create_task(app(scope, receive, send))
    try:
        first = await asyncio.wait_for(lines.get(), 10)
        end = await asyncio.wait_for(lines.get(), 10)
        b = await api.ok("POST", CM, cm("b"))
        live = await asyncio.wait_for(lines.get(), 10)
    finally:
        leave.set()
        await asyncio.wait_for(serving, 10)
    assert statuses == [200]
    assert (first["type"], name_of(first)) == ("ADDED", "a")
    assert is_end(end) and rv_of(end) == int(first["object"]["metadata"]["resourceVersion"])
    assert (live["type"], name_of(live), rv_of(live)) == (
        "ADDED", "b", int(b["metadata"]["resourceVersion"]))
    assert not api.cache.watchers.get("configmaps"), "the watcher is gone with the client"
