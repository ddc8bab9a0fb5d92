"""A hostile or unsupported protobuf body is a 4xx Status naming the problem, never a 5xx,
and nothing is written: a missing magic, a truncated varint, a length past the end, a wire
type the table does not expect, groups, nesting past MAX_DEPTH, more than MAX_NODES
fields, a kind that is not the URL's (400); a kind or nested message with no table, a
content encoding (415)."""

from __future__ import annotations

import orjson
import pytest
from apiharness import make_api, rejected
from faces import AsgiApi
from protowire import PROTOBUF, body, entry, i, key, m, s, varint

from jetkube.services.apiserver import limits, protobody
from jetkube.services.apiserver.protobody import Field, Target

CMS = "/api/v1/namespaces/default/configmaps"
PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
async def api() -> AsgiApi:
    return AsgiApi(await make_api())


def cm(*fields: bytes) -> bytes:
    return body("v1", "ConfigMap", m(1, s(1, "c")), *fields)


@pytest.mark.parametrize(("raw", "text"), [
    (b'{"metadata": {"name": "c"}}', "does not start with"),
    (b"k8s\x00\x0a", "truncated"),  # typeMeta's length is missing
    (b"k8s\x00" + key(2, 2) + varint(100) + b"abc", "runs past the end"),
    (cm(key(2, 2) + b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"), "longer than 10 bytes"),
    (cm(i(2, 5)), "data has wire type 0, expected 2"),  # a map sent as a varint
    (body("v1", "ConfigMap", i(1, 3)), "metadata has wire type 0, expected 2"),
    (cm(key(7, 3)), "groups"),
    (cm(s(4, "yes")), "immutable has wire type 2, expected 0"),
    (body("v1", "Secret", m(1, s(1, "c"))), "the body is v1/Secret, but the URL is for v1/ConfigMap"),
    (cm(key(0, 0) + b"\x00"), "field number 0"),
])
async def test_a_malformed_body_is_400(api: AsgiApi, raw: bytes, text: str) -> None:
    await rejected(api, "POST", CMS, raw, 400, reason="BadRequest", text=text,
                   content_type=PROTOBUF, count_path=CMS)


async def test_a_kind_with_no_table_is_415_naming_it(api: AsgiApi) -> None:
    await rejected(api, "POST", PODS, body("policy/v1", "PodDisruptionBudget", m(1, s(1, "p"))),
                   415, reason="UnsupportedMediaType",
                   text='"policy/v1, Kind=PodDisruptionBudget"', content_type=PROTOBUF)


async def test_a_volume_source_with_no_table_is_415_naming_it(api: AsgiApi) -> None:
    volume = m(1, s(1, "v"), m(2, m(3, s(1, "disk"))))  # gcePersistentDisk
    container = m(2, s(1, "c"), s(2, "busybox"))
    await rejected(api, "POST", PODS, body("v1", "Pod", m(1, s(1, "p")), m(2, volume, container)),
                   415, reason="UnsupportedMediaType", text="GCEPersistentDiskVolumeSource",
                   content_type=PROTOBUF)


async def test_a_content_encoding_is_415(api: AsgiApi) -> None:
    await rejected(api, "POST", CMS, body("v1", "ConfigMap", m(1, s(1, "c")), encoding="gzip"),
                   415, reason="UnsupportedMediaType", text="gzip", content_type=PROTOBUF,
                   count_path=CMS)


async def test_more_than_max_nodes_fields_is_400(api: AsgiApi) -> None:
    filler = i(15, 0) * (limits.MAX_NODES + 1)  # unknown fields count too (2 bytes each)
    await rejected(api, "POST", CMS, cm(filler), 400, reason="BadRequest",
                   text=f"more than {limits.MAX_NODES}", content_type=PROTOBUF, count_path=CMS)


async def test_embedded_json_nested_past_max_depth_is_400(api: AsgiApi) -> None:
    deep = b'{"f:a":' * (limits.MAX_DEPTH + 5) + b"{}" + b"}" * (limits.MAX_DEPTH + 5)
    managed = m(17, s(1, "kubectl"), s(2, "Update"), s(6, "FieldsV1"), m(7, s(1, deep)))
    raw = body("v1", "ConfigMap", m(1, s(1, "c"), managed))
    await rejected(api, "POST", CMS, raw, 400, reason="BadRequest", text="nested more than",
                   content_type=PROTOBUF, count_path=CMS)


async def test_a_bad_quantity_time_and_embedded_json_are_400(api: AsgiApi) -> None:
    for raw, text in (
            (body("v1", "ResourceQuota", m(1, s(1, "q")), m(2, entry(1, "cpu", m(2)))),
             "a quantity with no value"),
            (body("v1", "ConfigMap", m(1, s(1, "c"), m(8, i(1, 10**13)))), "outside years"),
            (body("v1", "ConfigMap", m(1, s(1, "c"), m(17, m(7, s(1, b"{nope"))))),
             "embedded JSON is not valid")):
        path = "/api/v1/namespaces/default/resourcequotas" if b"Quota" in raw else CMS
        await rejected(api, "POST", path, raw, 400, reason="BadRequest", text=text,
                       content_type=PROTOBUF, count_path=path)


async def test_a_patch_is_never_protobuf(api: AsgiApi) -> None:
    await api.ok("POST", CMS, {"metadata": {"name": "c"}})
    await rejected(api, "PATCH", f"{CMS}/c", cm(), 415, reason="UnsupportedMediaType",
                   content_type=PROTOBUF, count_path=CMS)


async def test_a_delete_body_that_is_not_delete_options_is_400_and_deletes_nothing(
        api: AsgiApi) -> None:
    await api.ok("POST", CMS, {"metadata": {"name": "c"}})
    for raw, code in ((body("v1", "ConfigMap", m(1, s(1, "c"))), 400), (b"k8s\x00\x12\x05", 400),
                      (b"k8s\x00" + s(2, b"x" * (70 * 1024)), 413)):
        got, st = await api.call("DELETE", f"{CMS}/c", raw, content_type=PROTOBUF)
        assert got == code, st
    assert (await api.ok("GET", f"{CMS}/c"))["metadata"]["name"] == "c"


def test_a_self_nesting_table_stops_at_max_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    """No served kind nests deeper than ~15 messages; a table that nests itself is still
    stopped at MAX_DEPTH, before Python's own recursion limit."""
    loop = {"test.Loop": {1: Field(1, "next", "message", "test.Loop", pointer=True)}}
    monkeypatch.setattr(protobody, "tables", lambda: loop)
    monkeypatch.setitem(protobody.KINDS, ("test/v1", "Loop"), "test.Loop")
    raw = b""
    for _ in range(limits.MAX_DEPTH + 10):
        raw = m(1, raw)
    with pytest.raises(Exception) as err:
        protobody.decode_protobuf(body("test/v1", "Loop", raw), Target("test/v1", "Loop"))
    assert getattr(err.value, "code", None) == 400
    assert "nested more than" in str(orjson.dumps(err.value.to_status()))  # type: ignore[attr-defined]
