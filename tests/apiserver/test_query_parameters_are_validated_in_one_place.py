"""Query parameters are parsed and checked in one place (services/apiserver/params.py), for
both faces: a value of the wrong type or out of range is a 400 Status naming the
parameter and the value (never a 500 from an ``int()`` deep in a handler), and nothing is
written.  Booleans read as Kubernetes reads them (``0``/``false`` are false, any other
value is true), and of a repeated parameter the first value counts, as in Kubernetes;
every value of a repeated ``dryRun`` must be ``All``."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
import pytest
from apiharness import Api, make_api, rejected
from faces import FACES, AsgiApi, FrontApi, face

from jetkube.services.apiserver import params
from jetkube.services.apiserver.natsface import handle
from jetkube.services.apiserver.response import WatchResponse
from jetkube.services.machinery.apimachinery import apierrors

CM = "/api/v1/namespaces/default/configmaps"


def cm(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}


@pytest.fixture(params=FACES)
async def api(request: pytest.FixtureRequest) -> Api:
    base = await make_api()
    await base.ok("POST", CM, cm("x"))
    return face(base, request.param)


BAD = [
    ("GET", f"{CM}?limit=abc", None, "limit", "abc"),
    ("GET", f"{CM}?limit=1e9", None, "limit", "1e9"),
    ("GET", f"{CM}?limit=-1", None, "limit", "-1"),
    ("GET", f"{CM}?limit=9223372036854775808", None, "limit", "9223372036854775808"),
    ("GET", f"{CM}?watch=1&timeoutSeconds=abc", None, "timeoutSeconds", "abc"),
    ("GET", f"{CM}?watch=true&timeoutSeconds=-5", None, "timeoutSeconds", "-5"),
    ("GET", f"{CM}?watch=true&timeoutSeconds=1.5", None, "timeoutSeconds", "1.5"),
    ("DELETE", f"{CM}/x?gracePeriodSeconds=abc", None, "gracePeriodSeconds", "abc"),
    ("DELETE", f"{CM}/x?gracePeriodSeconds=-1", None, "gracePeriodSeconds", "-1"),
    ("DELETE", f"{CM}/x?propagationPolicy=Sideways", None, "propagationPolicy", "Sideways"),
    ("DELETE", f"{CM}?propagationPolicy=Sideways", None, "propagationPolicy", "Sideways"),
    ("DELETE", f"{CM}?gracePeriodSeconds=x", None, "gracePeriodSeconds", "x"),
    ("GET", f"{CM}?resourceVersion=1&resourceVersionMatch=Newest", None,
     "resourceVersionMatch", "Newest"),
    ("GET", f"{CM}?resourceVersionMatch=Exact", None, "resourceVersionMatch",
     "unless resourceVersion is provided"),
    ("GET", f"{CM}?resourceVersion=abc", None, "resourceVersion", "abc"),
    ("GET", f"{CM}/x?resourceVersion=-3", None, "resourceVersion", "-3"),
    ("GET", f"{CM}?watch=true&resourceVersion=abc", None, "resourceVersion", "abc"),
    ("GET", f"{CM}?{urlencode({'labelSelector': 'a in (('})}", None, "", "a in (("),
    ("GET", f"{CM}?{urlencode({'fieldSelector': '==='})}", None, "", "==="),
    ("GET", f"{CM}?continue=garbage", None, "", "continue"),
]


@pytest.mark.parametrize(("method", "path", "body", "param", "value"), BAD,
                         ids=[f"{m} {p.partition('?')[2]}" for m, p, *_ in BAD])
async def test_a_bad_value_is_400_naming_the_parameter_and_nothing_is_written(
        api: Api, method: str, path: str, body: object, param: str, value: str) -> None:
    st = await rejected(api, method, path, body, 400, reason="BadRequest", text=value,
                        count_path=CM)
    assert param in st["message"], st


INVALID_COMBINATIONS = [  # Kubernetes' ListOptions validation: 422 with a cause per field
    (f"{CM}?watch=1&resourceVersionMatch=NotOlderThan", "resourceVersionMatch",
     "unless sendInitialEvents"),
    (f"{CM}?watch=1&sendInitialEvents=true", "resourceVersionMatch",
     "requires setting resourceVersionMatch to NotOlderThan"),
    (f"{CM}?sendInitialEvents=true", "sendInitialEvents", "forbidden for list"),
]


@pytest.mark.parametrize(("path", "field", "text"), INVALID_COMBINATIONS,
                         ids=[p.partition("?")[2] for p, *_ in INVALID_COMBINATIONS])
async def test_a_watch_option_combination_kubernetes_forbids_is_422_naming_the_field(
        api: Api, path: str, field: str, text: str) -> None:
    st = await rejected(api, "GET", path, None, 422, reason="Invalid", text=text, count_path=CM)
    assert [c["field"] for c in st["details"]["causes"]] == [field], st


@pytest.mark.parametrize("query", ["dryRun=All&dryRun=Bogus", "dryRun=Bogus&dryRun=All"])
async def test_a_repeated_dry_run_must_be_all_in_every_value(query: str) -> None:
    api = AsgiApi(await make_api())
    rev = await api.store.current_revision()
    code, st = await api.call("POST", f"{CM}?{query}", cm("new"))
    assert code in (400, 422) and st["kind"] == "Status", st  # dryrun.py: 422, as Kubernetes
    assert "dryRun" in st["message"] and "Bogus" in st["message"], st
    assert await api.count(CM) == 0 and await api.store.current_revision() == rev
    assert params.decode_query("dryRun=All&dryRun=All") == {"dryRun": "All"}


async def test_a_query_string_that_is_not_utf8_is_a_400_not_a_500() -> None:
    api = AsgiApi(await make_api())
    code, st = await api.call("GET", CM, raw_query=b"limit=\xff\xfe")
    assert code == 400 and st["reason"] == "BadRequest" and "limit" in st["message"], st


async def test_good_values_still_work(api: Api) -> None:
    await api.ok("POST", CM, cm("y"))
    page = await api.ok("GET", f"{CM}?limit=1")
    assert len(page["items"]) == 1 and page["metadata"]["continue"]
    assert len((await api.ok("GET", f"{CM}?limit=0&resourceVersion=0"))["items"]) == 2
    await api.ok("DELETE", f"{CM}/x?gracePeriodSeconds=0&propagationPolicy=Background")
    await api.ok("GET", f"{CM}/y?resourceVersion=0")
    await api.ok("GET", f"{CM}?resourceVersion=0&resourceVersionMatch=NotOlderThan")
    code, _ = await api.call(
        "GET", f"{CM}?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
        "&allowWatchBookmarks=true&timeoutSeconds=1")
    assert code == 200


@pytest.mark.parametrize(("raw", "want"), [
    ("true", True), ("1", True), ("True", True), ("yes", True), ("", True),
    ("false", False), ("FALSE", False), ("0", False)])
async def test_booleans_read_as_kubernetes_reads_them(raw: str, want: bool) -> None:
    assert params.parse({"watch": raw}).watch is want
    assert params.parse({}).watch is False
    api = FrontApi(await make_api())
    code, out = await api.call("GET", f"{CM}?{urlencode({'watch': raw})}&timeoutSeconds=1")
    assert code == 200 and isinstance(out, WatchResponse) is want
    if want:
        assert isinstance(out, WatchResponse) and out.timeout == 1.0


async def test_the_first_of_a_repeated_value_counts() -> None:
    q = params.decode_query("limit=1&limit=abc&command=ls&command=-l")
    assert q["limit"] == "1" and q["command"] == "ls\x00-l"
    assert params.parse(q).limit == 1


async def test_the_table_names_what_it_checks() -> None:
    for name in ("limit", "timeoutSeconds", "gracePeriodSeconds", "watch", "allowWatchBookmarks",
                 "sendInitialEvents", "resourceVersionMatch", "propagationPolicy", "dryRun",
                 "fieldValidation", "orphanDependents", "continue", "labelSelector",
                 "fieldSelector", "resourceVersion"):
        assert name in params.PARAMETERS
    with pytest.raises(apierrors.ApiError) as err:
        params.parse({"orphanDependents": "true", "propagationPolicy": "Foreground"})
    assert err.value.code == 400 and "orphanDependents" in err.value.message


async def test_orphan_dependents_is_the_orphan_policy() -> None:
    api = await make_api()
    await api.ok("POST", CM, cm("x"))
    out = await api.ok("DELETE", f"{CM}/x", query={"orphanDependents": "true"})
    assert "orphan" in out["metadata"]["finalizers"]


@pytest.mark.parametrize(("verb", "query", "name", "param"), [
    ("list", {"limit": "abc"}, "", "limit"),
    ("delete", {"gracePeriodSeconds": "abc"}, "x", "gracePeriodSeconds"),
    ("get", {"resourceVersion": "x1"}, "x", "resourceVersion"),
])
async def test_the_nats_face_checks_the_same_table(verb: str, query: dict[str, str], name: str,
                                                   param: str) -> None:
    api = await make_api()
    await api.ok("POST", CM, cm("x"))
    rev = await api.store.current_revision()
    headers = {"Jetkube-Namespace": "default", "Jetkube-Query": urlencode(query)}
    if name:
        headers["Jetkube-Name"] = name
    body, out = await handle(api.front, f"jetkube.api.admin.{verb}.core.v1.configmaps", headers,
                             b"")
    st = orjson.loads(body)
    assert out["Jetkube-Code"] == "400" and st["reason"] == "BadRequest", st
    assert param in st["message"]
    assert await api.store.current_revision() == rev
