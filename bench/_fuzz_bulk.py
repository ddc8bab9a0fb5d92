"""The fuzz categories of sheer bulk (bench/fuzz.py), each generator (rng, i) -> Case:
``nesting`` (flow and block YAML and JSON thousands of levels deep, YAML aliases, deep
patches), ``size`` (bodies just under, at and over ``MAX_BODY``, with a length, chunked,
or with a length over the limit and a short body) and ``keys`` (huge key counts, arrays
past the element bound, JSON patches of thousands of operations or doubling copies).
"""

from __future__ import annotations

import random
from typing import Any

import orjson
from _fuzz_case import (
    HOLE,
    JSON_PATCH,
    MERGE,
    RESOURCES,
    STRATEGIC,
    TARGET,
    YAML,
    Case,
    b,
    collection,
    obj,
    with_raw,
)

from jetkube.services.apiserver.rest import MAX_BODY

__all__ = ["gen_keys", "gen_nesting", "gen_size"]


def gen_nesting(rng: random.Random, i: int) -> Case:
    cms = RESOURCES["configmaps"]
    kind = rng.randrange(7)
    if kind == 0:  # flow YAML: sequences or mappings, thousands of levels
        n = rng.choice([101, 1_000, 5_000, 20_000, 200_000])
        if rng.random() < 0.5:
            return Case("nesting", f"flow YAML [ x{n}", "POST", b(cms), b"[" * n + b"]" * n, YAML)
        return Case("nesting", f"flow YAML {{a: x{n}", "PUT", b(f"{cms}/{TARGET}"),
                    b"{a: " * n + b"1" + b"}" * n, YAML)
    if kind == 1:  # block YAML sequences
        n = rng.choice([150, 1_000, 3_000, 10_000])
        body = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n{i}\ndata:\n"
        return Case("nesting", f"block YAML '- ' x{n}", "POST", b(cms),
                    b(body + "  - " * n + "x\n"), YAML)
    if kind == 2:  # block YAML mappings, each one column further in
        n = rng.choice([150, 500, 1_000, 1_600])
        body = f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n{i}\n" + "".join(
            " " * d + ("data" if d == 0 else f"k{d}") + ":\n" for d in range(n)) + " " * n + "x: 1\n"
        return Case("nesting", f"block YAML mappings x{n}", "POST", b(cms), b(body), YAML)
    if kind == 3:  # JSON under data: arrays or objects
        n = rng.choice([101, 1_000, 10_000, 200_000])
        inner = b"[" * n + b"]" * n if rng.random() < 0.5 else b'{"a":' * n + b"1" + b"}" * n
        return Case("nesting", f"JSON nested x{n}", "POST", b(cms),
                    with_raw({**obj("configmaps", f"n{i}"), "data": "@@hole@@"}, inner))
    if kind == 4:  # a merge or strategic patch nested deep
        n = rng.choice([101, 900, 10_000])
        deep = b'{"a":' * n + b"1" + b"}" * n
        ctype = rng.choice([MERGE, STRATEGIC])
        _, path = collection(rng)
        return Case("nesting", f"{ctype.decode()} nested x{n}", "PATCH", b(f"{path}/{TARGET}"),
                    b'{"metadata":{"annotations":' + deep + b"}}", ctype)
    if kind == 5:  # a JSON patch whose value nests deep
        n = rng.choice([101, 5_000])
        value = b"[" * n + b"]" * n
        return Case("nesting", f"JSON patch value nested x{n}", "PATCH", b(f"{cms}/{TARGET}"),
                    b'[{"op":"add","path":"/data/x","value":' + value + b"}]", JSON_PATCH)
    # YAML aliases, each level nine of the one before ("billion laughs")
    levels = rng.choice([4, 6, 9])
    lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for d in range(1, levels):
        lines.append(f"l{d}: &l{d} [" + ",".join([f"*l{d - 1}"] * 9) + "]")
    body = (f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n{i}\n"
            f"x:\n" + "".join("  " + line + "\n" for line in lines) + f"data: *l{levels - 1}\n")
    return Case("nesting", f"YAML aliases 9^{levels}", "POST", b(cms), b(body), YAML)


def gen_size(rng: random.Random, i: int) -> Case:
    resource = rng.choice(["configmaps", "secrets"])
    name = f"big-{rng.randrange(3)}"  # three names: big objects overwrite, never pile up
    delta = rng.choice([-4096, -1, 0, 1, 4096, MAX_BODY])
    size = MAX_BODY + delta
    field_name = "data" if resource == "configmaps" else "stringData"
    how = rng.choice(["json", "json", "yaml", "chunked", "short"])
    if how == "yaml":
        head = b(f"apiVersion: v1\nkind: {'ConfigMap' if resource == 'configmaps' else 'Secret'}\n"
                 f"metadata:\n  name: {name}\n{field_name}:\n  big: ")
        body = head + b"x" * max(0, size - len(head) - 1) + b"\n"
        return Case("size", f"YAML body of MAX_BODY{delta:+d}", "POST", b(RESOURCES[resource]),
                    body, YAML)
    shell = {**obj(resource, name), field_name: {"big": "@@hole@@"}}
    fill = max(0, size - (len(orjson.dumps(shell)) - len(HOLE)) - 2)
    body = with_raw(shell, b'"' + b"x" * fill + b'"')
    if how == "short":  # a length over the limit, a short body: refused before reading
        declared = MAX_BODY + rng.choice([1, MAX_BODY])
        return Case("size", f"Content-Length MAX_BODY+{declared - MAX_BODY}, 200 bytes sent",
                    "POST", b(RESOURCES[resource]), body[:200], declared=declared)
    return Case("size", f"{'chunked ' if how == 'chunked' else ''}JSON body of MAX_BODY{delta:+d}",
                "POST", b(RESOURCES[resource]), body, chunked=how == "chunked")


def gen_keys(rng: random.Random, i: int) -> Case:
    cms = RESOURCES["configmaps"]
    kind = rng.randrange(7)
    if kind == 0:  # data with a huge key count
        n = rng.choice([1_000, 50_000, 100_000])
        data = {f"k{j}": "" for j in range(n)}
        return Case("keys", f"configmap data of {n} keys", "POST", b(cms),
                    orjson.dumps({**obj("configmaps", f"k{i}"), "data": data}))
    if kind == 1:  # labels or annotations with a huge key count
        n = rng.choice([1_000, 20_000, 60_000])
        where = rng.choice(["labels", "annotations"])
        r, path = collection(rng)
        o = obj(r, f"k{i}")
        o["metadata"][where] = {f"k{j}": "v" for j in range(n)}
        return Case("keys", f"{r} with {n} {where}", "POST", b(path), orjson.dumps(o))
    if kind == 2:  # an array past the element bound
        n = rng.choice([240_000, 260_000, 700_000])
        return Case("keys", f"array of {n} elements", "POST", b(cms),
                    with_raw({**obj("configmaps", f"k{i}"), "data": "@@hole@@"},
                             b"[" + b",".join([b"0"] * n) + b"]"))
    if kind == 3:  # a YAML flow mapping with a huge key count
        n = rng.choice([10_000, 100_000])
        body = (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: k{i}}}\ndata: {{"
                + ", ".join(f"k{j}: v" for j in range(n)) + "}\n")
        return Case("keys", f"YAML flow mapping of {n} keys", "POST", b(cms), b(body), YAML)
    if kind == 4:  # a JSON patch of thousands of operations
        n = rng.choice([1_000, 10_000, 25_000])
        ops = [{"op": "add", "path": f"/metadata/labels/k{j}", "value": "v"} for j in range(n)]
        r, path = collection(rng)
        return Case("keys", f"JSON patch of {n} operations", "PATCH", b(f"{path}/{TARGET}"),
                    orjson.dumps(ops), JSON_PATCH)
    if kind == 5:  # a JSON patch whose copies double the object each operation
        n = rng.choice([10, 18])
        doubling: list[dict[str, Any]] = [{"op": "add", "path": "/data/x", "value": {"a": "b"}}]
        doubling += [{"op": "copy", "from": "/data", "path": f"/data/x{j}"} for j in range(n)]
        return Case("keys", f"JSON patch doubling by copy x{n}", "PATCH", b(f"{cms}/{TARGET}"),
                    orjson.dumps(doubling), JSON_PATCH)
    # a strategic merge of thousands of keyed list elements
    n = rng.choice([1_000, 10_000])
    containers = [{"name": f"c{j}", "image": "i"} for j in range(n)]
    return Case("keys", f"strategic merge of {n} containers", "PATCH",
                b(f"{RESOURCES['pods']}/{TARGET}"),
                orjson.dumps({"spec": {"containers": containers}}), STRATEGIC)
