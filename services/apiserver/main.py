"""``jetkube-apiserver``: flags as kube-apiserver names them, then serve."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import signal
import sys
from pathlib import Path

from ..machinery.runtime import Settings, setup_logging, tune_gc
from ..machinery.runtime.telemetry import setup_telemetry
from ..machinery.store import MIN_TTL
from .admission import AdmissionConfig
from .encryption import Encryption, EncryptionConfigError
from .inflight import InflightLimits
from .ondemand import parse_on_demand
from .server import ApiServer, ServerConfig
from .tokens import DEFAULT_ISSUER
from .watchcache import RING_BYTES

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
             "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a Go duration as kube-apiserver's flags take one (``1h``,
    ``90s``, ``1h0m0s``, ``1.5h``, ``300ms``) or a plain number of seconds."""
    t = text.strip()
    try:
        seconds = float(t)
    except ValueError:
        pos, seconds = 0, 0.0
        for m in _GO_PART.finditer(t):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _GO_UNITS[m.group(2)]
            pos = m.end()
        if not t or pos != len(t):
            raise argparse.ArgumentTypeError(
                f"invalid duration {text!r} (e.g. 1h, 90s, 1h0m0s, or seconds)") from None
    if not 0 <= seconds < float("inf"):
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: not a finite, "
                                         "non-negative time")
    return seconds


def parse_args(argv: list[str] | None = None) -> ServerConfig:
    p = argparse.ArgumentParser(prog="jetkube-apiserver",
                                description="jetkube API server (Kubernetes REST on NATS KV)")
    p.add_argument("--nats-url", default="nats://127.0.0.1:4222",
                   help="NATS servers, comma-separated")
    p.add_argument("--nats-creds", type=Path,
                   help="nkey seed file of the kube-apiserver identity "
                        "(default: $JETKUBE_NATS_CREDS_FILE)")
    p.add_argument("--nats-store-creds", type=Path,
                   help="nkey seed file of the kube-apiserver-store identity, the store "
                        "account's writer (default: $JETKUBE_NATS_STORE_CREDS_FILE)")
    p.add_argument("--nats-ca", type=Path,
                   help="cluster CA for NATS TLS (default: $JETKUBE_NATS_CA_FILE)")
    p.add_argument("--bind", "--bind-address", dest="bind", default="127.0.0.1")
    p.add_argument("--port", "--secure-port", dest="port", type=int, default=6443)
    p.add_argument("--advertise-address",
                   help="the address published in the kubernetes Service's Endpoints, one "
                        "pods reach (listened on too); default: --bind-address")
    p.add_argument("--service-account-signing-key-file", type=Path,
                   help="EC P-256 private key (PEM) signing ServiceAccount tokens, shared by "
                        "every API server")
    p.add_argument("--service-account-key-file", type=Path, action="append", default=[],
                   help="more public keys (PEM) verifying ServiceAccount tokens (repeatable)")
    p.add_argument("--service-account-issuer", default=DEFAULT_ISSUER)
    p.add_argument("--api-audiences", default="",
                   help="audiences a token must name, comma-separated (default: the issuer)")
    p.add_argument("--disable-admission-plugins", default="",
                   help="admission plugins to turn off, comma-separated (ServiceAccount)")
    p.add_argument("--tls-cert-file", type=Path,
                   help="serving certificate (PEM) of the HTTPS face; without it, plain HTTP")
    p.add_argument("--tls-private-key-file", type=Path, help="its private key (PEM)")
    p.add_argument("--bucket", default="jetkube")
    p.add_argument("--kv-history", type=int, default=8)
    p.add_argument("--kv-replicas", type=int, default=1, choices=(1, 3, 5),
                   help="replicas of the bucket and every stream (never lowered)")
    p.add_argument("--token-file", "--token-auth-file", dest="token_file", type=Path)
    p.add_argument("--service-cluster-ip-range", default="10.96.0.0/16")
    p.add_argument("--service-node-port-range", default="30000-32767")
    p.add_argument("--default-toleration-seconds", type=int, default=300)
    p.add_argument("--watch-cache-size", type=int, default=50_000)
    p.add_argument("--watch-cache-mib", type=int, default=RING_BYTES >> 20,
                   help="at most this many MiB of objects in the watch cache's event ring "
                        "(default: %(default)s)")
    p.add_argument("--watch-cache-on-demand", default="",
                   help="resources (plurals, comma-separated, e.g. pods,events) cached only "
                        "while a client watches them; lists of them read the store")
    p.add_argument("--event-ttl", type=parse_duration, default=3600.0,
                   help="how long Events are kept after their last write, a duration "
                        "(1h, 90s, 1h0m0s) or seconds; at least 1s (default: 1h)")
    p.add_argument("--encryption-provider-config", dest="encryption_config", type=Path,
                   help="an EncryptionConfiguration file: Secrets sealed at rest (AES-GCM)")
    d = InflightLimits()
    p.add_argument("--max-requests-inflight", type=int, default=d.max_requests_inflight,
                   help="read-only requests in flight, all users together (0: no bound)")
    p.add_argument("--max-mutating-requests-inflight", type=int,
                   default=d.max_mutating_requests_inflight,
                   help="mutating requests in flight, all users together (0: no bound)")
    p.add_argument("--max-user-requests-inflight", type=int,
                   default=d.max_user_requests_inflight,
                   help="requests of one user in flight; the next wait in its queue "
                        "(0: no bound; system:masters is never counted)")
    p.add_argument("--max-user-requests-queued", type=int, default=d.max_user_requests_queued,
                   help="requests of one user waiting for a slot; the next get 429")
    p.add_argument("--max-queue-wait", type=parse_duration, default=d.max_queue_wait_seconds,
                   help="how long a request waits for its user's slot before a 429")
    p.add_argument("--no-nats-face", action="store_true",
                   help="serve HTTP only (the other services write over NATS)")
    a = p.parse_args(argv)
    lo, _, hi = a.service_node_port_range.partition("-")
    try:
        ports = (int(lo), int(hi))
    except ValueError:
        p.error(f"--service-node-port-range: expected LOW-HIGH, got {a.service_node_port_range!r}")
    for flag in ("max_requests_inflight", "max_mutating_requests_inflight",
                 "max_user_requests_inflight", "max_user_requests_queued"):
        if getattr(a, flag) < 0:
            p.error(f"--{flag.replace('_', '-')}: not negative, got {getattr(a, flag)}")
    if a.event_ttl < MIN_TTL:
        p.error(f"--event-ttl: at least {MIN_TTL:g}s, got {a.event_ttl:g}s")
    if (a.tls_cert_file is None) != (a.tls_private_key_file is None):
        p.error("--tls-cert-file and --tls-private-key-file go together")
    for flag in ("tls_cert_file", "tls_private_key_file"):
        if getattr(a, flag) is not None and not getattr(a, flag).is_file():
            p.error(f"--{flag.replace('_', '-')}: {getattr(a, flag)} does not exist")
    disabled = {x.strip() for x in a.disable_admission_plugins.split(",") if x.strip()}
    if disabled - {"ServiceAccount"}:
        p.error(f"--disable-admission-plugins: unknown plugin {sorted(disabled)[0]!r} "
                "(only ServiceAccount can be turned off)")
    for path in [a.service_account_signing_key_file, *a.service_account_key_file]:
        if path is not None and not path.is_file():
            p.error(f"{path}: a service account key file that does not exist")
    if a.token_file is not None and not a.token_file.is_file():
        p.error(f"--token-file: {a.token_file} does not exist")
    if a.watch_cache_mib < 1:
        p.error("--watch-cache-mib must be at least 1")
    try:
        on_demand = parse_on_demand(a.watch_cache_on_demand)
    except ValueError as e:
        p.error(f"--watch-cache-on-demand: {e}")
    if a.encryption_config is not None:
        try:
            Encryption.from_file(a.encryption_config)
        except EncryptionConfigError as e:
            p.error(f"--encryption-provider-config: {e}")
    return ServerConfig(
        nats_url=a.nats_url, nats_creds=a.nats_creds, nats_ca=a.nats_ca,
        nats_store_creds=a.nats_store_creds,
        bind=a.bind, port=a.port, bucket=a.bucket, kv_history=a.kv_history,
        tls_cert_file=a.tls_cert_file, tls_key_file=a.tls_private_key_file,
        kv_replicas=a.kv_replicas,
        token_file=a.token_file, watch_history=a.watch_cache_size,
        watch_cache_bytes=a.watch_cache_mib << 20, watch_cache_on_demand=on_demand,
        nats_face=not a.no_nats_face,
        encryption_config=a.encryption_config, event_ttl=a.event_ttl,
        advertise_address=a.advertise_address,
        service_account_signing_key_file=a.service_account_signing_key_file,
        service_account_key_files=tuple(a.service_account_key_file),
        service_account_issuer=a.service_account_issuer,
        api_audiences=tuple(x.strip() for x in a.api_audiences.split(",") if x.strip()),
        inflight=InflightLimits(
            max_requests_inflight=a.max_requests_inflight,
            max_mutating_requests_inflight=a.max_mutating_requests_inflight,
            max_user_requests_inflight=a.max_user_requests_inflight,
            max_user_requests_queued=a.max_user_requests_queued,
            max_queue_wait_seconds=a.max_queue_wait),
        admission=AdmissionConfig(service_cidr=a.service_cluster_ip_range, node_port_range=ports,
                                  default_toleration_seconds=a.default_toleration_seconds,
                                  service_account="ServiceAccount" not in disabled))


async def _run(cfg: ServerConfig) -> None:
    server = ApiServer(cfg)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    run = asyncio.create_task(server.run())
    ready = asyncio.create_task(server.ready.wait())
    await asyncio.wait({run, ready}, return_when=asyncio.FIRST_COMPLETED)
    if ready.done():
        # what start-up built (modules, schemas, routes, the caches' first load: ~90,000
        # objects) leaves the collector's walks: a full collection at 10,000 cached pods
        # took 74-123 ms with it, 42 ms without (runtime/_gc.py)
        tune_gc(freeze=True)
    else:
        ready.cancel()
    await run


SWITCH_INTERVAL = 0.001
"""Seconds a thread holding the GIL runs before it must let a waiting one in (Python's
default is 5 ms).  Big bodies and patches are decoded in a worker thread; each time the
event loop wakes while that thread computes, it waits for the GIL up to this long, and a
request takes several wake-ups: at 5 ms, /healthz p99 under bench/fuzz.py was ~200 ms."""


def main(argv: list[str] | None = None) -> None:
    cfg = parse_args(argv)
    tune_gc()
    sys.setswitchinterval(SWITCH_INTERVAL)
    setup_logging("jetkube-apiserver")
    setup_telemetry("jetkube-apiserver", sample_ratio=Settings.from_env().trace_sample_ratio)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    try:
        asyncio.run(_run(cfg))
    except OSError as err:
        logging.getLogger(__name__).error("cannot serve: %s", err)
        sys.exit(1)


if __name__ == "__main__":
    main()
