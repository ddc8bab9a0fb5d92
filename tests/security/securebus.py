"""A real, secured nats-server for the bus-security tests, and clients that record denials.

:class:`SecureBus` renders a config with cli/natsconf.py (TLS from cli/pki.py, one nkey
per identity, allow-lists from cli/buspolicy.py, two accounts: ``STORE`` for
kube-apiserver-store alone, ``BUS`` for everyone else), starts nats-server on it
(JetStream on, loopback, a tmp dir) and connects clients as a component would:
``nkeys_seed``, ``inbox_prefix=_INBOX.<identity>``, ``tls=client_ssl_context(ca)``.
:class:`Store` is the store as the API server holds it: written in ``STORE``, read by
everyone through its mirrors in ``BUS``.

How nats-py (2.16) surfaces a denial, which the tests assert on:

- a refused PUB or SUB does not raise: the server answers ``-ERR 'Permissions Violation
  for Publish to "<subject>"'`` (``… for Subscription to "<subject>"``, plus ``using
  queue "<group>"`` for a queue subscription), keeps the connection open, and nats-py
  hands ``nats.errors.Error("nats: permissions violation for …")`` to the error
  callback, *lowercased* (subject included) by its protocol parser;
- so a refused request (``nc.request``, a JetStream API call, ``js.publish``,
  ``kv.put``/``get``/``delete``) ends in ``nats.errors.TimeoutError``: the message was
  dropped, nobody answers, and no "no responders" status comes back either;
- a refused connection raises from ``nats.connect``: ``nats.errors.Error("nats:
  'Authorization Violation'")`` (not ``AuthorizationError``: the connect path wraps the
  -ERR verbatim), or ``ssl.SSLCertVerificationError`` when the server's certificate does
  not chain to the client's CA.

Imported by bare name (tests/security is on sys.path: pytest's prepend import mode).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import KeyNotFoundError
from polling import until

from jetkube.cli import natsconf, pki
from jetkube.cli.buspolicy import CONTROL_PLANE_IDENTITIES, NODE_PODS_PREFIX, NODE_PODS_STREAM
from jetkube.services.machinery.apimachinery import inbox_prefix
from jetkube.services.machinery.store import free_port, nats_server_args, wait_for_port

BUCKET = "jetkube"
KV_STREAM = f"KV_{BUCKET}"
NODES = ("node:node-1", "node:node-2")
API_TIMEOUT = 1.0
"""How long a JetStream API call or request waits: a denied one times out after this."""


def pub_denied(subject: str) -> str:
    """nats-py's error for a refused publish (its parser lowercases the server's -ERR)."""
    return f'nats: permissions violation for publish to "{subject}"'.lower()


def sub_denied(subject: str, queue: str | None = None) -> str:
    """nats-py's error for a refused subscription."""
    text = f'nats: permissions violation for subscription to "{subject}"'
    if queue is not None:
        text += f' using queue "{queue}"'
    return text.lower()


@dataclass
class Client:
    """One connection as one identity, with what the server refused it."""

    identity: str
    nc: NATS
    errors: list[Exception] = field(default_factory=list)

    @property
    def js(self) -> JetStreamContext:
        return self.nc.jetstream(timeout=API_TIMEOUT)

    def error_texts(self) -> list[str]:
        return [str(e) for e in self.errors]

    async def refused(self, text: str) -> None:
        """Wait (bounded) for the server's refusal ``text`` (see :func:`pub_denied`)."""
        await until(lambda: text in self.error_texts(), timeout=3,
                    message=f"{self.identity}: expected the error {text!r}; errors seen: "
                            f"{self.error_texts()}")

    async def subscribe(self, subject: str, cb: Callable[[Any], Awaitable[None]] | None = None,
                        queue: str = "") -> Any:
        """Subscribe, and return once the server has seen the SUB (see :meth:`sync`)."""
        sub = await self.nc.subscribe(subject, queue=queue, cb=cb)
        await self.sync()
        return sub

    async def sync(self) -> None:
        """A round trip that follows everything sent so far.  ``nc.flush()`` alone is not:
        nats-py writes its PING straight to the socket while a SUB may still wait in the
        client's pending buffer for the flusher task, so the PONG can come back before the
        server has the subscription (requests then fail with NoRespondersError)."""
        await until(lambda: not self.nc._pending, timeout=3, message="nats-py flushed its buffer")
        await self.nc.flush(timeout=3)

    def clean(self) -> None:
        """Assert nothing was refused (the allowed counterpart really was allowed)."""
        assert self.errors == [], f"{self.identity} was refused: {self.error_texts()}"


@dataclass
class Store:
    """The store as the API server holds it: ``writer`` (kube-apiserver-store, the only user
    of account ``STORE``) writes the bucket and the node pod stream; ``face``
    (kube-apiserver, account ``BUS``) keeps their mirrors, which readers watch."""

    writer: Client
    face: Client

    async def put(self, key: str, value: bytes) -> int:
        """Write ``key`` in STORE and wait (bounded) until the mirror has it; its sequence."""
        seq: int = await (await self.writer.js.key_value(BUCKET)).put(key, value)
        await self.mirrored(seq)
        return seq

    async def publish_node_pods(self, node: str, event: bytes) -> int:
        """Publish ``event`` on ``node``'s pod stream in STORE; wait for its mirror."""
        seq: int = (await self.writer.js.publish(f"{NODE_PODS_PREFIX}.{node}.pods", event)).seq
        await self.mirrored(seq, NODE_PODS_STREAM)
        return seq

    async def mirror_last_seq(self, stream: str = KV_STREAM) -> int:
        """The last sequence of ``stream``'s mirror in BUS (STREAM.INFO by kube-apiserver)."""
        return int((await self.face.js.stream_info(stream)).state.last_seq)

    async def mirrored(self, seq: int, stream: str = KV_STREAM) -> None:
        """Wait (bounded) until ``stream``'s mirror in BUS has reached sequence ``seq``."""
        async def last() -> int:
            return await self.mirror_last_seq(stream)

        def reached(last_seq: int) -> bool:
            return last_seq >= seq

        await until(last, accept=reached, timeout=5,
                    message=f"{stream}'s mirror in BUS reached sequence {seq}")

    async def value(self, key: str) -> bytes | None:
        """``key``'s value read back in STORE by kube-apiserver-store; None: no such key."""
        try:
            entry = await (await self.writer.js.key_value(BUCKET)).get(key)
        except KeyNotFoundError:
            return None
        return entry.value

    async def nothing_written_since(self, seq: int, stream: str = KV_STREAM) -> None:
        """Nothing entered ``stream`` (the bucket's or the node pods') or its mirror after
        sequence ``seq``: a write made now in STORE is the very next sequence, and the
        mirror's last is that write."""
        if stream == KV_STREAM:
            after = await self.put(f"barriers.default.b{os.urandom(4).hex()}", b"after")
        else:
            after = await self.publish_node_pods("barrier", b"after")
        assert after == seq + 1, f"{after - seq - 1} unexpected message(s) in STORE's {stream}"
        assert await self.mirror_last_seq(stream) == after, f"{stream}'s mirror took more"


class SecureBus:
    """nats-server from a rendered config in ``root``; :meth:`stop` kills it."""

    def __init__(self, root: Path, identities: Iterable[str] = (*CONTROL_PLANE_IDENTITIES, *NODES)):
        self.root = root
        self.creds = root / "creds"
        self.pki = root / "pki"
        self.conf = root / "nats.conf"
        self.ca = pki.ensure_ca(self.pki).cert
        self.tls = pki.ensure_serving_cert(self.pki, "nats", ["127.0.0.1"])
        self.port, self.monitor_port = free_port(), free_port()
        self.identities = list(identities)
        self.write_conf()
        self.log = root / "nats.log"
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(nats_server_args(root, self.port, config=self.conf),
                                         stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port("127.0.0.1", self.port)
        except TimeoutError:
            self.stop()
            raise
        self.url = f"nats://127.0.0.1:{self.port}"
        self._clients: list[Client] = []

    def seed(self, identity: str) -> Path:
        return natsconf.ensure_identity(self.creds, identity)

    def write_conf(self) -> str:
        users = {i: natsconf.public_key(self.seed(i)) for i in self.identities}
        text = natsconf.render_nats_conf(
            host="127.0.0.1", port=self.port, monitor_port=self.monitor_port,
            store_dir=self.root / "js", server_name="jetkube-test", bucket=BUCKET, users=users,
            tls=self.tls)
        natsconf.write_nats_conf(self.conf, text)
        return text

    async def connect(self, identity: str, **kwargs: Any) -> Client:
        """Connect as ``identity`` like a component does (seed, inbox prefix, the CA)."""
        errors: list[Exception] = []

        async def on_error(e: Exception) -> None:
            errors.append(e)

        opts: dict[str, Any] = {"nkeys_seed": str(self.seed(identity)),
                                "inbox_prefix": inbox_prefix(identity),
                                "tls": pki.client_ssl_context(self.ca),
                                "allow_reconnect": False, "connect_timeout": 3}
        opts.update(kwargs)
        nc = await nats.connect(self.url, error_cb=on_error, **opts)
        client = Client(identity, nc, errors)
        self._clients.append(client)
        return client

    async def close_clients(self) -> None:
        for c in self._clients:
            with contextlib.suppress(Exception):
                await c.nc.close()
        self._clients.clear()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
