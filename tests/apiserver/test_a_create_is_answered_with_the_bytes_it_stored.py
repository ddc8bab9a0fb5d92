"""A create is answered with the bytes it stored, its resourceVersion put first in its
metadata (objects.served_bytes), not with the object encoded a second time (issue 17:
encode once; the answer's encoding was 3 % of a create).  The answer is the object a read
gives back; a sealed Secret, a dry run and a minimal answer are made as before."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import yaml
from apiharness import Api, make_api, pod

from jetkube.services.apiserver import natsface
from jetkube.services.apiserver.response import IDENTITY_FIELDS

PODS = "/api/v1/namespaces/default/pods"


async def post(api: Api, path: str, body: dict[str, Any], **query: str) -> bytes:
    res = await api.front.serve_http("POST", path, query, orjson.dumps(body),
                                     {"content-type": "application/json"})
    assert res.code == 201, res.body
    return res.body


async def test_the_answer_is_the_stored_bytes_with_the_revision_and_equals_a_read() -> None:
    api = await make_api()
    body = await post(api, PODS, pod("web", {"app": "web"}))
    created = orjson.loads(body)
    rv = created["metadata"]["resourceVersion"]
    assert body.startswith(b'{"apiVersion":"v1","kind":"Pod","metadata":{"resourceVersion":"'
                           + rv.encode() + b'",')  # spliced in, not encoded again
    stored = (await api.store.get("pods.default.web")).value
    assert body.replace(b'"resourceVersion":"%s",' % rv.encode(), b"") == stored
    assert created == await api.ok("GET", f"{PODS}/web")


async def test_a_sealed_secret_is_answered_with_its_values(tmp_path: Path) -> None:
    key = base64.b64encode(b"k" * 32).decode()
    enc = tmp_path / "enc.yaml"
    enc.write_text(yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": [
            {"aesgcm": {"keys": [{"name": "k1", "secret": key}]}}, {"identity": {}}]}]}))
    api = await make_api(encryption_config=enc)
    value = base64.b64encode(b"s3cret").decode()
    body = await post(api, "/api/v1/namespaces/default/secrets",
                      {"metadata": {"name": "db"}, "data": {"password": value}})
    created = orjson.loads(body)
    assert created["data"] == {"password": value} and created["metadata"]["resourceVersion"]
    assert b"k8s:enc:aesgcm" in (await api.store.get("secrets.default.db")).value


async def test_a_dry_run_and_a_minimal_answer_are_as_before() -> None:
    api = await make_api()
    dry = orjson.loads(await post(api, PODS, pod("dry"), dryRun="All"))
    assert "resourceVersion" not in dry["metadata"] and dry["metadata"]["uid"]
    body, headers = await natsface.handle(
        api.front, "jetkube.api.admin.create.core.v1.pods",
        {"Jetkube-Namespace": "default", "Prefer": "return=minimal"}, orjson.dumps(pod("small")))
    assert headers["Jetkube-Code"] == "201"
    minimal = orjson.loads(body)
    assert set(minimal) == {"apiVersion", "kind", "metadata"}
    assert set(minimal["metadata"]) == set(IDENTITY_FIELDS)
