"""Who may connect at all: only a known nkey over TLS that chains to the cluster CA.
Each refusal is set beside the same connection made properly, which succeeds."""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from pathlib import Path

import nats
import nkeys  # type: ignore[import-untyped]
import pytest
from securebus import SecureBus

from jetkube.cli import natsconf, pki
from jetkube.services.machinery.apimachinery import SCHEDULER

pytestmark = pytest.mark.integration

AUTHORIZATION_VIOLATION = "nats: 'Authorization Violation'"


async def test_a_known_identity_connects(bus: SecureBus) -> None:
    client = await bus.connect(SCHEDULER)
    assert client.nc.is_connected
    assert client.nc._server_info["tls_required"] is True  # what the server demands
    await client.nc.flush(timeout=2)
    client.clean()


async def test_a_client_without_an_nkey_is_refused(bus: SecureBus) -> None:
    await bus.connect(SCHEDULER)  # the same server, TLS and CA admit a known nkey
    with pytest.raises(nats.errors.Error) as refused:
        await nats.connect(bus.url, tls=pki.client_ssl_context(bus.ca), allow_reconnect=False,
                           connect_timeout=3)
    assert type(refused.value) is nats.errors.Error
    assert str(refused.value) == AUTHORIZATION_VIOLATION


async def test_an_nkey_the_server_does_not_know_is_refused(bus: SecureBus, tmp_path: Path) -> None:
    stranger = natsconf.ensure_identity(tmp_path, SCHEDULER)  # a fresh key, same name
    assert natsconf.public_key(stranger) != natsconf.public_key(bus.seed(SCHEDULER))
    with pytest.raises(nats.errors.Error) as refused:
        await nats.connect(bus.url, nkeys_seed=str(stranger), inbox_prefix="_INBOX.kube-scheduler",
                           tls=pki.client_ssl_context(bus.ca), allow_reconnect=False,
                           connect_timeout=3)
    assert str(refused.value) == AUTHORIZATION_VIOLATION


@pytest.mark.parametrize("trust", ["another CA", "the system CAs"])
async def test_a_client_that_does_not_trust_the_cluster_ca_cannot_connect(
        bus: SecureBus, tmp_path: Path, trust: str) -> None:
    await bus.connect(SCHEDULER)  # the same seed with the cluster CA connects
    opts = {"tls": pki.client_ssl_context(pki.ensure_ca(tmp_path).cert)} if trust == "another CA" else {}
    # without tls=, nats-py upgrades with ssl.create_default_context(): the system's CAs
    with pytest.raises(ssl.SSLCertVerificationError) as refused:
        await nats.connect(bus.url, nkeys_seed=str(bus.seed(SCHEDULER)),
                           inbox_prefix="_INBOX.kube-scheduler", allow_reconnect=False,
                           connect_timeout=3, **opts)
    assert refused.value.verify_message == "unable to get local issuer certificate"


async def test_a_plaintext_connect_is_refused_even_with_a_valid_signature(bus: SecureBus) -> None:
    """nats-py always upgrades when the server asks, so speak the protocol by hand: read
    INFO, answer with a properly signed CONNECT in the clear, PING.  No PONG ever comes:
    the server reads the CONNECT as a failed TLS handshake and hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", bus.port)
    try:
        line = await asyncio.wait_for(reader.readline(), 3)
        assert line.startswith(b"INFO ")
        info = json.loads(line[5:])
        assert info["tls_required"] is True
        kp = nkeys.from_seed(bytearray(bus.seed(SCHEDULER).read_bytes().strip()))
        sig = base64.urlsafe_b64encode(kp.sign(info["nonce"].encode())).rstrip(b"=").decode()
        connect = {"verbose": False, "pedantic": False, "nkey": kp.public_key.decode(), "sig": sig,
                   "protocol": 1, "headers": True}
        writer.write(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        await writer.drain()
        rest = await asyncio.wait_for(reader.read(), 5)  # until the server closes
    finally:
        writer.close()
    assert b"PONG" not in rest and b"+OK" not in rest
    assert reader.at_eof()
