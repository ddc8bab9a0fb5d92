"""Fixtures of the bus-security tests: one secured nats-server per test module (``bus``)
and its KV bucket / node pod stream made by the API server's identity."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from nats.js import api
from securebus import BUCKET, Client, SecureBus

from jetkube.cli.buspolicy import NODE_PODS_PREFIX, NODE_PODS_STREAM
from jetkube.services.machinery.apimachinery import APISERVER


@pytest.fixture(scope="module")
def secure_bus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureBus]:
    """A secured nats-server (TLS, nkeys, allow-lists) for the module; killed after."""
    bus = SecureBus(tmp_path_factory.mktemp("securebus"))
    yield bus
    bus.stop()


@pytest.fixture
async def bus(secure_bus: SecureBus) -> AsyncIterator[SecureBus]:
    """The module's server; the test's clients are closed after it."""
    yield secure_bus
    await secure_bus.close_clients()


@pytest.fixture
async def apiserver_client(bus: SecureBus) -> Client:
    """A connection as kube-apiserver, with the bucket and the node pod stream made (both
    calls are idempotent: an earlier test of the module may have made them).  The bucket
    serves direct gets too, so both get routes exist for the tests that deny them."""
    client = await bus.connect(APISERVER)
    await client.js.create_key_value(api.KeyValueConfig(bucket=BUCKET, history=8, direct=True))
    await client.js.add_stream(api.StreamConfig(name=NODE_PODS_STREAM,
                                                subjects=[f"{NODE_PODS_PREFIX}.*.pods"]))
    client.clean()
    return client
