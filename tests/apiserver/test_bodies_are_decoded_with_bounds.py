"""Bodies are decoded with bounds: nesting depth (100 levels), fields and elements (YAML
aliases counted each time they are used) and size are limited before a parser, or the code
after it, can recurse or spend more than a few milliseconds. A hostile body gets a 400
Status naming the limit, and nothing is written; a large body is decoded off the event loop,
so /healthz keeps answering while hostile bodies are decoded (issue 12)."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from apiharness import PODS, Api, make_api, pod, rejected
from faces import Held, asgi_request

from jetkube import schemas
from jetkube.services.apiserver import decode
from jetkube.services.apiserver.http import HttpApp
from jetkube.services.machinery.apimachinery import apierrors

CMS = "/api/v1/namespaces/default/configmaps"
YAML = "application/yaml"
MERGE = "application/merge-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
JSON_PATCH = "application/json-patch+json"


@pytest.fixture
async def api() -> Api:
    api = await make_api()
    await api.ok("POST", PODS, pod("p"))
    await api.ok("POST", CMS, {"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": "c"}, "data": {"a": "b"}})
    return api


def _configmap_yaml(extra: str) -> bytes:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: made\n{extra}".encode()


async def test_flow_yaml_nested_10000_levels_is_400(api: Api) -> None:
    await rejected(api, "POST", CMS, b"[" * 10_000 + b"]" * 10_000, 400, reason="BadRequest",
                   text="nested more than 100 levels", content_type=YAML, count_path=CMS)


async def test_block_yaml_nested_3000_levels_is_400(api: Api) -> None:
    await rejected(api, "POST", CMS, _configmap_yaml("data:\n" + "  - " * 3000 + "x\n"), 400,
                   reason="BadRequest", text="nested more than 100 levels", content_type=YAML,
                   count_path=CMS)


async def test_block_yaml_mappings_nested_past_the_limit_are_400_naming_the_field(
        api: Api) -> None:
    body = "".join(" " * i + f"k{i}:\n" for i in range(150)) + " " * 150 + "leaf: 1\n"
    await rejected(api, "POST", CMS, _configmap_yaml(body.replace("k0:", "data:", 1)), 400,
                   reason="BadRequest", text='nested more than 100 levels deep (under "data")',
                   content_type=YAML, count_path=CMS)


async def test_json_nested_past_the_limit_is_400_naming_the_field(api: Api) -> None:
    body = (b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"made"},"data":'
            + b"[" * 150 + b"]" * 150 + b"}")
    await rejected(api, "POST", CMS, body, 400, reason="BadRequest",
                   text='nested more than 100 levels deep (under "data")', count_path=CMS)


async def test_json_nested_past_the_json_parsers_own_limit_is_400(api: Api) -> None:
    body = b'{"data":' + b"[" * 5000 + b"]" * 5000 + b"}"
    await rejected(api, "POST", CMS, body, 400, reason="BadRequest",
                   text="nested more than 100 levels", count_path=CMS)


@pytest.mark.parametrize("ctype", [MERGE, STRATEGIC])
async def test_patches_nested_past_the_limit_are_400(api: Api, ctype: str) -> None:
    deep = b'{"a":' * 900 + b"1" + b"}" * 900
    body = b'{"metadata":{"annotations":' + deep + b"}}"
    await rejected(api, "PATCH", f"{CMS}/c", body, 400, reason="BadRequest",
                   text="nested more than 100 levels", content_type=ctype, count_path=CMS)


async def test_json_patch_value_nested_past_the_limit_is_400(api: Api) -> None:
    body = (b'[{"op":"add","path":"/metadata/annotations/x","value":'
            + b"[" * 900 + b"]" * 900 + b"}]")
    await rejected(api, "PATCH", f"{CMS}/c", body, 400, reason="BadRequest",
                   text="nested more than 100 levels", content_type=JSON_PATCH, count_path=CMS)


def _alias_bomb(levels: int) -> str:
    """YAML whose aliases expand to 10**levels strings ("billion laughs")."""
    lines = ["  l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"]
    for i in range(1, levels):
        lines.append(f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]\n")
    return "".join(lines)


async def test_a_yaml_alias_bomb_is_400_before_it_expands(api: Api) -> None:
    body = "bomb:\n" + _alias_bomb(9)  # 10**9 strings once expanded, 700 bytes written
    started = time.perf_counter()
    await rejected(api, "POST", CMS, _configmap_yaml(body), 400, reason="BadRequest",
                   text=f"more than {decode.MAX_NODES} fields and elements",
                   content_type=YAML, count_path=CMS)
    assert time.perf_counter() - started < 2.0


async def test_a_yaml_anchor_that_holds_itself_is_400(api: Api) -> None:
    await rejected(api, "POST", CMS, _configmap_yaml("data: &a {x: *a}\n"), 400,
                   reason="BadRequest", text="the anchor 'a' holds itself", content_type=YAML,
                   count_path=CMS)


async def test_yaml_values_are_json_values_as_kubernetes_converts_them(api: Api) -> None:
    """Timestamps and ``!!binary`` stay text, keys become strings (sigs.k8s.io/yaml)."""
    body = _configmap_yaml("data:\n  day: 2024-01-01\n  blob: !!binary aGVsbG8=\n  1: one\n")
    out = await api.ok("POST", CMS, body, content_type=YAML)
    assert out["data"] == {"day": "2024-01-01", "blob": "aGVsbG8=", "1": "one"}


@pytest.mark.parametrize(("extra", "text"), [
    ("data: !!set {a, b}\n", "set"),
    ("data:\n  a: !!omap [{b: c}]\n", "omap"),
    ("immutable: 123456789012345678901234567890\n", "64 bits"),
    ("data:\n  a: !!float .nan\n", "finite"),
    ("data:\n  ? [a, b]\n  : c\n", "key"),
    ("data: {a: b}\n---\nkind: Pod\n", "single document"),
])
async def test_yaml_values_json_cannot_hold_are_400(api: Api, extra: str, text: str) -> None:
    await rejected(api, "POST", CMS, _configmap_yaml(extra), 400, reason="BadRequest",
                   text=text, content_type=YAML, count_path=CMS)


async def test_a_body_over_the_size_limit_is_413_in_either_format(api: Api) -> None:
    body = _configmap_yaml("data:\n  a: " + "x" * decode.MAX_BODY + "\n")
    for ctype in (YAML, "application/json"):
        await rejected(api, "POST", CMS, body, 413, reason="RequestEntityTooLarge",
                       content_type=ctype, count_path=CMS)


async def test_a_large_body_within_the_limits_is_decoded(api: Api) -> None:
    data = {f"k{i:06d}": "v" * 40 for i in range(20_000)}  # ~1 MiB, 20,000 keys
    body = _configmap_yaml("data:\n" + "".join(f"  {k}: {v}\n" for k, v in data.items()))
    assert len(body) > decode.OFFLOAD_AT
    out = await api.ok("POST", CMS, body, content_type=YAML)
    assert out["data"] == data


# --- the event loop stays free ---------------------------------------------------------

async def _asgi(app: HttpApp, method: str, path: str, body: bytes = b"",
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    status, _, out = await asgi_request(
        app, method, path, body, [(k.encode(), v.encode()) for k, v in (headers or {}).items()])
    return status, out


async def test_healthz_answers_while_12_hostile_bodies_are_decoded(api: Api) -> None:
    app = HttpApp(api.front)
    big = _configmap_yaml("data:\n" + "".join(f"  k{i:06d}: {'v' * 40}\n"
                                             for i in range(20_000))
                          + "  deep: " + "[" * 150 + "]" * 150 + "\n")  # found at the end
    hostile = ([b"[" * 10_000 + b"]" * 10_000] * 4 + [_configmap_yaml("data:\n" + "- " * 3000)]
               * 4 + [big] * 4)
    yaml_header = {"content-type": YAML}

    async def post(body: bytes) -> int:
        code, out = await _asgi(app, "POST", CMS, body, yaml_header)
        assert code < 500, out
        return code

    latencies: list[float] = []

    async def probe(stop: asyncio.Event) -> None:
        while not stop.is_set():  # a probe's latency counts from when it was due
            due = time.perf_counter()
            code, out = await _asgi(app, "GET", "/healthz")
            latencies.append(time.perf_counter() - due)
            assert (code, out) == (200, b"ok")
            due = time.perf_counter() + 0.005
            await asyncio.sleep(0.005)
            latencies.append(time.perf_counter() - due)

    stop = asyncio.Event()
    prober = asyncio.create_task(probe(stop))
    await asyncio.sleep(0.02)
    started = time.perf_counter()
    posts = [asyncio.create_task(post(body)) for body in hostile]
    await asyncio.sleep(0)
    gaps: list[float] = []  # how long the loop could not run while the bodies were decoded
    while not all(p.done() for p in posts):
        t = time.perf_counter()
        await asyncio.sleep(0.002)
        gaps.append(time.perf_counter() - t - 0.002)
    elapsed = time.perf_counter() - started
    stop.set()
    await prober
    assert [p.result() for p in posts] == [400] * 12
    print(f"12 hostile bodies decoded in {elapsed:.2f}s; /healthz worst {max(latencies):.4f}s "
          f"over {len(latencies)} probes; longest loop stall {max(gaps, default=0):.4f}s")
    # the figures are printed, not asserted (speed goals live in benchmarks): 9-18 ms here,
    # 12.1 s before issue 12; that decoding runs off the loop is asserted below


async def test_healthz_answers_while_a_big_body_is_being_decoded(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Held in the middle of decoding a big YAML body, the API server still answers
    /healthz: the decode runs in a worker thread, not on the event loop."""
    app = HttpApp(api.front)
    held = Held(monkeypatch, decode, "decode")
    body = _configmap_yaml("data:\n" + "".join(f"  k{i}: v\n" for i in range(2000)))
    code, _, out = await held.serve(
        app, asgi_request(app, "POST", CMS, body, [(b"content-type", YAML.encode())]),
        off_loop=True)
    assert code == 201, out


@pytest.mark.parametrize("keys", [100, 20_000])
async def test_a_big_object_is_checked_off_the_event_loop_and_a_small_one_on_it(
        api: Api, monkeypatch: pytest.MonkeyPatch, keys: int) -> None:
    """Validating a big object (20,000 keys: ~23 ms) runs in the worker thread, so the API
    server answers /healthz while it is held there; a small one is checked on the loop (a
    thread hop would cost it more than the check)."""
    app = HttpApp(api.front)
    # (a create that is not big is loaded with its template's table: load_remembered)
    held = Held(monkeypatch, schemas, "load_object" if keys > 1000 else "load_remembered")
    body = orjson.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"},
                         "data": {f"k{i:05d}": "v" * 20 for i in range(keys)}})
    code, _, out = await held.serve(app, asgi_request(app, "POST", CMS, body),
                                    off_loop=keys > 1000)
    assert code == 201, out
    assert held.on_loop_only == (keys <= 1000), held.threads


def test_json_is_decoded_without_recursion_for_any_depth() -> None:
    for depth in (99, 101, 1023, 1025, 200_000):
        body = b"[" * depth + b"]" * depth
        if depth <= decode.MAX_DEPTH:
            assert decode.decode(body, "json").data is not None
            continue
        with pytest.raises(apierrors.ApiError) as err:
            decode.decode(body, "json")
        assert err.value.code == 400 and "nested more than 100 levels" in err.value.message
