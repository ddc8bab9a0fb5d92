"""Fuzz benchmark: random hostile input against the HTTP API server, on loopback (issue 12).

N requests (``--requests``) of random hostile input, drawn from a seed (``--seed``), go to
a private API server that this script starts and stops (bench/_cluster.py: one nats-server
and one API server on 127.0.0.1, no controllers, no scheduler, no node agent), with the
admin token unless the case is about the token, into a namespace of their own (``fuzz``).
At most ``--concurrency`` requests are in flight, each on a fresh connection sent byte for
byte as generated (a small HTTP/1.1 client over asyncio streams: an HTTP library would
normalise ``..``, quote NUL and refuse non-ASCII header bytes), and the run stops at
``--seconds`` whatever is left.  Categories:

- nesting: flow and block YAML and JSON thousands of levels deep, YAML aliases, deep patches;
- size: bodies just under, at and over the size limit (``MAX_BODY``, 1.5 MiB), sent with a
  length, chunked, or with a length over the limit and a short body;
- keys: objects with huge key counts, arrays past the element bound, 10,000-operation JSON
  patches, a ``copy`` patch that doubles the object each operation;
- query: bad parameters (``limit=abc``, ``limit=1e9``, ``watch=1&timeoutSeconds=abc``,
  ``gracePeriodSeconds=abc``, ``dryRun=bogus``, ``fieldValidation=bogus``, selectors ...)
  and bounded watches (``timeoutSeconds`` of 1-2 s, some closed by the client first);
- patch: patches of the wrong type (``{"metadata": 5}``, a JSON patch that is no list,
  strategic merge directives of the wrong type) against existing objects;
- content-type: text/plain, XML, forms, protobuf, charsets, garbage;
- names: names and namespaces holding ``*``, ``>``, NUL, ``%``, blanks, ``%2f``, ``//``,
  ``..``, long or non-ASCII, escaped and raw, in the path and in the body;
- auth: missing, empty, non-ASCII, Basic or oversized Authorization headers;
- ranges: replicas of 2**31, 2**63, -1, 1e400; terminationGracePeriodSeconds of 2**63;
  quantities ``1e1000``, ``9999999999999999999999Ei``; ports past 16 and 32 bits;
- identity: null, non-string or mismatched kind and apiVersion; duplicate JSON and YAML keys;
- random: random JSON values (a small recursive generator: big numbers, lone surrogates,
  invalid UTF-8, hostile strings) or valid objects with one random field changed, sent
  with random verbs to configmaps, deployments, services, pods and secrets.

No request reaches pods/log, pods/exec or a proxy (they would leave loopback or need a node
agent).  Nothing makes unbounded work: watches end within seconds, bodies near the size
limit reuse three names, and a Deployment the server accepted with out-of-range replicas is
counted as a failure and deleted (no controller runs here anyway: the run checks that no
ReplicaSet and no Endpoints appeared for the objects it made).

Figures:

- the status-code histogram, over all requests and per category;
- 5xx answers (goal 0); tracebacks in a body or in the server's log, hangs (no answer within
  ``--timeout``), connection errors, and hostile values the server accepted where it must
  refuse them (goal 0 each); the first failing requests are listed;
- p50/p99 of the fuzz requests (connect to last byte);
- p99 of /healthz probed at 20 Hz during the fuzz, each probe a fresh TCP connection made
  by a process of its own, so the fuzz client's work never delays it (goal <= 50 ms;
  anchor: the same probe on the idle server just before the fuzz);
- the API server's resident memory before, half-way through and after the fuzz, and its
  peak; its CPU seconds per 1,000 requests (the fuzz's, with the probes it answered
  meanwhile);
- the slowest kinds of request, ranked by the median of their sends (a request that stalls
  the server delays every other one in flight, but only its own kind is slow every time).

The exit status is 1 when any 5xx, traceback (in a body or the server's log), hang,
connection error, accepted hostile value or failed /healthz probe is seen, or when the
namespaces ``fuzz``, ``default`` or ``kube-system`` are gone afterwards.
Usage: python bench/fuzz.py [--quick] [--requests N] [--seed S] [--concurrency C]
                            [--only CATEGORY,...] [--slowest K]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import TOKEN, cluster, cpu_seconds, percentile, rss_mib, service_account

from jetkube.services.apiserver.rest import MAX_BODY

NS = "fuzz"
TARGET = "target"  # one object of each resource, made before the fuzz: what patches hit
ADMIN = b"Bearer " + TOKEN.encode()
JSON = b"application/json"
YAML = b"application/yaml"
MERGE = b"application/merge-patch+json"
STRATEGIC = b"application/strategic-merge-patch+json"
JSON_PATCH = b"application/json-patch+json"
APPLY = b"application/apply-patch+yaml"
HOLE = b'"@@hole@@"'
"""Where :func:`with_raw` puts JSON text that orjson would not write (numbers past 64 bits,
lone surrogates, invalid UTF-8)."""

RESOURCES = {
    "configmaps": f"/api/v1/namespaces/{NS}/configmaps",
    "secrets": f"/api/v1/namespaces/{NS}/secrets",
    "services": f"/api/v1/namespaces/{NS}/services",
    "pods": f"/api/v1/namespaces/{NS}/pods",
    "deployments": f"/apis/apps/v1/namespaces/{NS}/deployments",
}
SUBRESOURCES = {"pods": ("status", "binding"), "deployments": ("status", "scale"),
                "services": ("status",)}


def container() -> dict[str, Any]:
    return {"name": "c", "image": "busybox:1.36", "resources": {"requests": {"cpu": "10m"}}}


def obj(resource: str, name: str) -> dict[str, Any]:
    """A valid object of ``resource`` named ``name``."""
    md: dict[str, Any] = {"name": name, "labels": {"app": "fz"}}
    if resource == "configmaps":
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": md, "data": {"a": "b"}}
    if resource == "secrets":
        return {"apiVersion": "v1", "kind": "Secret", "metadata": md, "type": "Opaque",
                "stringData": {"a": "b"}}
    if resource == "services":
        return {"apiVersion": "v1", "kind": "Service", "metadata": md,
                "spec": {"selector": {"app": "fz"}, "ports": [{"port": 80, "targetPort": 8080}]}}
    if resource == "pods":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
                "spec": {"containers": [container()]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": md,
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "fz"}},
                     "template": {"metadata": {"labels": {"app": "fz"}},
                                  "spec": {"containers": [container()]}}}}


def with_raw(value: Any, raw: bytes) -> bytes:
    """``value`` as JSON with the string ``"@@hole@@"`` in it replaced by ``raw``."""
    return orjson.dumps(value).replace(HOLE, raw, 1)


@dataclass
class Case:
    """One request, as sent."""

    category: str
    label: str  # a short description of what is hostile in it
    method: str
    target: bytes  # the request target (path and query), raw
    body: bytes | None = None
    content_type: bytes | None = JSON
    auth: bytes | None = ADMIN  # the Authorization header's value; None: no header
    headers: list[bytes] = field(default_factory=list)  # more header lines, raw
    declared: int | None = None  # a Content-Length other than the body's own
    chunked: bool = False
    refuse: bool = False  # the server must refuse it: a 2xx is a failure
    close_after: float | None = None  # a watch the client closes after so many seconds


@dataclass
class Outcome:
    case: Case
    status: int  # 0: no answer
    body: bytes
    error: str  # "", "hang" or "connection error: ..."
    seconds: float


def b(s: str) -> bytes:
    return s.encode()


def collection(rng: random.Random, resources: tuple[str, ...] = tuple(RESOURCES)) -> tuple[str, str]:
    r = rng.choice(resources)
    return r, RESOURCES[r]


# --- the generators, one per category: (rng, i) -> Case ------------------------------------


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


LIST_QUERIES = [
    "limit=abc", "limit=1e9", "limit=-1", "limit=99999999999999999999999", "limit=0x10",
    "limit=", "limit=1&limit=abc", "limit=%00", "limit=1%20", "resourceVersion=abc",
    "resourceVersion=-1", "resourceVersion=99999999999999999999999",
    "resourceVersionMatch=bogus", "resourceVersionMatch=Exact",
    "resourceVersionMatch=NotOlderThan&resourceVersion=abc", "continue=abc",
    "continue=%00%ff%fe", "continue=eyJydiI6LTF9", "limit=1&continue=" + "A" * 5000,
    "labelSelector=!!!", "labelSelector=a%20in%20(", "labelSelector=a%20notin%20()",
    "labelSelector=" + "a%3D1," * 5000 + "b", "labelSelector=%00", "labelSelector=a==b==c",
    "fieldSelector=metadata.name==", "fieldSelector=spec.bogus=1", "fieldSelector=%ff",
    "fieldSelector=" + "x" * 50_000, "%zz=%zz", "&&&==&", "watch=maybe&limit=abc",
    "sendInitialEvents=true",
]
WATCH_QUERIES = [  # refused at once, or streams that end within two seconds
    "watch=1&timeoutSeconds=abc", "watch=1&timeoutSeconds=-1", "watch=1&timeoutSeconds=1e3",
    "watch=1&timeoutSeconds=99999999999999999999999", "watch=1&timeoutSeconds=1&resourceVersion=abc",
    "watch=1&timeoutSeconds=1&labelSelector=!!!", "watch=1&timeoutSeconds=1&fieldSelector=a.b=c",
    "watch=1&timeoutSeconds=1&allowWatchBookmarks=maybe",
    "watch=1&timeoutSeconds=1&sendInitialEvents=true",
    "watch=1&timeoutSeconds=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan",
    "watch=1&timeoutSeconds=1&resourceVersionMatch=Exact&resourceVersion=1",
    "watch=1&timeoutSeconds=1&limit=abc", "watch=true&timeoutSeconds=1&resourceVersion=0",
    "watch=%00&timeoutSeconds=1",
]
DELETE_QUERIES = [
    "gracePeriodSeconds=abc", "gracePeriodSeconds=-1", "gracePeriodSeconds=1e9",
    "gracePeriodSeconds=99999999999999999999", "gracePeriodSeconds=9223372036854775807",
    "propagationPolicy=bogus", "orphanDependents=maybe&propagationPolicy=Orphan",
    "orphanDependents=true&propagationPolicy=Foreground", "dryRun=bogus", "dryRun=All&dryRun=x",
]
WRITE_QUERIES = [
    "dryRun=bogus", "dryRun=All&dryRun=bogus", "dryRun=", "dryRun=all", "fieldValidation=bogus",
    "fieldValidation=strict", "fieldValidation=", "fieldValidation=Strict&fieldValidation=x",
    "fieldManager=" + "x" * 200, "fieldManager=%00", "fieldManager=%ff", "dryRun=%00",
]


def gen_query(rng: random.Random, i: int) -> Case:
    r, path = collection(rng)
    kind = rng.randrange(5)
    if kind == 0:
        q = rng.choice(LIST_QUERIES)
        where = rng.choice([path, f"/api/v1/{r}" if r != "deployments" else "/apis/apps/v1/deployments"])
        return Case("query", f"list ?{q[:60]}", "GET", b(f"{where}?{q}"), None, None)
    if kind == 1:
        q = rng.choice(WATCH_QUERIES)
        close = rng.choice([None, 0.3])
        return Case("query", f"watch ?{q[:60]}{' (closed early)' if close else ''}", "GET",
                    b(f"{path}?{q}"), None, None, close_after=close)
    if kind == 2:
        q = rng.choice(DELETE_QUERIES)
        name = rng.choice([f"fz-{rng.randrange(1000)}", "absent"])
        body = rng.choice([None, b'{"gracePeriodSeconds":"abc"}', b'{"propagationPolicy":5}',
                           b'{"gracePeriodSeconds":9223372036854775808}', b"[]", b"null",
                           b'{"preconditions":{"uid":5}}', b'{"kind":"DeleteOptions","dryRun":"All"}'])
        return Case("query", f"delete ?{q[:60]} body {(body or b'-')[:40].decode()}", "DELETE",
                    b(f"{path}/{name}?{q}"), body)
    if kind == 3:  # deletecollection: selectors that match nothing or do not parse
        q = rng.choice(["labelSelector=fuzz-none%3D1", "labelSelector=!!!", "fieldSelector=%ff",
                        "labelSelector=fuzz-none%3D1&gracePeriodSeconds=abc",
                        "labelSelector=fuzz-none%3D1&limit=abc", "labelSelector=fuzz-none%3D1&dryRun=x"])
        return Case("query", f"deletecollection ?{q[:60]}", "DELETE", b(f"{path}?{q}"), None, None)
    q = rng.choice(WRITE_QUERIES)
    method = rng.choice(["POST", "PUT", "PATCH"])
    if method == "POST":
        return Case("query", f"create ?{q[:60]}", "POST", b(f"{path}?{q}"),
                    orjson.dumps(obj(r, f"fz-{i}")))
    if method == "PUT":
        return Case("query", f"update ?{q[:60]}", "PUT", b(f"{path}/{TARGET}?{q}"),
                    orjson.dumps(obj(r, TARGET)))
    return Case("query", f"patch ?{q[:60]}", "PATCH", b(f"{path}/{TARGET}?{q}"),
                b'{"metadata":{"labels":{"fz":"1"}}}', MERGE)


WRONG_MERGES = [
    b'{"metadata": 5}', b'{"metadata": {"labels": 5}}', b'{"metadata": {"labels": {"a": 5}}}',
    b'{"metadata": {"labels": {"a": null, "b": [1]}}}', b'{"metadata": {"name": 5}}',
    b'{"metadata": {"name": "other"}}', b'{"metadata": {"namespace": "kube-system"}}',
    b'{"metadata": null}', b'{"metadata": {"resourceVersion": "abc"}}',
    b'{"metadata": {"resourceVersion": 5}}', b'{"metadata": {"uid": 5}}',
    b'{"metadata": {"finalizers": 5}}', b'{"metadata": {"finalizers": [5, null]}}',
    b'{"metadata": {"ownerReferences": [5]}}', b'{"metadata": {"ownerReferences": {"a": 1}}}',
    b'{"metadata": {"creationTimestamp": 5}}', b'{"metadata": {"deletionTimestamp": "x"}}',
    b'{"metadata": {"generation": "x"}}', b'{"data": []}', b'{"data": {"a": {"b": 1}}}',
    b'{"data": 5}', b'{"stringData": [1]}', b'{"spec": "x"}', b'{"spec": []}', b'{"spec": null}',
    b'{"spec": {"replicas": "3"}}', b'{"spec": {"replicas": 1.5}}', b'{"spec": {"ports": 5}}',
    b'{"spec": {"ports": [5]}}', b'{"spec": {"ports": [{"port": "x"}]}}',
    b'{"spec": {"containers": {"name": "c"}}}', b'{"spec": {"selector": 5}}',
    b'{"spec": {"template": 5}}', b'{"spec": {"template": {"spec": {"containers": 5}}}}',
    b'{"status": 5}', b'{"kind": "Secret"}', b'{"kind": null}', b'{"apiVersion": null}',
    b'{"apiVersion": "v2"}', b'{"kind": 5}', b"null", b"[]", b"5", b'"x"', b"true", b"",
    b"{", b'{"a":}', b"\xff\xfe", b'{"\xff": 1}', b'{"metadata": {"labels": {"\\ud800": "x"}}}',
]
WRONG_JSON_PATCHES = [
    b'{"op": "add", "path": "/x", "value": 1}', b"5", b"null", b'"x"', b"{}", b"[5]", b"[null]",
    b"[[]]", b'[{"op": "bogus", "path": "/a"}]', b'[{"op": "add"}]', b'[{"op": 5, "path": "/a"}]',
    b'[{"op": "add", "path": 5, "value": 1}]', b'[{"op": "add", "path": "metadata", "value": 1}]',
    b'[{"op": "add", "path": "", "value": 5}]', b'[{"op": "replace", "path": "", "value": null}]',
    b'[{"op": "remove", "path": "/metadata"}]', b'[{"op": "remove", "path": "/"}]',
    b'[{"op": "remove", "path": "/metadata/name"}]', b'[{"op": "add", "path": "/metadata", "value": 5}]',
    b'[{"op": "replace", "path": "/spec/template/spec/containers/99999999999", "value": {}}]',
    b'[{"op": "add", "path": "/spec/containers/-1", "value": {}}]',
    b'[{"op": "add", "path": "/spec/containers/-", "value": 5}]',
    b'[{"op": "add", "path": "/spec/containers/01", "value": {}}]',
    b'[{"op": "add", "path": "/metadata/labels/a~2b", "value": "x"}]',
    b'[{"op": "add", "path": "/metadata/labels/~", "value": "x"}]',
    b'[{"op": "move", "from": "/metadata", "path": "/metadata/labels/x"}]',
    b'[{"op": "move", "from": "/nope", "path": "/x"}]', b'[{"op": "copy", "path": "/x"}]',
    b'[{"op": "copy", "from": "", "path": "/data/x"}]',
    b'[{"op": "test", "path": "/metadata/name", "value": "nope"}]',
    b'[{"op": "test", "path": "/metadata/labels", "value": null}]',
    b'[{"op": "add", "path": "/metadata/labels/a", "value": 18446744073709551616}]',
    b'[{"op": "add", "path": "/data/a", "value": 1e400}]',
]
WRONG_STRATEGIC = [
    b'{"spec": {"containers": 5}}', b'{"spec": {"containers": [5]}}',
    b'{"spec": {"containers": [{"name": 5}]}}', b'{"spec": {"containers": [{"$patch": "delete"}]}}',
    b'{"spec": {"containers": [{"name": "c", "$patch": "bogus"}]}}', b'{"$patch": "bogus"}',
    b'{"$patch": "delete"}', b'{"$patch": "replace"}', b'{"$patch": 5}',
    b'{"metadata": {"$deleteFromPrimitiveList/finalizers": 5}}',
    b'{"metadata": {"$deleteFromPrimitiveList/finalizers": [5]}}',
    b'{"spec": {"$setElementOrder/containers": 5}}',
    b'{"spec": {"$setElementOrder/containers": [{"name": "zz"}, 5]}}',
    b'{"spec": {"$retainKeys": 5}}', b'{"spec": {"$retainKeys": ["a", 5]}}',
    b'{"spec": {"template": {"spec": {"containers": {"name": "c"}}}}}',
    b'{"spec": {"template": {"spec": {"containers": [{"name": "c", "ports": 5}]}}}}',
    b'{"spec": {"ports": [{"port": "x"}]}}', b'{"spec": {"ports": [{"$patch": "delete"}]}}',
    b'{"spec": {"ports": [{"port": 80, "$patch": "replace"}]}}', b'{"metadata": {"labels": []}}',
    b'{"spec": {"containers": [{"name": "c", "env": [{"name": 5}]}]}}',
    b'{"spec": {"$patch": "delete"}}', b'{"data": {"$patch": "replace", "a": 5}}',
]
APPLY_BODIES = [b": : :", b"{}", b"- a", b"kind: ConfigMap", b"\x00", b"apiVersion: v1\nkind: [",
                b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: target}\ndata: {a: [1]}\n"]


def gen_patch(rng: random.Random, i: int) -> Case:
    r, path = collection(rng)
    target = b(f"{path}/{TARGET}")
    kind = rng.randrange(4)
    if kind == 0:
        body = rng.choice(WRONG_MERGES)
        ctype = rng.choice([MERGE, STRATEGIC])
    elif kind == 1:
        body, ctype = rng.choice(WRONG_JSON_PATCHES), JSON_PATCH
    elif kind == 2:
        body, ctype = rng.choice(WRONG_STRATEGIC), rng.choice([STRATEGIC, STRATEGIC, MERGE])
    else:
        body, ctype = rng.choice(APPLY_BODIES), APPLY
    if rng.random() < 0.15:  # the scale or status subresource of the same object
        sub = rng.choice(SUBRESOURCES.get(r, ("status",)))
        if sub != "binding":
            target += b(f"/{sub}")
    return Case("patch", f"{ctype.decode().split('/')[1]} {body[:50]!r}", "PATCH", target, body,
                ctype)


CONTENT_TYPES = [
    b"text/plain", b"application/xml", b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=x", b"application/json; charset=utf-16",
    b"application/json;;;", b"application/vnd.kubernetes.protobuf", b"*/*", b"", b"application/",
    b"\x7f", b"application/json, application/yaml", b"APPLICATION/JSON", b"application/yaml; q=x",
    b"application/json-patch+json", b"application/apply-patch+yaml", b"\xe9", b"json",
    b"application/merge-patch+json; charset=\xff", b"text/html; charset=utf-8",
]


def gen_content_type(rng: random.Random, i: int) -> Case:
    r, path = collection(rng)
    valid = obj(r, f"fz-{i}")
    body = rng.choice([
        orjson.dumps(valid), b"<configMap><name>x</name></configMap>", b"name=x&data=y",
        orjson.dumps(valid).decode().encode("utf-16"), b"--x\r\nContent-Disposition: form-data\r\n\r\n{}",
        b"\x00\x01\x02\x03", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: y}\n",
    ])
    ctype: bytes | None = rng.choice([*CONTENT_TYPES, None])
    method = rng.choice(["POST", "PUT", "PATCH"])
    target = b(path) if method == "POST" else b(f"{path}/{TARGET}")
    return Case("content-type", f"{ctype!r} body {body[:30]!r}", method, target, body, ctype)


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


# --- random JSON values ---------------------------------------------------------------------

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


CATEGORIES: dict[str, tuple[Callable[[random.Random, int], Case], float]] = {
    "nesting": (gen_nesting, 1.0), "size": (gen_size, 0.5), "keys": (gen_keys, 0.6),
    "query": (gen_query, 1.5), "patch": (gen_patch, 1.5), "content-type": (gen_content_type, 1.0),
    "names": (gen_names, 1.5), "auth": (gen_auth, 1.0), "ranges": (gen_ranges, 1.5),
    "identity": (gen_identity, 1.0), "random": (gen_random, 3.0),
}


def make_case(seed: int, i: int, only: tuple[str, ...] = ()) -> Case:
    """Request ``i`` of the run seeded ``seed`` (the same whatever order they are sent in),
    of one of the categories ``only`` (all when empty)."""
    rng = random.Random(f"{seed}:{i}")
    names = list(only or CATEGORIES)
    category = rng.choices(names, [CATEGORIES[n][1] for n in names])[0]
    return CATEGORIES[category][0](rng, i)


# --- the HTTP client: bytes as generated, one connection per request -----------------------


def request_bytes(port: int, case: Case) -> bytes:
    head = [case.method.encode() + b" " + case.target + b" HTTP/1.1",
            b"Host: 127.0.0.1:%d" % port, b"Connection: close", b"Accept: application/json"]
    if case.auth is not None:
        head.append(b"Authorization: " + case.auth)
    if case.content_type is not None:
        head.append(b"Content-Type: " + case.content_type)
    payload = case.body or b""
    if case.body is not None:
        if case.chunked:
            head.append(b"Transfer-Encoding: chunked")
            step = 65536
            payload = b"".join(b"%x\r\n" % len(payload[k:k + step]) + payload[k:k + step] + b"\r\n"
                               for k in range(0, len(payload), step)) + b"0\r\n\r\n"
        else:
            head.append(b"Content-Length: %d" % (case.declared if case.declared is not None
                                                 else len(payload)))
    head.extend(case.headers)
    return b"\r\n".join(head) + b"\r\n\r\n" + payload


async def read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size = int((await reader.readline()).split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            return bytes(out)
        out += await reader.readexactly(size + 2)
        del out[-2:]


async def read_response(reader: asyncio.StreamReader, case: Case) -> tuple[int, bytes]:
    line = await reader.readline()
    if not line:
        raise ConnectionError("closed without an answer")
    status = int(line.split(None, 2)[1])
    headers: dict[bytes, bytes] = {}
    while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
        k, _, v = h.partition(b":")
        headers[k.strip().lower()] = v.strip()
    if case.method == "HEAD" or status in (204, 304):
        return status, b""
    if b"content-length" in headers:
        return status, await reader.readexactly(int(headers[b"content-length"]))
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        if case.close_after is not None:  # the client leaves a watch early
            try:
                return status, await asyncio.wait_for(read_chunked(reader), case.close_after)
            except TimeoutError:
                return status, b""
        return status, await read_chunked(reader)
    return status, await reader.read()


async def send(port: int, case: Case, hang_after: float) -> Outcome:
    t0 = time.perf_counter()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(hang_after):
            reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
            writer.write(request_bytes(port, case))
            status, body = await read_response(reader, case)
        return Outcome(case, status, body, "", time.perf_counter() - t0)
    except TimeoutError:
        return Outcome(case, 0, b"", "hang", time.perf_counter() - t0)
    except (OSError, EOFError, ValueError, IndexError, asyncio.LimitOverrunError) as err:
        return Outcome(case, 0, b"", f"connection error: {type(err).__name__}: {err}"[:200],
                       time.perf_counter() - t0)
    finally:
        if writer is not None:
            writer.transport.abort()


async def call(port: int, method: str, path: str, body: Any = None,
               ctype: bytes = JSON) -> tuple[int, Any]:
    """An ordinary admin request (set-up and checks): its status and decoded body."""
    raw = None if body is None else body if isinstance(body, bytes) else orjson.dumps(body)
    out = await send(port, Case("setup", "", method, b(path), raw, ctype), 30)
    try:
        return out.status, orjson.loads(out.body) if out.body else None
    except orjson.JSONDecodeError:
        return out.status, out.body


# --- the /healthz probe, in a process of its own ---------------------------------------------


def probe_loop(port: int, hz: float, conn: Connection) -> None:
    """GET /healthz ``hz`` times a second, each on a fresh TCP connection, until told to
    stop; sends back (monotonic start, seconds, status or 0) of each."""
    req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    samples: list[tuple[float, float, int]] = []
    period = 1 / hz
    conn.send("ready")
    next_at = time.monotonic()
    while True:
        t = time.monotonic()
        status = 0
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(req)
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            status = int(data.split(b" ", 2)[1])
        except (OSError, ValueError, IndexError):
            pass
        samples.append((t, time.monotonic() - t, status))
        next_at = max(next_at + period, time.monotonic())  # late: skip, never burst
        if conn.poll(max(0.0, next_at - time.monotonic())):
            break
    conn.send(samples)
    conn.close()


# --- the run ----------------------------------------------------------------------------------


def rss_now_mib(pid: int) -> float:
    """Current resident memory (VmRSS) of a process, MiB (``rss_mib`` is the peak)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def failure_of(out: Outcome) -> str:
    """Why ``out`` is a failure, or "" when it is not."""
    if out.error == "hang":
        return "hang"
    if out.error:
        return "connection error"
    if out.status >= 500:
        return "5xx"
    if b"Traceback" in out.body:
        return "traceback in the body"
    if out.case.refuse and 200 <= out.status < 300:
        return "hostile value accepted"
    return ""


def histogram_key(out: Outcome) -> str:
    return str(out.status) if not out.error else ("hang" if out.error == "hang" else "conn-error")


def fmt_histogram(counts: Counter[str]) -> str:
    keys = sorted(counts, key=lambda k: (not k.isdigit(), k))
    return "  ".join(f"{k}: {counts[k]}" for k in keys)


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


async def setup(port: int) -> None:
    code, out = await call(port, "POST", "/api/v1/namespaces",
                           {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    assert code == 201, (code, out)
    code, out = await call(port, "POST", f"/api/v1/namespaces/{NS}/serviceaccounts",
                           service_account(NS))
    assert code == 201, (code, out)
    for r, path in RESOURCES.items():
        code, out = await call(port, "POST", path, obj(r, TARGET))
        assert code == 201, (r, code, out)


async def checks(port: int) -> list[str]:
    """After the fuzz: the namespaces are intact and no Deployment holds out-of-range
    replicas (each one found is deleted).  Returns the failures found."""
    found: list[str] = []
    for ns in (NS, "default", "kube-system"):
        code, out = await call(port, "GET", f"/api/v1/namespaces/{ns}")
        if code != 200 or not isinstance(out, dict) or out["metadata"].get("deletionTimestamp"):
            found.append(f"namespace {ns} is gone or being deleted: {code} {str(out)[:200]}")
    code, out = await call(port, "GET", RESOURCES["deployments"])
    for d in out.get("items", []) if isinstance(out, dict) else []:
        replicas = d.get("spec", {}).get("replicas")
        if replicas is not None and not (isinstance(replicas, int) and 0 <= replicas <= 10):
            name = d["metadata"]["name"]
            found.append(f"Deployment {name} stored with replicas {replicas!r} (deleted)")
            await call(port, "DELETE", f"{RESOURCES['deployments']}/{name}")
    return found


async def count(port: int, path: str) -> int:
    """How many objects a list of ``path`` holds (-1: the list failed)."""
    code, out = await call(port, "GET", path)
    return len(out.get("items") or []) if code == 200 and isinstance(out, dict) else -1


async def run(args: argparse.Namespace) -> int:
    n = args.requests
    with cluster() as c:
        port = int(c.api_url.rsplit(":", 1)[1])
        pid = c.api_pids[0]
        await setup(port)

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        prober = ctx.Process(target=probe_loop, args=(port, args.probe_hz, child), daemon=True)
        prober.start()
        stopped = False
        try:
            await asyncio.to_thread(parent.poll, 30)
            parent.recv()  # "ready"
            await asyncio.sleep(args.idle)  # the anchor: /healthz on the idle server

            rss_before = rss_now_mib(pid)
            rss_mid: list[float] = []  # half-way: growth that goes on is a leak
            cpu_before = cpu_seconds(pid)
            outcomes: list[Outcome] = []
            next_i = 0
            t_start = time.monotonic()
            deadline = t_start + args.seconds

            async def worker() -> None:
                nonlocal next_i
                while next_i < n and time.monotonic() < deadline:
                    i = next_i
                    next_i += 1
                    outcomes.append(await send(port, make_case(args.seed, i, args.only), args.timeout))
                    if len(outcomes) == n // 2:
                        rss_mid.append(rss_now_mib(pid))

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            t_end = time.monotonic()
            cpu_after = cpu_seconds(pid)
            rss_after = rss_now_mib(pid)
            parent.send("stop")
            stopped = True
            await asyncio.to_thread(parent.poll, 30)
            samples: list[tuple[float, float, int]] = parent.recv()
        finally:
            if not stopped:
                with suppress(OSError):
                    parent.send("stop")
            prober.join(10)
            if prober.is_alive():
                prober.kill()
                prober.join(5)
        rss_peak = rss_mib(pid)

        after_checks = await checks(port)
        # nothing here writes ReplicaSets or Endpoints: a controller would have, for "target"
        made = [await count(port, f"/apis/apps/v1/namespaces/{NS}/replicasets"),
                await count(port, f"/api/v1/namespaces/{NS}/endpoints")]
        controllers = f"{made[0]} ReplicaSets for the Deployments, {made[1]} Endpoints for the Services"
        if made != [0, 0]:
            after_checks.append(f"a controller ran: {controllers}")
        log_path = c.workdir / "apiserver-0.log"
        log = log_path.read_text(errors="replace") if log_path.exists() else ""

    # --- figures
    failures = [(why, o) for o in outcomes if (why := failure_of(o))]
    why_counts = Counter(why for why, _ in failures)
    hist = Counter(histogram_key(o) for o in outcomes)
    per_cat: dict[str, Counter[str]] = {}
    for o in outcomes:
        per_cat.setdefault(o.case.category, Counter())[histogram_key(o)] += 1
    fives = sum(1 for o in outcomes if o.status >= 500)
    lat = [o.seconds for o in outcomes if not o.error]
    idle = [s for t, s, _ in samples if t < t_start]
    during = [s for t, s, _ in samples if t_start <= t <= t_end]
    probe_fail = sum(1 for t, _, st in samples if st != 200 and t >= t_start)
    log_tracebacks = log.count("Traceback")
    elapsed = t_end - t_start
    sent = len(outcomes)
    cpu = cpu_after - cpu_before

    print(f"jetkube fuzz benchmark ({'quick' if args.quick else 'full'}), 1 API server, "
          f"{os.cpu_count()} cores, loopback, seed {args.seed}")
    bound_note = "" if sent == n else f"; stopped at the {args.seconds:.0f} s bound"
    print(f"  requests                       {sent:8d} of {n} in {elapsed:.1f} s"
          f"  ({args.concurrency} in flight, one connection each{bound_note})")
    print(f"  status codes                   {fmt_histogram(hist)}")
    for cat in CATEGORIES:
        if cat in per_cat:
            print(f"    {cat:13} {sum(per_cat[cat].values()):5d}    {fmt_histogram(per_cat[cat])}")
    print(f"  5xx responses                  {fives:8d}          goal 0")
    print(f"  tracebacks, hangs, conn errors {why_counts['traceback in the body']:4d}, "
          f"{why_counts['hang']}, {why_counts['connection error']}"
          f"  goal 0 (hang: no answer in {args.timeout:.0f} s); server log tracebacks {log_tracebacks}")
    print(f"  hostile values accepted        {why_counts['hostile value accepted']:8d}          goal 0"
          " (out-of-range ints and quantities, non-string kind, bad tokens)")
    print(f"  fuzz request latency           p50 {ms(percentile(lat, 50))}  p99 {ms(percentile(lat, 99))}"
          f"  max {ms(max(lat, default=float('nan')))}  (connect to last byte)")
    print(f"  /healthz p99 during the fuzz   {ms(percentile(during, 99)):>11}   goal <= 50 ms"
          f" (anchor: the idle server's p99 {ms(percentile(idle, 99))}, {len(idle)} probes)")
    print(f"{'':47}p50 {ms(percentile(during, 50))}, max {ms(max(during, default=float('nan')))};"
          f" {len(during)} probes at {args.probe_hz:.0f} Hz, {probe_fail} failed (each a fresh TCP"
          " connection, from a process of its own)")
    mid = f"{rss_mid[0]:.0f} MiB half-way -> " if rss_mid else ""
    created = [o for o in outcomes if o.status == 201]
    big = sum(1 for o in created if len(o.case.body or b"") > 100_000)
    print(f"  API server RSS                 {rss_before:8.0f} MiB before -> {mid}{rss_after:.0f} MiB"
          f" after  (peak {rss_peak:.0f} MiB; the fuzz created {len(created)} objects, {big} of"
          " them from bodies over 100 kB, kept in the watch cache)")
    print(f"  API server CPU per 1,000 requests {cpu / max(sent, 1) * 1e3:5.2f} s"
          f"     ({cpu:.1f} s for {sent} requests and {len(during)} probes)")
    print(f"  controllers                    none ran ({controllers})")
    # a request that stalls the server delays all in flight with it: ranked by the median
    # of each kind's sends, the kinds that are slow by themselves come first
    kinds: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        kinds.setdefault((o.case.category, o.case.label), []).append(o)
    ranked = sorted(kinds.items(), key=lambda kv: -percentile([o.seconds for o in kv[1]], 50))
    print("  slowest kinds of request (median of their sends, how many, status codes):")
    for (cat, label), outs in ranked[:args.slowest]:
        first = outs[0].case
        codes = ",".join(sorted({histogram_key(o) for o in outs}))
        print(f"    {ms(percentile([o.seconds for o in outs], 50)):>10}  x{len(outs):<3} {codes:>7}  "
              f"{first.method} {first.target[:60]!r}  [{cat}: {label[:60]}]")

    problems = [f"{why}: {o.case.method} {o.case.target[:120]!r} [{o.case.category}: "
                f"{o.case.label[:80]}] -> {o.status or o.error} {o.body[:300]!r}"
                for why, o in failures]
    problems += after_checks
    if probe_fail:
        problems.append(f"{probe_fail} /healthz probes failed during the fuzz")
    if log_tracebacks:
        at = log.index("Traceback")
        problems.append("server log: " + log[max(0, at - 300):at + 1500])
    if problems:
        print(f"  FAILURES ({len(problems)}), the first {min(len(problems), 10)}:")
        for p in problems[:10]:
            print(f"    - {p}")
    return 1 if problems else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 300 requests, 40 s at most")
    ap.add_argument("--requests", type=int, help="requests in all (default 2,000; --quick 300)")
    ap.add_argument("--seed", type=int, default=12, help="the random seed (default 12)")
    ap.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    ap.add_argument("--seconds", type=float, help="stop sending after this (default 600; --quick 40)")
    ap.add_argument("--timeout", type=float, help="a request unanswered this long is a hang "
                                                  "(default 20 s; --quick 10 s)")
    ap.add_argument("--probe-hz", type=float, default=20.0, help="/healthz probes a second")
    ap.add_argument("--only", type=lambda s: tuple(s.split(",")), default=(),
                    help=f"these categories only, comma-separated (of {', '.join(CATEGORIES)})")
    ap.add_argument("--slowest", type=int, default=5, help="slowest kinds of request listed (default 5)")
    args = ap.parse_args()
    if unknown := set(args.only) - set(CATEGORIES):
        ap.error(f"unknown categories: {', '.join(sorted(unknown))}")
    if args.requests is None:
        args.requests = 300 if args.quick else 2_000
    if args.seconds is None:
        args.seconds = 40.0 if args.quick else 600.0
    if args.timeout is None:
        args.timeout = 10.0 if args.quick else 20.0
    args.idle = 1.0 if args.quick else 2.0
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
