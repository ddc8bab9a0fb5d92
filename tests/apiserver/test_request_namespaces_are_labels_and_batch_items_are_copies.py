"""request.py: the namespace a request addresses, by its path or by a created object's
body, is one a namespace can have (a DNS-1123 label) or 404, whichever check caught it;
and a batched item's request (natsbatch.py) is a shallow copy of the batch's own, each
field as ``dataclasses.replace`` would give it."""

from __future__ import annotations

import dataclasses

import pytest

from jetkube.schemas.registry import by_plural
from jetkube.services.apiserver.request import ApiRequest, check_created, check_target
from jetkube.services.machinery.apimachinery.apierrors import ApiError

PODS = by_plural("", "pods")
assert PODS is not None

UNFIT = ["Not_A_Namespace", "UPPER", "-lead", "trail-", "a" * 64, "dot.ted", "é"]
FIT = ["a", "ns-1", "0", "a" * 63, "kube-system"]


@pytest.mark.parametrize("namespace", UNFIT)
def test_a_path_or_body_namespace_no_namespace_can_have_is_404(namespace: str) -> None:
    with pytest.raises(ApiError) as path_err:
        check_target(PODS, "get", namespace, "p")
    assert path_err.value.code == 404
    with pytest.raises(ApiError) as body_err:
        check_created(PODS, {"metadata": {"name": "p", "namespace": namespace}})
    assert body_err.value.code == 404 and body_err.value.details.get("kind") == "namespaces"


@pytest.mark.parametrize("namespace", FIT)
def test_a_namespace_that_is_a_dns_label_is_addressed(namespace: str) -> None:
    check_target(PODS, "get", namespace, "p")
    check_created(PODS, {"metadata": {"name": "p", "namespace": namespace}})


def test_a_requests_copy_has_every_field_of_its_original_and_is_its_own() -> None:
    req = ApiRequest("create", PODS, "ns", None, "binding", {"dryRun": "All"}, b"{}",
                     user_agent="kctl", accept="application/json", minimal=True,
                     subprotocols=("v5.channel.k8s.io",), trace_headers={"traceparent": "x"})
    copy = req.copy()
    assert copy is not req
    assert copy == dataclasses.replace(req)
    for f in dataclasses.fields(ApiRequest):  # shallow: the same values
        assert getattr(copy, f.name) is getattr(req, f.name), f.name
    copy.body, copy.name = b"[]", "p"
    assert (req.body, req.name) == (b"{}", None)
