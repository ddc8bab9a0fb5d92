"""One ``<namespace>/<name>`` key (machinery.apimachinery.namespaced_name) for the
scheduler's and kubelet's pod keys, the proxy's service port ids and the API
server's allocation owners; the store keys stay ``<resource>.<namespace>.<name>``."""

from __future__ import annotations

from jetkube.services.kubelet.agent import pod_key as kubelet_pod_key
from jetkube.services.machinery.apimachinery import (
    namespaced_name,
    namespaced_name_of,
    object_key,
    parse_key,
    split_namespaced_name,
)
from jetkube.services.proxy.model import ServicePortInfo
from jetkube.services.scheduler.podinfo import pod_info, pod_key

POD = {"metadata": {"name": "web-0", "namespace": "shop", "uid": "u1"}, "spec": {}}


def test_the_format_and_its_inverse() -> None:
    assert namespaced_name("shop", "web-0") == "shop/web-0"
    assert namespaced_name_of(POD) == "shop/web-0"
    assert split_namespaced_name("shop/web-0") == ("shop", "web-0")


def test_every_pod_key_is_the_same() -> None:
    assert pod_key(POD) == pod_info(POD).key == "shop/web-0"
    assert kubelet_pod_key("shop", "web-0") == "shop/web-0"
    assert kubelet_pod_key(None, "static") == "default/static"  # the kubelet's default


def test_store_keys_are_unchanged() -> None:
    assert object_key("pods", "shop", "web.0") == "pods.shop.web_0"
    assert object_key("nodes", None, "n.1") == "nodes._.n_1"
    assert parse_key("pods.shop.web_0") == ("pods", "shop", "web.0")


def test_service_port_ids_keep_their_format() -> None:
    sp = ServicePortInfo("shop", "web", "http", "TCP", "10.96.0.10", 80)
    assert (sp.id, sp.label) == ("shop/web:http/TCP", "shop/web:http")


def test_no_two_names_share_a_store_key() -> None:
    """``a.b`` and ``a_b`` once shared a key, so a write to one changed the other (found by
    the fuzz suite); a name with ``.`` keeps its old key."""
    from jetkube.services.machinery.apimachinery import encode_token, object_key
    from jetkube.services.machinery.apimachinery._keys import decode_token

    names = ["a.b", "a_b", "a~b", "a~5fb", "a~7eb", "_", "~", "._~", "~5f", "x.y.z"]
    keys = {object_key("clusterroles", None, n) for n in names}
    assert len(keys) == len(names)
    assert all(decode_token(encode_token(n)) == n for n in names)
    assert encode_token("web.example.com") == "web_example_com"  # unchanged for DNS names
