"""The fuzz categories of malformed requests (bench/fuzz.py), each generator (rng, i) ->
Case: ``query`` (bad list, watch, delete and write parameters; watches bounded to a
second or two, some closed by the client first), ``patch`` (patches of the wrong type
against the existing objects) and ``content-type`` (foreign media types and bodies).
"""

from __future__ import annotations

import random

import orjson
from _fuzz_case import (
    APPLY,
    JSON_PATCH,
    MERGE,
    STRATEGIC,
    SUBRESOURCES,
    TARGET,
    Case,
    b,
    collection,
    obj,
)

__all__ = ["APPLY_BODIES", "CONTENT_TYPES", "DELETE_QUERIES", "LIST_QUERIES", "WATCH_QUERIES",
           "WRITE_QUERIES", "WRONG_JSON_PATCHES", "WRONG_MERGES", "WRONG_STRATEGIC", "gen_content_type",
           "gen_patch", "gen_query"]

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
