"""Binds, status patches and TokenRequests' pod checks start from the watch cache's copy
of the object instead of reading the store (kube-apiserver's GuaranteedUpdate with a
cached existing object), and a stale copy never decides: the write's CAS, or a check the
copy was too old to pass, sends the work to the store's copy."""

from __future__ import annotations

import copy
from typing import Any

from apiharness import Api, make_api, pod
from polling import until

from jetkube.services.machinery.apimachinery import object_key

PODS = "/api/v1/namespaces/default/pods"


class CountingGets:
    """Wraps the handlers' store read (``get_object``): how many reads it made."""

    def __init__(self, api: Api) -> None:
        self.n = 0
        handlers = api.front.handlers
        inner = handlers.get_object

        async def get_object(*args: Any) -> Any:
            self.n += 1
            return await inner(*args)

        handlers.get_object = get_object


async def cached(api: Api, name: str) -> dict[str, Any]:
    """Once the watch cache holds pod ``name`` at the store's revision: that copy."""
    key = object_key("pods", "default", name)
    want = (await api.store.get(key)).revision
    await until(lambda: (c := api.cache.resource("pods").items.get(key)) and c.rv >= want)
    return copy.deepcopy(api.cache.resource("pods").items[key].served())


def serve_stale(api: Api, stale: dict[str, Any]) -> None:
    """Make the handlers' cache reads return ``stale`` (a copy older than the store's)."""
    api.front.handlers.cached_object = lambda rt, ns, name: copy.deepcopy(stale)


def binding(name: str, node: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node}}


async def test_a_bind_reads_no_store_when_the_cache_is_current() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("p"))
    await cached(api, "p")
    gets = CountingGets(api)
    code, _ = await api.call("POST", f"{PODS}/p/binding", binding("p", "node-1"))
    assert code == 201
    assert gets.n == 0
    again = CountingGets(api)
    code, _ = await api.call("POST", f"{PODS}/p/binding", binding("p", "node-2"))
    assert code == 409
    assert again.n == 1  # a refusal the cache's copy led to is confirmed on the store's
    assert (await api.ok("GET", f"{PODS}/p"))["spec"]["nodeName"] == "node-1"


async def test_a_bind_on_a_stale_copy_is_decided_by_the_store() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("p"))
    stale = await cached(api, "p")  # unbound
    assert (await api.call("POST", f"{PODS}/p/binding", binding("p", "node-1")))[0] == 201
    serve_stale(api, stale)  # the cache has not seen the first bind yet
    code, out = await api.call("POST", f"{PODS}/p/binding", binding("p", "node-2"))
    assert code == 409
    assert out["message"] == 'pod p is already assigned to node "node-1"'
    assert (await api.ok("GET", f"{PODS}/p"))["spec"]["nodeName"] == "node-1"


async def test_a_status_patch_on_a_stale_copy_lands_on_the_current_object() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("p"))
    stale = await cached(api, "p")
    await api.ok("PATCH", f"{PODS}/p/status", {"status": {"phase": "Pending",
                                                          "message": "first"}},
                 content_type="application/merge-patch+json")
    serve_stale(api, stale)
    out = await api.ok("PATCH", f"{PODS}/p/status", {"status": {"reason": "second"}},
                       content_type="application/merge-patch+json")
    assert out["status"]["message"] == "first"  # the first patch is not lost
    assert out["status"]["reason"] == "second"


async def test_a_uid_test_that_only_a_stale_predecessor_fails_still_lands() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("p"))
    predecessor = await cached(api, "p")
    await api.ok("DELETE", f"{PODS}/p", query={"gracePeriodSeconds": "0"})
    new = await api.ok("POST", PODS, pod("p"))
    serve_stale(api, predecessor)  # the cache still shows the deleted pod
    patch = [{"op": "test", "path": "/metadata/uid", "value": new["metadata"]["uid"]},
             {"op": "add", "path": "/status/message", "value": "mine"}]
    out = await api.ok("PATCH", f"{PODS}/p/status", patch,
                       content_type="application/json-patch+json")
    assert out["metadata"]["uid"] == new["metadata"]["uid"]
    assert out["status"]["message"] == "mine"


async def test_an_update_naming_the_cached_version_reads_no_store() -> None:
    """A PUT with a resourceVersion (a lease renewal) replaces that version: the watch
    cache's copy at it is that version, so no store read."""
    api = await make_api()
    await api.ok("POST", PODS, pod("p", {"v": "1"}))
    cur = await cached(api, "p")
    gets = CountingGets(api)
    cur["metadata"]["labels"] = {"v": "2"}
    out = await api.ok("PUT", f"{PODS}/p", cur)
    assert out["metadata"]["labels"] == {"v": "2"}
    assert gets.n == 0


async def test_an_update_of_a_version_the_store_has_left_is_a_conflict_whatever_the_cache(
        ) -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("p", {"v": "1"}))
    old = await cached(api, "p")
    await api.ok("PATCH", f"{PODS}/p", {"metadata": {"labels": {"v": "2"}}},
                 content_type="application/merge-patch+json")
    serve_stale(api, copy.deepcopy(old))  # the cache still shows the version the client read
    old["metadata"]["labels"] = {"v": "3"}
    code, st = await api.call("PUT", f"{PODS}/p", old)
    assert code == 409 and st["reason"] == "Conflict", st
    assert (await api.ok("GET", f"{PODS}/p"))["metadata"]["labels"] == {"v": "2"}


async def test_an_update_that_changes_nothing_on_a_stale_copy_is_decided_by_the_store(
        ) -> None:
    """Unchanged against the cache's copy is no answer: the store has moved on (409)."""
    api = await make_api()
    await api.ok("POST", PODS, pod("p", {"v": "1"}))
    old = await cached(api, "p")
    await api.ok("PATCH", f"{PODS}/p", {"metadata": {"labels": {"v": "2"}}},
                 content_type="application/merge-patch+json")
    serve_stale(api, old)
    code, st = await api.call("PUT", f"{PODS}/p", old)
    assert code == 409 and st["reason"] == "Conflict", st


async def test_a_patch_that_changes_nothing_on_a_stale_copy_lands_on_the_store() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("p", {"v": "1"}))
    old = await cached(api, "p")
    await api.ok("PATCH", f"{PODS}/p", {"metadata": {"labels": {"v": "2"}}},
                 content_type="application/merge-patch+json")
    serve_stale(api, old)  # still v1: setting v1 changes nothing on this copy
    out = await api.ok("PATCH", f"{PODS}/p", {"metadata": {"labels": {"v": "1"}}},
                       content_type="application/merge-patch+json")
    assert out["metadata"]["labels"] == {"v": "1"}
    assert (await api.ok("GET", f"{PODS}/p"))["metadata"]["labels"] == {"v": "1"}


async def test_an_update_newer_than_the_cache_is_decided_by_the_store() -> None:
    api = await make_api()
    await api.ok("POST", PODS, pod("p", {"v": "1"}))
    old = await cached(api, "p")
    cur = await api.ok("PATCH", f"{PODS}/p", {"metadata": {"labels": {"v": "2"}}},
                       content_type="application/merge-patch+json")
    serve_stale(api, old)  # the cache has not caught up with the client
    gets = CountingGets(api)
    cur["metadata"]["labels"] = {"v": "3"}
    out = await api.ok("PUT", f"{PODS}/p", cur)
    assert out["metadata"]["labels"] == {"v": "3"}
    assert gets.n == 1
