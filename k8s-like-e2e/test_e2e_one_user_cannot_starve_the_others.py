"""Per-user fairness on a `kctl up` cluster: alice floods the API server with big YAML
creates (each held in flight while it is decoded); past her 2 slots and 2 queue places she
gets 429 TooManyRequests with ``Retry-After: 1``, never a 5xx, and exactly her 201s are
stored, while bob, with the official client, is served throughout.  The API server runs
with ``--max-user-requests-inflight 2 --max-user-requests-queued 2`` (through
``JETKUBE_APISERVER_ARGS``) so a flood of 32 is enough."""

from __future__ import annotations

import asyncio
import os
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cluster_e2e import BIN, kctl_up

from jetkube.services.machinery.store import free_port

pytestmark = pytest.mark.e2e

FLOOD = 32
RBAC = "rbac.authorization.k8s.io"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Any]]:
    """(API URL, the cluster CA's file, kubernetes.client) of a private cluster whose token
    file also names alice and bob, both allowed to create and list ConfigMaps in namespace ``flood``."""
    from kubernetes import client, config

    data_dir = tmp_path_factory.mktemp("e2e-fair") / "jetkube"
    data_dir.mkdir(parents=True)
    fd = os.open(data_dir / "tokens.csv", os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("alice-e2e-token,alice,alice\nbob-e2e-token,bob,bob\n")
    port = free_port()
    kctl_up(data_dir, port, free_port(), env={
        "JETKUBE_APISERVER_ARGS": "--max-user-requests-inflight 2 --max-user-requests-queued 2"})
    try:
        admin = config.new_client_from_config(config_file=str(data_dir / "kubeconfig"))
        core, rbac = client.CoreV1Api(admin), client.RbacAuthorizationV1Api(admin)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="flood")))
        rbac.create_namespaced_role("flood", client.V1Role(
            metadata=client.V1ObjectMeta(name="cm-writer"),
            rules=[client.V1PolicyRule(api_groups=[""], resources=["configmaps"],
                                       verbs=["create", "list", "get"])]))
        rbac.create_namespaced_role_binding("flood", client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="cm-writers"),
            role_ref=client.V1RoleRef(api_group=RBAC, kind="Role", name="cm-writer"),
            subjects=[client.RbacV1Subject(kind="User", name=n, api_group=RBAC)
                      for n in ("alice", "bob")]))
        admin.close()
        yield f"https://127.0.0.1:{port}", data_dir / "pki" / "ca.crt", client
    finally:
        subprocess.run([str(BIN / "kctl"), "down", "--data-dir", str(data_dir)],
                       capture_output=True, timeout=60)


def big_yaml(name: str) -> bytes:
    """A ConfigMap of 6,000 keys as YAML (~200 KB): decoded off the event loop, it holds
    its request's slot for tens of milliseconds."""
    lines = [f"  k{i:05d}: value-{i:05d}-{'x' * 16}" for i in range(6000)]
    return ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\ndata:\n"
            + "\n".join(lines) + "\n").encode()


async def flood(url: str, ca: ssl.SSLContext) -> list[tuple[int, str | None, dict[str, Any]]]:
    headers = {"Authorization": "Bearer alice-e2e-token", "Content-Type": "application/yaml"}
    bodies = [big_yaml(f"alice-{i:02d}") for i in range(FLOOD)]
    async with aiohttp.ClientSession(headers=headers,
                                     connector=aiohttp.TCPConnector(ssl=ca)) as s:
        async def one(body: bytes) -> tuple[int, str | None, dict[str, Any]]:
            async with s.post(f"{url}/api/v1/namespaces/flood/configmaps", data=body) as r:
                return r.status, r.headers.get("Retry-After"), await r.json(content_type=None)
        return await asyncio.gather(*(one(b) for b in bodies))


def test_alice_floods_and_gets_429s_while_bob_is_served(
        cluster: tuple[str, Path, Any]) -> None:
    url, ca_file, client = cluster
    cfg = client.Configuration(host=url)
    cfg.ssl_ca_cert = str(ca_file)  # the server's certificate is checked
    ca = ssl.create_default_context(cafile=str(ca_file))
    cfg.api_key = {"BearerToken": "Bearer bob-e2e-token"}
    bob = client.CoreV1Api(client.ApiClient(cfg))

    async def both() -> tuple[list[tuple[int, str | None, dict[str, Any]]], list[int]]:
        bob_codes: list[int] = []
        alice = asyncio.create_task(flood(url, ca))
        while not alice.done():  # bob reads and writes the whole time alice floods
            def bob_once(i: int = len(bob_codes)) -> None:
                bob.list_namespaced_config_map("flood", limit=1)
                bob.create_namespaced_config_map("flood", client.V1ConfigMap(
                    metadata=client.V1ObjectMeta(name=f"bob-{i}"), data={"k": "v"}))
            await asyncio.to_thread(bob_once)
            bob_codes.append(200)
        return await alice, bob_codes

    answers, bob_codes = asyncio.run(both())
    codes = [code for code, _, _ in answers]
    assert set(codes) <= {201, 429}, codes  # never a 5xx
    assert 201 in codes and 429 in codes, codes
    for code, retry_after, status in answers:
        if code == 429:
            assert retry_after == "1", status
            assert status["reason"] == "TooManyRequests", status
            assert status["details"]["retryAfterSeconds"] == 1, status
    assert bob_codes, "bob was served while alice flooded (any refusal raised ApiException)"
    stored = bob.list_namespaced_config_map("flood").items
    alices = {cm.metadata.name for cm in stored if cm.metadata.name.startswith("alice-")}
    assert len(alices) == codes.count(201), "exactly alice's 201s are stored"
    assert len([cm for cm in stored if cm.metadata.name.startswith("bob-")]) == len(bob_codes)
