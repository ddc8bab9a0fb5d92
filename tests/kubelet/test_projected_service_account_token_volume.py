"""The node agent's projected ServiceAccount volume: ``token`` (asked of the API server,
bound to the pod), ``ca.crt`` from kube-root-ca.crt and ``namespace``; the token is kept
until 80% of its lifetime and then written again with a new one, by the pod's refresh task;
a token the API server refuses leaves the pod waiting (ConfigError)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import orjson
import pytest
from ctrlharness import Env
from polling import until

from jetkube.services.apiserver.serviceaccounts import token_volume
from jetkube.services.kubelet.envvars import ConfigError
from jetkube.services.kubelet.objects import ObjectSource
from jetkube.services.kubelet.volumes import PodVolumes

NS = "/api/v1/namespaces/default"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def claims(token: bytes) -> dict[str, Any]:
    body = token.split(b".")[1]
    out: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    return out


def names_below(root: Path) -> set[str]:
    return {p.name for p in root.rglob("*")}


async def setup(env: Env, *, account: bool = True) -> dict[str, Any]:
    if account:
        await env.api.ok("POST", f"{NS}/serviceaccounts", {
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})
    await env.api.ok("POST", f"{NS}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"},
        "data": {"ca.crt": CA}})
    pod: dict[str, Any] = await env.api.ok("POST", f"{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"serviceAccountName": "default", "volumes": [token_volume("kube-api-access-x")],
                 "containers": [{"name": "c", "image": "i"}]}})
    return pod


async def prepare(vols: PodVolumes) -> Path:
    await vols.prepare(pod_ip="", host_ip="", allocatable={}, used=set())
    return Path(vols.paths["kube-api-access-x"])


async def test_token_ca_and_namespace_are_written_and_the_token_refreshed(
        env: Env, tmp_path: Path) -> None:
    import time

    pod = await setup(env)
    vols = PodVolumes(tmp_path, pod, ObjectSource(env.client, env.rt.informers.informer("services")))
    clock = Clock(time.time())
    vols.tokens.clock = clock
    try:
        d = await prepare(vols)
        assert sorted(p.name for p in d.iterdir()) == ["ca.crt", "namespace", "token"]
        assert (d / "ca.crt").read_text() == CA
        assert (d / "namespace").read_text() == "default"
        first = (d / "token").read_bytes()
        c = claims(first)
        assert c["kubernetes.io"]["pod"] == {"name": "p", "uid": pod["metadata"]["uid"]}
        assert c["exp"] - c["iat"] == 3607
        refresh = vols.tokens.next_refresh()
        assert refresh is not None and refresh == pytest.approx(clock.now + 0.8 * 3607, abs=2)

        await prepare(vols)  # before the refresh time: the same token
        assert (d / "token").read_bytes() == first

        clock.now = refresh + 1  # the refresh task's time has come
        vols._schedule_refresh(vols.tokens.next_refresh())
        await until(lambda: (d / "token").read_bytes() != first, message="token refreshed")
        assert claims((d / "token").read_bytes())["jti"] != c["jti"]
    finally:
        vols.remove()


async def test_a_refused_token_leaves_the_pod_waiting(env: Env, tmp_path: Path) -> None:
    pod = await setup(env, account=False)
    vols = PodVolumes(tmp_path, pod, ObjectSource(env.client, env.rt.informers.informer("services")))
    with pytest.raises(ConfigError, match='failed to fetch token: serviceaccounts "default"'):
        await prepare(vols)
    vols.remove()


async def test_an_answer_without_a_token_leaves_the_pod_waiting(env: Env, tmp_path: Path) -> None:
    pod = await setup(env)
    vols = PodVolumes(tmp_path, pod, ObjectSource(env.client, env.rt.informers.informer("services")))

    async def tokenless(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "metadata": {"name": "default"}}  # what a cut batch answer would hold

    vols.tokens.api.create_subresource = tokenless  # type: ignore[method-assign]
    with pytest.raises(ConfigError, match="the answer carried no token"):
        await prepare(vols)
    assert "token" not in names_below(tmp_path)  # nothing written
    vols.remove()
