"""Fixtures of the bus-security tests: one secured nats-server per test module (``bus``),
its store made in account STORE by the API server's store identity (``store_client``:
the bucket and the node pod stream), and their mirrors in account BUS made by the API
server's face (``apiserver_client``), which is how ``ApiServer.run`` wires them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from nats.js import api
from securebus import BUCKET, Client, SecureBus, Store

from jetkube.services.machinery.apimachinery import APISERVER, APISERVER_STORE
from jetkube.services.machinery.store import NodePodStream, ensure_store_mirrors

HISTORY = 8


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
async def store_client(bus: SecureBus) -> Client:
    """A connection as kube-apiserver-store (account STORE), with the bucket and the node
    pod stream made (both idempotent: an earlier test of the module may have made them).
    The bucket serves direct gets too, so both get routes exist in STORE."""
    client = await bus.connect(APISERVER_STORE)
    await client.js.create_key_value(api.KeyValueConfig(bucket=BUCKET, history=HISTORY,
                                                        direct=True))
    await NodePodStream(client.nc).ensure()
    client.clean()
    return client


@pytest.fixture
async def apiserver_client(bus: SecureBus, store_client: Client) -> Client:
    """A connection as kube-apiserver (account BUS) that made the mirrors of the store's
    two streams readers watch (idempotent too)."""
    client = await bus.connect(APISERVER)
    await ensure_store_mirrors(client.nc, BUCKET, history=HISTORY)
    client.clean()
    return client


@pytest.fixture
def store(store_client: Client, apiserver_client: Client) -> Store:
    """Both sides of the store: write in STORE, see it in the BUS mirror."""
    return Store(writer=store_client, face=apiserver_client)
