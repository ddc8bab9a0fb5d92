"""The NATS face works out what a request's subject says (its user, verb and resource
type) once per subject (natsface.route): every bind and status write of a cluster comes
on a handful of subjects.  Only subjects that route are remembered, a bounded number of
them, each for its prefix; what a request's headers say is read on every request."""

from __future__ import annotations

import pytest

from jetkube.services.apiserver import natsface
from jetkube.services.apiserver.natsface import request_from_message, route
from jetkube.services.machinery.apimachinery import apierrors

BIND = "jetkube.api.node:n1.create.core.v1.pods"


@pytest.fixture(autouse=True)
def _no_routes_known(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(natsface, "_routes", {})


def test_a_subject_is_routed_once_and_its_user_shared() -> None:
    first = request_from_message(BIND, {"Jetkube-Namespace": "a", "Jetkube-Name": "p"}, b"")
    second = request_from_message(BIND, {"Jetkube-Namespace": "b"}, b"{}")
    assert natsface._routes[BIND] is route(BIND)
    assert first.user is second.user
    assert first.user is not None and first.user.name == "system:node:n1"
    assert "system:nodes" in first.user.groups
    assert (first.namespace, first.name, first.user_agent) == ("a", "p", "kubelet")
    assert (second.namespace, second.name, second.body) == ("b", None, b"{}")


def test_subjects_that_do_not_route_are_refused_each_time_and_never_remembered() -> None:
    for subject, code in (("jetkube.api.nobody.get.core.v1.pods", 401),
                          ("jetkube.api.admin.get.core.v1.nosuch", 404),
                          ("jetkube.api.admin.get.core.v2.pods", 404),
                          ("jetkube.api.admin.get.core.v1", 400)):
        for _ in range(2):
            with pytest.raises(apierrors.ApiError) as err:
                request_from_message(subject, {"Jetkube-Name": "p"}, b"")
            assert err.value.code == code, subject
    assert natsface._routes == {}


def test_a_watch_is_refused_though_its_subject_routes() -> None:
    subject = "jetkube.api.admin.watch.core.v1.pods"
    for _ in range(2):
        with pytest.raises(apierrors.ApiError) as err:
            request_from_message(subject, {}, b"")
        assert err.value.code == 405


def test_a_route_is_its_prefixs_only() -> None:
    route(BIND)
    with pytest.raises(apierrors.ApiError, match="malformed API subject"):
        route(BIND, "blue.api")
    assert route("blue.api.admin.list.core.v1.pods", "blue.api").verb == "list"


def test_the_oldest_route_goes_when_the_table_is_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(natsface, "ROUTES_KEPT", 3)
    subjects = [f"jetkube.api.node:n{i}.get.core.v1.pods" for i in range(5)]
    for s in subjects:
        route(s)
    assert list(natsface._routes) == subjects[2:]
