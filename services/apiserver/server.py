"""Assembles one API server: store, watch cache, admission, auth, both faces."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn

from ..machinery.apimachinery import APISERVER, APISERVER_STORE, apierrors
from ..machinery.runtime import Settings
from ..machinery.service import publish_spans
from ..machinery.store import (
    NODE_PODS_STREAM,
    MirrorDoctor,
    NatsStore,
    NodePodStream,
    Store,
    connect,
    ensure_store_mirrors,
    ensure_trace_stream,
)
from . import natsface
from .admission import Admission, AdmissionConfig
from .auth import Authenticator, Authorizer, load_tokens
from .bootstrap import ensure_defaults
from .encryption import Encryption
from .front import Front
from .handlers import Handlers
from .http import HttpApp
from .http1 import Http1
from .inflight import InflightLimiter, InflightLimits
from .kubernetes_service import KubernetesService
from .nodeauthorizer import NodeAuthorizer
from .podproxy import use_connection
from .subresources import subresource_table
from .tokens import (
    DEFAULT_ISSUER,
    ServiceAccountTokens,
    TokenIssuer,
    generate_signing_key,
    load_public_keys,
)
from .watchcache import RING_BYTES, WatchCache

log = logging.getLogger(__name__)

MAX_WS_MESSAGE = 4 * 1024 * 1024
SHUTDOWN_GRACE_SECONDS = 3
"""How long a stopping API server lets open HTTP connections finish (uvicorn's
``timeout_graceful_shutdown``); then it closes them, so ``kctl down`` never has to kill it."""
"""The largest WebSocket message a stream client may send (kubectl sends at most 32 KiB)."""


@dataclass
class ServerConfig:
    """One API server's flags (``jetkube-apiserver --help``)."""

    nats_url: str = "nats://127.0.0.1:4222"
    """The NATS servers holding the store (and serving the NATS face); comma-separated."""
    nats_creds: Path | None = None
    """The kube-apiserver identity's nkey seed file (``DIR/creds/kube-apiserver.nk``); None:
    ``$JETKUBE_NATS_CREDS_FILE``, else connect without credentials (with a warning)."""
    nats_store_creds: Path | None = None
    """The kube-apiserver-store identity's seed (``DIR/creds/kube-apiserver-store.nk``): on
    a secured bus the store is a NATS account of its own, written through this second
    connection, and mirrored into the bus's account for readers.  None:
    ``$JETKUBE_NATS_STORE_CREDS_FILE``, else one connection does both (an open bus)."""
    nats_ca: Path | None = None
    """The cluster CA the NATS servers' TLS certificates chain to; None:
    ``$JETKUBE_NATS_CA_FILE``, else plain TCP."""
    bind: str = "127.0.0.1"
    """The address the HTTP face listens on."""
    port: int = 6443
    """The HTTP face's port (shared by several API servers through SO_REUSEPORT)."""
    tls_cert_file: Path | None = None
    """The serving certificate (PEM, chain to the cluster CA) of the HTTPS face
    (kube-apiserver's ``--tls-cert-file``); None: plain HTTP."""
    tls_key_file: Path | None = None
    """Its private key (``--tls-private-key-file``)."""
    bucket: str = "jetkube"
    """The JetStream key-value bucket that holds the cluster's objects."""
    kv_history: int = 8
    """Revisions the bucket keeps per key (applied when the bucket is created)."""
    kv_replicas: int = 1
    """Replicas of the bucket and of every stream (3 on a 3-node NATS cluster); an existing
    stream's replicas are raised to this, never lowered."""
    token_file: Path | None = None
    """Static bearer tokens (kube-apiserver's ``--token-auth-file``); None: no authentication."""
    admission: AdmissionConfig = field(default_factory=AdmissionConfig)
    """Service IP and node-port ranges and the default not-ready/unreachable toleration."""
    watch_history: int = 50_000
    """Events the watch cache keeps for watches that resume from a resourceVersion."""
    watch_cache_bytes: int = RING_BYTES
    """At most this many bytes of objects in those events (older events go, and a watch
    from before them is 410 Gone); 16 MiB by default (watchcache.RING_BYTES)."""
    watch_cache_on_demand: frozenset[str] = frozenset()
    """Resources the watch cache holds only while a client watches them
    (``--watch-cache-on-demand``, ondemand.py): lists of them read the store, and the
    process pays their memory and decoding only while they are watched.  For the second
    and later API servers of a machine, which then share its load without each paying a
    whole cache."""
    bookmark_interval: float = 30.0
    """Seconds between BOOKMARK events on an HTTP watch that asked for bookmarks."""
    nats_face: bool = True
    """Serve the API over NATS request/reply too (the other services write that way)."""
    encryption_config: Path | None = None
    """An EncryptionConfiguration (``--encryption-provider-config``): which resources are
    sealed at rest and with which keys (encryption.py); None: stored as they are."""
    inflight: InflightLimits = field(default_factory=InflightLimits)
    """Requests in flight per user and in total, and the queue of each user (inflight.py)."""
    advertise_address: str | None = None
    """The address this API server publishes in the ``kubernetes`` Endpoints
    (``--advertise-address``): one that pods reach; None: ``bind``.  The HTTP face listens
    on it too when ``bind`` does not cover it."""
    service_account_signing_key_file: Path | None = None
    """The EC P-256 private key (PEM) that signs ServiceAccount tokens, the same for every
    API server (``--service-account-signing-key-file``); None: a key of this process only."""
    service_account_key_files: tuple[Path, ...] = ()
    """More public keys that verify tokens (``--service-account-key-file``), e.g. the
    previous signing key while tokens it signed are still in use."""
    service_account_issuer: str = DEFAULT_ISSUER
    """The ``iss`` of the tokens (``--service-account-issuer``)."""
    api_audiences: tuple[str, ...] = ()
    """Audiences the API accepts in a token (``--api-audiences``); none: the issuer."""
    event_ttl: float = 3600.0
    """Seconds an Event is kept after its last write (kube-apiserver's ``--event-ttl``, 1 h):
    it is written with that TTL and the store expires it, no scan; also the bucket's delete
    marker TTL (how long watchers can still see an expiry, the shortest TTL written)."""


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening socket with SO_REUSEPORT, so several API servers can share one port
    (the kernel spreads connections over them) the way kube-apiservers sit behind one
    address."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class ApiServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()

    async def build(self, store: Store, node_stream: NodePodStream | None) -> Front:
        cfg = self.config
        encryption = (Encryption.from_file(cfg.encryption_config) if cfg.encryption_config
                      else Encryption())
        self.cache = WatchCache(store, cfg.watch_history, encryption,
                                max_bytes=cfg.watch_cache_bytes,
                                on_demand=cfg.watch_cache_on_demand)
        # these follow every pod event, the cache's first snapshot too (ondemand.py)
        node_authz = NodeAuthorizer(self.cache)
        self.token_issuer = self._token_issuer()
        sa_tokens = ServiceAccountTokens(self.token_issuer, self.cache)
        await self.cache.start()
        authz = Authorizer(self.cache)
        admission = Admission(store, self.cache, cfg.admission, node_stream, authz,
                              node_graph=node_authz)
        self.handlers = Handlers(store, self.cache, admission,
                                 subresource_table(self.token_issuer), encryption,
                                 ttls={"events": cfg.event_ttl})
        tokens = load_tokens(cfg.token_file) if cfg.token_file else None
        authn = Authenticator(tokens, sa_tokens)
        self.front = Front(self.handlers, authn, authz,
                           f"{cfg.bind}:{cfg.port}", node_authz, InflightLimiter(cfg.inflight))
        first_ip = str(ipaddress.IPv4Network(cfg.admission.service_cidr).network_address + 1)
        await ensure_defaults(self.handlers)
        self.kubernetes_service = KubernetesService(
            self.handlers, self.cache, cluster_ip=first_ip, port=cfg.port,
            address=cfg.advertise_address or cfg.bind)
        try:
            await self.kubernetes_service.ensure_service()
        except apierrors.ApiError as err:  # the address is taken: run() tries again
            log.warning("cannot create the kubernetes service: %s", err)
        self.front.ready = True
        return self.front

    def _token_issuer(self) -> TokenIssuer:
        cfg = self.config
        key = (cfg.service_account_signing_key_file.read_bytes()
               if cfg.service_account_signing_key_file else generate_signing_key())
        if cfg.service_account_signing_key_file is None:
            log.warning("no --service-account-signing-key-file: ServiceAccount tokens are "
                        "signed with a key of this process only")
        verify = [k for path in cfg.service_account_key_files for k in load_public_keys(path)]
        return TokenIssuer(key, issuer=cfg.service_account_issuer,
                           audiences=cfg.api_audiences, verify_keys=verify)

    def _sockets(self) -> list[socket.socket]:
        """The bind address's socket, and the advertised address's when bind does not
        cover it (pods reach the API there); one that is not local is only logged."""
        cfg = self.config
        socks = [listen_socket(cfg.bind, cfg.port)]
        extra = cfg.advertise_address
        if extra and extra != cfg.bind and cfg.bind not in ("0.0.0.0", ""):
            try:
                socks.append(listen_socket(extra, cfg.port))
            except OSError as err:
                log.warning("cannot listen on the advertised address %s:%d: %s", extra,
                            cfg.port, err)
        return socks

    async def run(self) -> None:
        cfg = self.config
        settings = Settings.from_env()
        creds = str(cfg.nats_creds or settings.nats_creds_file or "") or None
        store_creds = str(cfg.nats_store_creds or settings.nats_store_creds_file or "") or None
        ca = str(cfg.nats_ca or settings.nats_ca_file or "") or None
        nc = await connect(cfg.nats_url, name="jetkube-apiserver", identity=APISERVER,
                           creds_file=creds, ca_file=ca)
        store_nc = nc
        if store_creds is not None:
            store_nc = await connect(cfg.nats_url, name="jetkube-apiserver-store",
                                     identity=APISERVER_STORE, creds_file=store_creds,
                                     ca_file=ca)
        if creds is None or store_creds is None:
            log.warning("connected to NATS without %s: this bus is not secured, and anyone "
                        "who reaches it owns the cluster (kctl up secures it: "
                        "docs/architecture.md, Bus security)",
                        "credentials" if creds is None else "a store identity")
        publish_spans(nc, "jetkube-apiserver", settings)
        store = await NatsStore.open(store_nc, cfg.bucket, history=cfg.kv_history,
                                     replicas=cfg.kv_replicas, marker_ttl=cfg.event_ttl)
        node_stream = NodePodStream(store_nc, replicas=cfg.kv_replicas)
        await node_stream.ensure()
        doctor = None
        if store_nc is not nc:
            await ensure_store_mirrors(nc, cfg.bucket, history=cfg.kv_history,
                                       replicas=cfg.kv_replicas)
            doctor = asyncio.create_task(MirrorDoctor(
                nc, store_nc, (f"KV_{cfg.bucket}", NODE_PODS_STREAM)).run())
        await ensure_trace_stream(nc, replicas=cfg.kv_replicas)
        front = await self.build(store, node_stream)
        use_connection(self.handlers, nc)  # kubelets are reached on the bus's side
        face = None
        if cfg.nats_face:
            face = natsface.serve(front, nc, settings.api_subject_prefix)
            await face.start()
        app = HttpApp(front, cfg.bookmark_interval)
        tls = cfg.tls_cert_file is not None
        server = uvicorn.Server(uvicorn.Config(
            app, host=cfg.bind, port=cfg.port, loop="none", http=Http1, lifespan="off",
            ws="wsproto", ws_per_message_deflate=False, ws_max_size=MAX_WS_MESSAGE,
            log_level="warning", access_log=False, timeout_keep_alive=30,
            # no X-Forwarded-* trusted (uvicorn trusts them from 127.0.0.1 by default, and
            # rebuilt every request's headers to look): nothing here reads the client's
            # address, and kube-apiserver serves no proxy's say-so either
            proxy_headers=False, server_header=False,
            # a client's idle keep-alive TLS connection held the stop for 10 s, until
            # kctl down killed the process: close what is left after this long
            timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
            ssl_certfile=str(cfg.tls_cert_file) if tls else None,
            ssl_keyfile=str(cfg.tls_key_file) if tls else None))
        # uvicorn captures SIGTERM/SIGINT while it serves, shuts down, then re-raises the
        # signal to our loop's handler (main.py), which stops the rest.
        serve = asyncio.create_task(server.serve(sockets=self._sockets()))
        endpoints = asyncio.create_task(self.kubernetes_service.run())
        self.ready.set()
        log.info("jetkube-apiserver serving on %s://%s:%d", "https" if tls else "http",
                 cfg.bind, cfg.port)
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({serve, stop}, return_when=asyncio.FIRST_COMPLETED)
        server.should_exit = True
        endpoints.cancel()
        try:
            await asyncio.wait_for(self.kubernetes_service.remove_self(), 3)
        except Exception as err:  # the store may be gone: the Lease then expires
            log.info("could not leave the kubernetes endpoints: %s", err)
        if doctor is not None:
            doctor.cancel()
        await asyncio.gather(serve, *([doctor] if doctor else []), return_exceptions=True)
        # NATS may already be gone (kctl down stops it last, but it can die first):
        # each step is bounded and a failure does not keep the process alive.
        steps = [self.cache.stop(), node_stream.close(), nc.close()]
        if store_nc is not nc:
            steps.append(store_nc.close())
        if face is not None:
            steps.insert(0, face.stop())
        for step in steps:
            try:
                await asyncio.wait_for(step, 5)
            except Exception as err:  # shutting down regardless
                log.info("shutdown step failed: %s", err)

    def stop(self) -> None:
        self._stop.set()
