"""The ``random`` fuzz category (bench/fuzz.py): random JSON values from a small recursive
generator (big numbers, lone surrogates, invalid UTF-8, hostile strings), or a valid
object with one field changed, sent with random verbs to the five resources.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
from _fuzz_case import (
    JSON,
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    SUBRESOURCES,
    TARGET,
    Case,
    b,
    collection,
    obj,
    with_raw,
)

__all__ = ["KEYS", "SCALARS", "gen_random", "mutate", "rand_json"]

KEYS = ["metadata", "spec", "status", "name", "namespace", "labels", "annotations", "data",
        "stringData", "kind", "apiVersion", "containers", "image", "replicas", "selector",
        "matchLabels", "template", "ports", "port", "targetPort", "protocol", "type", "clusterIP",
        "resources", "limits", "requests", "cpu", "memory", "finalizers", "ownerReferences", "uid",
        "resourceVersion", "generateName", "deletionTimestamp", "env", "value", "valueFrom",
        "items", "$patch", "$retainKeys", "nodeName", "volumes", "x", "", "\u0000", "é"]
SCALARS = [b"null", b"true", b"false", b"0", b"-0", b"1", b"-1", b"2147483648",  # (no valid
           # int32 above 1: a random Deployment must never be stored with many replicas)
           b"9223372036854775807", b"9223372036854775808", b"-9223372036854775809",
           b"18446744073709551616", b"1" + b"0" * 400, b"1.5", b"-0.0", b"1e400", b"-1e400",
           b"1e-400", b"0.1e1", b'""', b'"*"', b'">"', b'"a\\u0000b"', b'"\\ud800"', b'"\\udfff\\ud800"',
           b'"\xff\xfe"', b'"\xc3\xa9"', b'"../.."', b'"%2f"', b'"1e1000"', b'"9999999999999999999999Ei"',
           b'"true"', b'"null"', b'"' + b"x" * 10_000 + b'"', b'"\\u202e"', b'"\xf0\x9f\x92\xa5"',
           b'"10.96.0.1"', b'"::1"', b'"2024-13-45T99:99:99Z"', b'"Always"', b'"-1"']


def rand_json(rng: random.Random, depth: int) -> bytes:
    """A random JSON text: hostile scalars, objects keyed by Kubernetes field names, lists."""
    roll = rng.random()
    if depth <= 0 or roll < 0.45:
        return rng.choice(SCALARS)
    if roll < 0.8:
        keys = rng.sample(KEYS, rng.randrange(1, 6))
        return b"{" + b",".join(orjson.dumps(k) + b":" + rand_json(rng, depth - 1) for k in keys) + b"}"
    return b"[" + b",".join(rand_json(rng, depth - 1) for _ in range(rng.randrange(0, 5))) + b"]"


def mutate(rng: random.Random, o: Any) -> bytes:
    """``o`` as JSON with one field, somewhere in it, replaced, added or removed."""
    node = o
    while True:
        if isinstance(node, dict) and node:
            key = rng.choice(list(node))
            if rng.random() < 0.4 or not isinstance(node[key], (dict, list)) or not node[key]:
                action = rng.random()
                if action < 0.15:
                    del node[key]
                elif action < 0.3:
                    node[rng.choice(KEYS) or "x"] = "@@hole@@"
                else:
                    node[key] = "@@hole@@"
                break
            node = node[key]
        elif isinstance(node, list) and node:
            j = rng.randrange(len(node))
            if rng.random() < 0.4 or not isinstance(node[j], (dict, list)) or not node[j]:
                node[j] = "@@hole@@"
                break
            node = node[j]
        else:
            break
    return with_raw(o, rand_json(rng, 3))


def gen_random(rng: random.Random, i: int) -> Case:
    r, path = collection(rng)
    method = rng.choice(["POST", "POST", "PUT", "PATCH", "DELETE"])
    if rng.random() < 0.5:
        base = obj(r, f"fz-{i}" if method == "POST" else TARGET)
        body = mutate(rng, base)
        label = f"{r} with a field changed"
    else:
        body = rand_json(rng, 5)
        label = f"random JSON {body[:40]!r}"
    ctype = JSON
    if method == "POST":
        target = path
    elif method == "DELETE":  # a random DeleteOptions body; never the shared targets
        target = f"{path}/fz-{rng.randrange(1000)}"
    else:
        target = f"{path}/{TARGET}"
        if method == "PATCH":
            ctype = rng.choice([MERGE, STRATEGIC, JSON_PATCH])
    if method in ("PUT", "PATCH") and rng.random() < 0.2:
        target += f"/{rng.choice(SUBRESOURCES.get(r, ('status',)))}"
        if target.endswith("/binding"):
            method = "POST"
    return Case("random", label, method, b(target), body, ctype)
