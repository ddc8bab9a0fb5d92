"""The service-account controller gives every namespace a ``default`` ServiceAccount, and
gives it back when it is deleted; the root-CA publisher gives every namespace the
``kube-root-ca.crt`` ConfigMap with the cluster CA and puts its data back when edited;
neither writes into a terminating namespace."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ctrlharness import Env
from polling import until

from jetkube.services.controllers.context import ControllerContext, ControllerManagerOptions
from jetkube.services.controllers.rootcacert import CONFIGMAP, RootCACertPublisher
from jetkube.services.controllers.rootcacert import build as build_publisher
from jetkube.services.controllers.serviceaccount import ServiceAccountsController

CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


async def uid_of(env: Env, path: str) -> str | None:
    code, obj = await env.api.call("GET", path)
    return str(obj["metadata"]["uid"]) if code == 200 else None


async def test_every_namespace_gets_a_default_account_again_after_a_delete(env: Env) -> None:
    ctl = ServiceAccountsController(ControllerContext(env.rt, ControllerManagerOptions()))
    await env.start(ctl.controller)
    await env.api.ok("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    for ns in ("default", "kube-system", "team-a"):
        await env.until(lambda ns=ns: uid_of(env, f"/api/v1/namespaces/{ns}/serviceaccounts/"
                                                  "default"), message=f"{ns}/default")
    path = "/api/v1/namespaces/team-a/serviceaccounts/default"
    first = await uid_of(env, path)
    await env.api.ok("DELETE", path)
    await env.until(lambda: _differs(env, path, first), message="default recreated")


async def _differs(env: Env, path: str, uid: str | None) -> bool:
    now = await uid_of(env, path)
    return now is not None and now != uid


async def test_the_root_ca_is_published_and_kept_in_every_namespace(env: Env,
                                                                     tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text(CA)
    opts = dataclasses.replace(ControllerManagerOptions(), root_ca_file=ca)
    await env.start(build_publisher(ControllerContext(env.rt, opts)))
    path = f"/api/v1/namespaces/default/configmaps/{CONFIGMAP}"

    async def data() -> object:
        code, cm = await env.api.call("GET", path)
        return cm.get("data") if code == 200 else None

    await until(data, accept=lambda d: d == {"ca.crt": CA}, message="published")
    cm = await env.api.ok("GET", path)
    assert cm["metadata"]["annotations"]["kubernetes.io/description"].startswith(
        "Contains a CA bundle")
    await env.api.ok("PUT", path, {**cm, "data": {"ca.crt": "tampered"}})
    await until(data, accept=lambda d: d == {"ca.crt": CA}, message="put back")
    await env.api.ok("DELETE", path)
    await until(data, accept=lambda d: d == {"ca.crt": CA}, message="recreated")


async def test_a_terminating_namespace_gets_nothing(env: Env) -> None:
    ctx = ControllerContext(env.rt, ControllerManagerOptions())
    accounts = ServiceAccountsController(ctx)
    publisher = RootCACertPublisher(ctx, CA)
    await env.api.ok("POST", "/api/v1/namespaces", {
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "going"}})
    await env.api.ok("DELETE", "/api/v1/namespaces/going")
    await env.start(accounts.controller)
    await env.start(publisher.controller)
    await env.until(lambda: uid_of(env, "/api/v1/namespaces/default/serviceaccounts/default"),
                    message="the controllers ran")
    await accounts.reconcile("going")
    await publisher.reconcile("going")
    assert await env.objects("/api/v1/namespaces/going/serviceaccounts") == []
    assert await env.objects("/api/v1/namespaces/going/configmaps") == []
