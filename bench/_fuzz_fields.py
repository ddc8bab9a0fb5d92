"""The fuzz categories of hostile values (bench/fuzz.py), each generator (rng, i) -> Case:
``names`` (names and namespaces holding ``*``, ``>``, NUL, ``%``, ``..`` ..., in the path
and in the body), ``auth`` (missing, non-ASCII, Basic or oversized Authorization
headers), ``ranges`` (out-of-range replicas, int64 fields, quantities and ports, which
the server must refuse) and ``identity`` (wrong kind and apiVersion, duplicate keys).
"""

from __future__ import annotations

import random
from typing import Any

import orjson
from _cluster import TOKEN
from _fuzz_case import (
    ADMIN,
    JSON,
    JSON_PATCH,
    MERGE,
    NS,
    RESOURCES,
    STRATEGIC,
    SUBRESOURCES,
    TARGET,
    YAML,
    Case,
    b,
    collection,
    obj,
    with_raw,
)

__all__ = ["AUTHS", "BAD_NAMES", "BAD_QUANTITIES", "OUT_OF_RANGE_REPLICAS", "RAW_TARGETS", "SEGMENTS",
           "SHAPES", "gen_auth", "gen_identity", "gen_names", "gen_ranges"]

SEGMENTS = [
    "*", ">", "a*b", "a>b", "%2a", "%3e", "%00", "a%00b", "%25", "a%25b", "%", "a%zz", "%20",
    "a%20b", "%2f", "a%2fb", "%2F", "fuzz%2fconfigmaps", "..", ".", "%2e%2e", "%2E", "a..b", "~",
    "%ff", "%C3%A9", "%e2%80%ae", "A", "-a", "a-", "a_b", "x" * 254, "x" * 10_000, "%09", "%0d%0a",
    "a;b", "a:b", "a@b", "$", "%7B%7D", "%3F", "%23", "kube-system%00", "default%2f..",
]
RAW_TARGETS = [  # bytes no URL library would send
    b"/api/v1/namespaces/fuzz/configmaps/a b", b"/api/v1/namespaces/fuzz/configmaps/a\x00b",
    b"/api/v1/namespaces/fuzz/configmaps/\xff\xfe", b"/api/v1/namespaces/fuzz/configmaps/\xc3\xa9",
    b"/api/v1/namespaces/fuzz/configmaps/a\tb", b"/api/v1/namespaces/fu\x00zz/configmaps",
    b"*", b"", b"api/v1/namespaces", b"http://127.0.0.1/api/v1/namespaces/fuzz/configmaps",
    b"/api/v1/namespaces/fuzz/configmaps?%", b"/api/v1/namespaces/fuzz/configmaps#frag",
    b"/" + b"a/" * 5000,
]
SHAPES = [  # paths with doubled slashes and dot segments (GET only: a server that
    # normalised them would read another object, never write or delete one)
    "/api/v1/namespaces/fuzz//configmaps", "//api/v1/namespaces/fuzz/configmaps",
    "/api/v1/namespaces/fuzz/configmaps//target", "/api//v1/namespaces/fuzz/configmaps",
    "/api/v1/namespaces//configmaps", "/api/v1/namespaces/fuzz/configmaps/",
    "/api/v1/namespaces/fuzz/configmaps/target/", "/api/v1/namespaces/fuzz/configmaps/../secrets",
    "/api/v1/namespaces/fuzz/../kube-system/secrets", "/api/v1/namespaces/kube-system/../fuzz/configmaps",
    "/api/v1/namespaces/fuzz/configmaps/./target", "/api/v1/namespaces/fuzz/configmaps/target/..",
    "/api/v1/namespaces/fuzz/configmaps/%2e%2e/target",
    "/apis/apps/v1/namespaces/fuzz/deployments/target/scale/..",
    "/apis/apps/v1/namespaces/fuzz/deployments/target/status/x",
    "/api/v1/namespaces/fuzz/configmaps/target/bogus",
    "/api/v1/namespaces/fuzz/namespaces", "/apis/apps/v2/namespaces/fuzz/deployments", "/apis//v1",
    "/api/v1/namespaces/fuzz/pods/target/binding/x", "/apis", "/api/v1/..", "/healthz/../api",
    "/openapi/v2/..%2f..", "/version/%00",
]
BAD_NAMES: list[Any] = ["", "a*b", "..", ".", "a/b", "x" * 300, "a\u0000b", "\u00e9", "A",
                        "-a", "a_b", 5, None, ["x"], {"a": 1}, "a b", "%2f", "\ud7ff", "fz.",
                        "a" * 64]


def gen_names(rng: random.Random, i: int) -> Case:
    kind = rng.randrange(6)
    seg = rng.choice(SEGMENTS)
    r, path = collection(rng)
    base = path.rsplit(f"/namespaces/{NS}/", 1)
    body: bytes | None = None
    if kind == 0:  # a hostile namespace in a resource path
        method = rng.choice(["GET", "POST", "DELETE"])
        target = f"{base[0]}/namespaces/{seg}/{r}" + (f"/{TARGET}" if method == "DELETE" else "")
        body = orjson.dumps(obj(r, f"fz-{i}")) if method == "POST" else None
        return Case("names", f"namespace {seg[:30]!r}", method, b(target), body)
    if kind == 1:  # a hostile name
        method = rng.choice(["GET", "PUT", "PATCH", "DELETE"])
        ctype: bytes | None = JSON
        if method == "PUT":
            body = orjson.dumps(obj(r, seg))
        elif method == "PATCH":
            body, ctype = b'{"metadata":{"labels":{"fz":"1"}}}', MERGE
        sub = rng.choice(["", "", f"/{rng.choice(SUBRESOURCES.get(r, ('status',)))}"])
        return Case("names", f"name {seg[:30]!r}{sub}", method, b(f"{path}/{seg}{sub}"), body, ctype)
    if kind == 2:  # a hostile namespace name on the namespaces resource
        method = rng.choice(["GET", "DELETE", "PUT", "PATCH"])
        body = None
        if method == "PUT":
            body = orjson.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": seg}})
        elif method == "PATCH":
            body = b'{"metadata":{"labels":{"fz":"1"}}}'
        sub = rng.choice(["", "/status", "/finalize"])
        return Case("names", f"namespace object {seg[:30]!r}{sub}", method,
                    b(f"/api/v1/namespaces/{seg}{sub}"), body, MERGE if method == "PATCH" else JSON)
    if kind == 3:  # raw bytes in the request target
        t = rng.choice(RAW_TARGETS)
        return Case("names", f"raw target {t[:40]!r}", rng.choice(["GET", "DELETE"]), t, None, None)
    if kind == 4:
        shape = rng.choice(SHAPES)
        return Case("names", f"path {shape[:60]}", "GET", b(shape), None, None)
    # hostile names and namespaces in the body
    o = obj(r, "x")
    where = rng.choice(["name", "generateName", "namespace"])
    value = rng.choice(BAD_NAMES if where != "namespace" else [*BAD_NAMES, "kube-system", "*"])
    if where == "generateName":
        del o["metadata"]["name"]
    o["metadata"][where] = value
    return Case("names", f"metadata.{where} {str(value)[:30]!r}", "POST", b(path), orjson.dumps(o))


AUTHS: list[tuple[bytes | None, bool]] = [  # (the header's value, whether it is the admin)
    (None, False), (b"Bearer", False), (b"Bearer ", False), (b"Bearer t\xc3\xb6k\xc3\xa9n", False),
    (b"Bearer t\xf6k\xe9n", False), (ADMIN + b"\xe9", False), (ADMIN + b"\xc3\xa9", False),
    (b"Basic YWRtaW46YWRtaW4=", False), (b"Bearer " + b"x" * 60_000, False),
    (b"\xe2\x9c\x93", False), (b"Bearer " + TOKEN[::-1].encode(), False),
    (b"Bearer " + TOKEN[:-1].encode(), False), (b"Token " + TOKEN.encode(), False),
    (b"bearer " + TOKEN.encode(), True), (b"Bearer  " + TOKEN.encode(), True),
    (ADMIN + b" ", True),
]


def gen_auth(rng: random.Random, i: int) -> Case:
    value, admin = rng.choice(AUTHS)
    r, path = collection(rng)
    method = rng.choice(["GET", "POST", "DELETE", "PATCH"])
    headers: list[bytes] = []
    if rng.random() < 0.1:  # a second Authorization header, the admin's
        headers.append(b"Authorization: " + ADMIN)
        admin = True  # whichever is read, a 2xx cannot be called wrong
    label = f"Authorization {value[:24]!r}" if value is not None else "no Authorization"
    if method == "GET":
        return Case("auth", label, "GET", b(path), None, None, auth=value, headers=headers,
                    refuse=not admin)
    if method == "POST":
        return Case("auth", label, "POST", b(path), orjson.dumps(obj(r, f"fz-{i}")), auth=value,
                    headers=headers, refuse=not admin)
    if method == "DELETE":
        return Case("auth", label, "DELETE", b(f"{path}/fz-{rng.randrange(1000)}"), None, None,
                    auth=value, headers=headers, refuse=not admin)
    return Case("auth", label, "PATCH", b(f"{path}/{TARGET}"), b'{"metadata":{"labels":{"fz":"a"}}}',
                MERGE, auth=value, headers=headers, refuse=not admin)


OUT_OF_RANGE_REPLICAS = [b"2147483648", b"9223372036854775808", b"18446744073709551616", b"-1",
                         b"1000000000000000000000000000000", b"1e400", b"-9223372036854775809",
                         b"9223372036854775807"]
BAD_QUANTITIES = ["1e1000", "9999999999999999999999Ei", "1e99999999999999999999", "-1e19",
                  "9223372036854775808", "NaN", "Inf", "1e", "0x10", "1.5.5", "1Ki1", "10E"]


def gen_ranges(rng: random.Random, i: int) -> Case:
    deps = RESOURCES["deployments"]
    kind = rng.randrange(6)
    if kind in (0, 1):  # replicas of a Deployment, every way in
        raw = rng.choice(OUT_OF_RANGE_REPLICAS)
        how = rng.choice(["create", "update", "merge", "strategic", "json-patch", "scale",
                          "scale-patch", "yaml"])
        label = f"replicas {raw.decode()} by {how}"
        if how == "create":
            o = obj("deployments", f"fz-{i}")
            o["spec"]["replicas"] = "@@hole@@"
            return Case("ranges", label, "POST", b(deps), with_raw(o, raw), refuse=True)
        if how == "yaml":
            text = (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: fz-{i}}}\n"
                    f"spec:\n  replicas: {raw.decode()}\n  selector: {{matchLabels: {{app: fz}}}}\n"
                    "  template:\n    metadata: {labels: {app: fz}}\n"
                    "    spec: {containers: [{name: c, image: busybox}]}\n")
            return Case("ranges", label, "POST", b(deps), b(text), YAML, refuse=True)
        if how == "update":
            o = obj("deployments", TARGET)
            o["spec"]["replicas"] = "@@hole@@"
            return Case("ranges", label, "PUT", b(f"{deps}/{TARGET}"), with_raw(o, raw), refuse=True)
        if how in ("merge", "strategic"):
            return Case("ranges", label, "PATCH", b(f"{deps}/{TARGET}"),
                        b'{"spec":{"replicas":' + raw + b"}}", MERGE if how == "merge" else STRATEGIC,
                        refuse=True)
        if how == "json-patch":
            return Case("ranges", label, "PATCH", b(f"{deps}/{TARGET}"),
                        b'[{"op":"replace","path":"/spec/replicas","value":' + raw + b"}]",
                        JSON_PATCH, refuse=True)
        if how == "scale":
            body = (b'{"apiVersion":"autoscaling/v1","kind":"Scale","metadata":{"name":"target",'
                    b'"namespace":"fuzz"},"spec":{"replicas":' + raw + b"}}")
            return Case("ranges", label, "PUT", b(f"{deps}/{TARGET}/scale"), body, refuse=True)
        return Case("ranges", label, "PATCH", b(f"{deps}/{TARGET}/scale"),
                    b'{"spec":{"replicas":' + raw + b"}}", MERGE, refuse=True)
    if kind == 2:  # int64 fields of a pod
        fld, raw, refuse = rng.choice([
            ("terminationGracePeriodSeconds", b"9223372036854775808", True),
            ("terminationGracePeriodSeconds", b"18446744073709551616", True),
            ("terminationGracePeriodSeconds", b"1e400", True),
            ("activeDeadlineSeconds", b"9223372036854775808", True),
            ("activeDeadlineSeconds", b"-1", True), ("priority", b"1099511627776", True),
            ("terminationGracePeriodSeconds", b"-1", False)])
        o = obj("pods", f"fz-{i}")
        o["spec"][fld] = "@@hole@@"
        return Case("ranges", f"pod {fld} {raw.decode()}", "POST", b(RESOURCES["pods"]),
                    with_raw(o, raw), refuse=refuse)
    if kind == 3:  # quantities
        q = rng.choice(BAD_QUANTITIES)
        o = obj("pods", f"fz-{i}")
        o["spec"]["containers"][0]["resources"] = {rng.choice(["limits", "requests"]): {
            rng.choice(["cpu", "memory"]): q}}
        return Case("ranges", f"quantity {q}", "POST", b(RESOURCES["pods"]), orjson.dumps(o),
                    refuse=True)
    if kind == 4:  # ports
        where, raw = rng.choice([("containerPort", b"4294967296"), ("containerPort", b"-1"),
                                 ("port", b"2147483648"), ("port", b"70000"), ("port", b"-1"),
                                 ("targetPort", b"1099511627776"), ("nodePort", b"1099511627776")])
        if where == "containerPort":
            o = obj("pods", f"fz-{i}")
            o["spec"]["containers"][0]["ports"] = [{"containerPort": "@@hole@@"}]
            path = RESOURCES["pods"]
        else:
            o = obj("services", f"fz-{i}")
            o["spec"]["ports"][0][where] = "@@hole@@"
            if where == "nodePort":
                o["spec"]["type"] = "NodePort"
            path = RESOURCES["services"]
        return Case("ranges", f"{where} {raw.decode()}", "POST", b(path), with_raw(o, raw),
                    refuse=True)
    # a DeleteOptions body with out-of-range numbers
    raw = rng.choice([b"9223372036854775808", b"-1", b"1e400", b"18446744073709551616"])
    _, path = collection(rng)
    return Case("ranges", f"DeleteOptions gracePeriodSeconds {raw.decode()}", "DELETE",
                b(f"{path}/fz-{rng.randrange(1000)}"),
                b'{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":' + raw + b"}")


def gen_identity(rng: random.Random, i: int) -> Case:
    r, path = collection(rng)
    kind = rng.randrange(3)
    if kind == 0:  # kind and apiVersion: null, not strings, not the URL's
        o = obj(r, f"fz-{i}")
        fld, value = rng.choice([("kind", None), ("apiVersion", None), ("kind", 5),
                                 ("apiVersion", ["v1"]), ("kind", ""), ("kind", "Secret"),
                                 ("apiVersion", "v2"), ("apiVersion", "apps/v1"),
                                 ("kind", "ConfigMap\u0000"), ("kind", "x" * 100_000),
                                 ("apiVersion", "v1/../apps/v1"), ("kind", {"a": 1})])
        if rng.random() < 0.3:
            o["kind"] = o["apiVersion"] = None
            fld, value = "kind and apiVersion", None
        else:
            o[fld] = value
        method = rng.choice(["POST", "PUT"])
        target = b(path) if method == "POST" else b(f"{path}/{TARGET}")
        if method == "PUT":
            o["metadata"]["name"] = TARGET
        return Case("identity", f"{fld} {str(value)[:20]!r}", method, target, orjson.dumps(o),
                    refuse=not isinstance(value, str))
    if kind == 1:  # YAML nulls
        text = rng.choice(["apiVersion: v1\nkind: ~\nmetadata: {name: y}\n",
                           "apiVersion: ~\nkind: ConfigMap\nmetadata: {name: y}\n",
                           "apiVersion:\nkind:\nmetadata:\n", "kind: !!null\n", "~\n",
                           "apiVersion: v1\nkind: ConfigMap\nmetadata: !!binary aGVsbG8=\n",
                           "apiVersion: v1\nkind: !!int 5\nmetadata: {name: y}\n",
                           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\ndata: {a: !!float .nan}\n"])
        return Case("identity", f"YAML {text[:40]!r}", "POST", b(RESOURCES["configmaps"]), b(text),
                    YAML)
    # duplicate keys, JSON or YAML, with or without fieldValidation
    q = rng.choice(["", "?fieldValidation=Strict", "?fieldValidation=Warn", "?fieldValidation=Ignore"])
    body = rng.choice([
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fz-%d","name":"fz-x%d"}}' % (i, i),
        b'{"apiVersion":"v1","kind":"ConfigMap","kind":"Secret","metadata":{"name":"fz-%d"}}' % i,
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fz-%d"},"metadata":5}' % i,
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fz-%d"},"data":{"a":"1","a":2}}' % i,
        b'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fz-%d","labels":{"a":"1","a":"2"}}}' % i,
    ])
    ctype = JSON
    if rng.random() < 0.3:
        body = b(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fz-{i}\n  name: fz-y\n"
                 "data:\n  a: '1'\n  a: '2'\n")
        ctype = YAML
    return Case("identity", f"duplicate keys {q or '(no fieldValidation)'}", "POST",
                b(RESOURCES["configmaps"] + q), body, ctype)
