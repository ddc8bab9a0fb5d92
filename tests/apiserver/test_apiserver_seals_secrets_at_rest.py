"""Secrets sealed at rest: the store holds no Secret value (neither the text nor its
base64), every API read gives the values back, keys rotate as Kubernetes' do, and a
sealed value moved to another key or read without its key does not open."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml
from apiharness import Api, make_api

from jetkube.services.apiserver.encryption import ENVELOPE, Encryption, EncryptionConfigError
from jetkube.services.machinery.store import MemoryStore

NS = "/api/v1/namespaces/default"
SECRET_TEXT = "hunter2-do-not-store-me"


def config(path: Path, *keys: str, identity_first: bool = False) -> Path:
    providers: list[dict[str, Any]] = [{"aesgcm": {"keys": [
        {"name": k, "secret": base64.b64encode(k.encode().ljust(32, b"!")).decode()}
        for k in keys]}}]
    providers = [{"identity": {}}, *providers] if identity_first else [*providers, {"identity": {}}]
    path.write_text(yaml.safe_dump({
        "apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration",
        "resources": [{"resources": ["secrets"], "providers": providers}]}))
    return path


def secret(name: str = "db", **extra: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "data": {"password": base64.b64encode(SECRET_TEXT.encode()).decode()}, **extra}


async def raw(api: Api, key: str) -> bytes:
    return (await api.store.get(key)).value


def plain_in(blob: bytes) -> bool:
    b64 = base64.b64encode(SECRET_TEXT.encode())
    return SECRET_TEXT.encode() in blob or b64 in blob


async def test_the_store_holds_no_value_and_every_read_gives_it_back(tmp_path: Path) -> None:
    plain = await make_api()  # no configuration: stored as is (shows what the check looks for)
    await plain.ok("POST", f"{NS}/secrets", secret())
    assert plain_in(await raw(plain, "secrets.default.db"))

    api = await make_api(encryption_config=config(tmp_path / "enc.yaml", "key1"))
    created = await api.ok("POST", f"{NS}/secrets", secret(stringData={"token": SECRET_TEXT}))
    assert base64.b64decode(created["data"]["token"]).decode() == SECRET_TEXT  # stringData merged
    stored = await raw(api, "secrets.default.db")
    assert not plain_in(stored) and b"k8s:enc:aesgcm:v1:key1:" in stored
    assert b'"name":"db"' in stored  # metadata stays readable for the GC and namespace controllers
    got = await api.ok("GET", f"{NS}/secrets/db")
    assert base64.b64decode(got["data"]["password"]).decode() == SECRET_TEXT
    assert ENVELOPE not in got
    await api.cache.wait_fresh()
    listed = await api.ok("GET", f"{NS}/secrets")
    assert listed["items"][0]["data"] == got["data"]


async def test_update_and_patch_stay_sealed(tmp_path: Path) -> None:
    api = await make_api(encryption_config=config(tmp_path / "enc.yaml", "key1"))
    await api.ok("POST", f"{NS}/secrets", secret())
    await api.ok("PATCH", f"{NS}/secrets/db", {"metadata": {"labels": {"a": "b"}}},
                 content_type="application/merge-patch+json")
    assert not plain_in(await raw(api, "secrets.default.db"))
    got = await api.ok("GET", f"{NS}/secrets/db")
    got["data"]["other"] = base64.b64encode(SECRET_TEXT.encode()).decode()
    await api.ok("PUT", f"{NS}/secrets/db", got)
    assert not plain_in(await raw(api, "secrets.default.db"))
    assert (await api.ok("GET", f"{NS}/secrets/db"))["metadata"]["labels"] == {"a": "b"}


async def test_configmaps_are_not_sealed(tmp_path: Path) -> None:
    api = await make_api(encryption_config=config(tmp_path / "enc.yaml", "key1"))
    await api.ok("POST", f"{NS}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                              "metadata": {"name": "c"},
                                              "data": {"k": SECRET_TEXT}})
    assert plain_in(await raw(api, "configmaps.default.c"))


async def test_rotation_reads_old_keys_writes_the_first_and_fails_without_the_key(
        tmp_path: Path) -> None:
    store = MemoryStore()
    one = await make_api(store, encryption_config=config(tmp_path / "1.yaml", "key1"))
    await one.ok("POST", f"{NS}/secrets", secret("old"))
    both = await make_api(store, encryption_config=config(tmp_path / "2.yaml", "key2", "key1"))
    assert (await both.ok("GET", f"{NS}/secrets/old"))["data"]  # key1 still opens it
    await both.ok("POST", f"{NS}/secrets", secret("new"))
    assert b"k8s:enc:aesgcm:v1:key2:" in await raw(both, "secrets.default.new")
    only2 = await make_api(store, encryption_config=config(tmp_path / "3.yaml", "key2"))
    code, st = await only2.call("GET", f"{NS}/secrets/old")
    assert code == 500 and "key1" in st["message"]
    assert (await only2.ok("GET", f"{NS}/secrets/new"))["data"]


async def test_identity_first_stops_sealing_new_writes_but_still_opens(tmp_path: Path) -> None:
    store = MemoryStore()
    one = await make_api(store, encryption_config=config(tmp_path / "1.yaml", "key1"))
    await one.ok("POST", f"{NS}/secrets", secret("old"))
    off = await make_api(store, encryption_config=config(tmp_path / "2.yaml", "key1",
                                                          identity_first=True))
    await off.ok("POST", f"{NS}/secrets", secret("new"))
    assert plain_in(await raw(off, "secrets.default.new"))
    assert (await off.ok("GET", f"{NS}/secrets/old"))["data"]


def test_a_sealed_value_does_not_open_under_another_key(tmp_path: Path) -> None:
    enc = Encryption.from_file(config(tmp_path / "enc.yaml", "key1"))
    sealed = enc.seal("secrets", "secrets.default.a", secret("a"))
    assert enc.open("secrets", "secrets.default.a", sealed)["data"] == secret("a")["data"]
    with pytest.raises(Exception, match="does not open"):
        enc.open("secrets", "secrets.default.b", sealed)


@pytest.mark.parametrize(("doc", "why"), [
    ({"kind": "Nope"}, "kind must be EncryptionConfiguration"),
    ({"kind": "EncryptionConfiguration", "resources": [{"resources": ["secrets"], "providers": [
        {"aesgcm": {"keys": [{"name": "k", "secret": base64.b64encode(b"short").decode()}]}}]}]},
     "16, 24 or 32 bytes"),
    ({"kind": "EncryptionConfiguration", "resources": [{"resources": ["secrets"], "providers": [
        {"kms": {}}]}]}, "only aesgcm and identity"),
])
def test_a_bad_configuration_is_refused_with_the_reason(doc: dict[str, Any], why: str) -> None:
    with pytest.raises(EncryptionConfigError, match=why):
        Encryption.from_config(doc)
