"""The HTTP face routes a resource path once: its route (resource type, namespace, name,
subresource) and a method's verb on it are remembered, so a client's requests to one path
are not split, looked up and checked again each time; a refused path is refused each
time, never remembered, and the table keeps at most ``ROUTES_KEPT``."""

from __future__ import annotations

import pytest

from jetkube.services.apiserver import request
from jetkube.services.apiserver.request import parse_path
from jetkube.services.machinery.apimachinery import apierrors


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    monkeypatch.setattr(request, "_routes", {})
    monkeypatch.setattr(request, "_verbs", {})
    calls: list[str] = []
    route_path = request.route_path

    def counting(path: str) -> request.Route | None:
        calls.append(path)
        return route_path(path)

    monkeypatch.setattr(request, "route_path", counting)
    return calls


def test_requests_to_one_path_route_it_once(counted: list[str]) -> None:
    for _ in range(3):
        req = parse_path("POST", "/api/v1/namespaces/ns1/pods", {})
        assert req is not None
        assert (req.verb, req.rt.plural, req.namespace, req.name) == ("create", "pods", "ns1",
                                                                      None)
    got = parse_path("GET", "/api/v1/namespaces/ns1/pods", {"watch": "true"})
    assert got is not None and got.verb == "watch" and got.params.watch
    listed = parse_path("GET", "/api/v1/namespaces/ns1/pods", {"limit": "5"})
    assert listed is not None and listed.verb == "list" and listed.params.limit == 5
    assert counted == ["/api/v1/namespaces/ns1/pods"]


def test_a_refused_path_or_verb_is_refused_each_time(counted: list[str]) -> None:
    for _ in range(2):
        with pytest.raises(apierrors.ApiError) as err:
            parse_path("GET", "/api/v1/namespaces/ns1/nosuchthings", {})
        assert err.value.code == 404
        with pytest.raises(apierrors.ApiError) as err:
            parse_path("POST", "/api/v1/namespaces/ns1/pods/named", {})
        assert err.value.code == 405
        with pytest.raises(apierrors.ApiError) as err:
            parse_path("GET", "/api/v1/namespaces/Not_A_Namespace/pods/p", {})
        assert err.value.code == 404
    get = parse_path("GET", "/api/v1/namespaces/ns1/pods/named", {})
    assert get is not None and (get.verb, get.name) == ("get", "named")
    assert counted.count("/api/v1/namespaces/ns1/nosuchthings") == 2  # never remembered
    assert counted.count("/api/v1/namespaces/ns1/pods/named") == 1  # its route is good


def test_a_path_that_names_no_resource_is_none_each_time(counted: list[str]) -> None:
    assert parse_path("GET", "/healthz", {}) is None
    assert parse_path("GET", "/apis/apps/v1", {}) is None
    assert parse_path("GET", "/healthz", {}) is None
    assert counted == ["/healthz", "/apis/apps/v1"]


def test_the_oldest_route_goes_first(counted: list[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request, "ROUTES_KEPT", 2)
    for ns in ("a", "b", "c", "a"):
        assert parse_path("GET", f"/api/v1/namespaces/{ns}/pods", {}) is not None
    assert counted == [f"/api/v1/namespaces/{ns}/pods" for ns in ("a", "b", "c", "a")]
    assert len(request._routes) == 2 and len(request._verbs) == 2


def test_a_long_path_is_routed_each_time_and_never_kept(counted: list[str]) -> None:
    # routing comes before authentication: an anonymous client's thousands of long paths
    # must not be kept (4,096 of 60 KB would be 240 MB)
    long = "/api/v1/namespaces/ns1/pods/" + "a" * 1000  # a name a store key can hold
    too_long = "/api/v1/namespaces/ns1/pods/" + "a" * 60_000
    for _ in range(2):
        got = parse_path("GET", long, {})
        assert got is not None and got.name == "a" * 1000
        with pytest.raises(apierrors.ApiError) as err:
            parse_path("GET", too_long, {})
        assert err.value.code == 404  # (no store key holds so long a name)
    assert counted == [long, too_long, long, too_long]
    assert request._routes == {} and request._verbs == {}
    ok = "/api/v1/namespaces/ns1/pods/" + "b" * 253
    assert parse_path("GET", ok, {}) is not None and ok in request._routes
