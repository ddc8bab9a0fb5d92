"""nats-server's configuration on a secured bus: one nkey per identity, allow-lists, TLS.

Each bus identity (:mod:`.buspolicy`) has a user nkey whose seed lives in
``DIR/creds/<identity>.nk`` (0600, made once and kept); nats-server knows only the public
keys, each with that identity's ``permissions``, rendered here into ``DIR/nats.conf``::

    listen: "127.0.0.1:4222"
    http: "127.0.0.1:8222"
    server_name: "jetkube-nats"
    jetstream { store_dir: "DIR/nats" }
    tls { cert_file: "DIR/pki/nats.crt", key_file: "DIR/pki/nats.key" }
    accounts {
      STORE: { jetstream: enabled, users: [ { nkey: "U…", permissions: {…} } ],
               exports: [ {service: "$JS.API.CONSUMER.CREATE.KV_jetkube"}, …,
                          {stream: "jetkube.mirror.>"} ] }
      BUS:   { jetstream: enabled, users: [ … every other identity … ],
               imports: [ {service: {account: STORE, subject: …}, to: "$JS.store.API.…"}, …] }
    }

The two accounts and what crosses between them are :mod:`.buspolicy`'s (why: its
docstring).

There is no anonymous user and no ``no_auth_user``: a connection without a known nkey is
refused.  TLS authenticates the server only (clients are not asked for certificates:
their nkey signature is their proof).  Every string is quoted (``$KV``/``$JS`` subjects
would otherwise be read as variable references).  nats-server re-reads the file,
authorization included, on SIGHUP (:func:`reload_nats`), so adding a node agent needs no
restart.
"""

from __future__ import annotations

import os
import re
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nkeys  # type: ignore[import-untyped]  # no stubs, no py.typed

from .buspolicy import BUS_ACCOUNT, STORE_ACCOUNT, account_links, account_of, permissions
from .pki import create_exclusive, write_atomic

SEED_SUFFIX = ".nk"
_IDENTITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_:\-]*")
"""One subject token that is also a file name: no dots, wildcards, slashes or spaces."""


def _check_identity(identity: str) -> None:
    if not _IDENTITY.fullmatch(identity):
        raise ValueError(f"not a bus identity: {identity!r}")


def ensure_identity(creds_dir: Path, identity: str) -> Path:
    """``creds_dir/<identity>.nk``: a user nkey seed, created (0600, exclusively) when
    missing; an existing one is kept."""
    _check_identity(identity)
    creds_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = creds_dir / f"{identity}{SEED_SUFFIX}"
    if path.exists():
        return path
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    create_exclusive(path, seed + b"\n", 0o600)  # False: someone made it meanwhile, keep it
    return path


def public_key(seed_file: Path) -> str:
    """The public user nkey (``U…``) of the seed in ``seed_file``."""
    kp = nkeys.from_seed(bytearray(seed_file.read_bytes().strip()))
    try:
        key: bytes = kp.public_key
        if not key.startswith(b"U"):
            raise ValueError(f"{seed_file} does not hold a user nkey seed")
        return key.decode()
    finally:
        kp.wipe()


def _q(value: str | Path) -> str:
    """A double-quoted nats config string."""
    s = str(value)
    if any(ord(c) < 0x20 or c == "\x7f" for c in s):
        raise ValueError(f"control character in a nats config value: {s!r}")
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _subjects(subjects: tuple[str, ...]) -> str:
    return "[" + ", ".join(_q(s) for s in subjects) + "]"


def _user_block(identity: str, nkey: str, bucket: str) -> list[str]:
    _check_identity(identity)
    if not (nkey.startswith("U") and len(nkey) == 56):
        raise ValueError(f"{identity}: not a public user nkey: {nkey!r}")
    perms = permissions(identity, bucket)
    lines = [
        f"    # {identity}",
        "    {",
        f"      nkey: {_q(nkey)}",
        "      permissions: {",
        f"        publish: {{ allow: {_subjects(perms.publish)} }}",
        f"        subscribe: {{ allow: {_subjects(perms.subscribe)} }}",
    ]
    if perms.allow_responses:
        lines.append("        allow_responses: true")
    lines += ["      }", "    }"]
    return lines


CLUSTER_NAME = "jetkube"


@dataclass(frozen=True)
class Routes:
    """One node's place in a JetStream cluster: where it listens for routes, the other
    nodes' route addresses, and the mutual-TLS files that admit a route (a peer must
    show a certificate of the cluster CA: nothing else can join)."""

    host: str
    port: int
    peers: Sequence[tuple[str, int]]
    cert: Path
    key: Path
    ca: Path


SYNC_INTERVALS = {"default": None, "always": "always"}
"""``--nats-sync`` values and the ``sync_interval`` each writes (None: nats-server's own
default, an fsync every 2 minutes)."""


def _cluster_block(r: Routes) -> list[str]:
    routes = ", ".join(_q(f"nats-route://{_hostport(h, p)}") for h, p in r.peers)
    return ["cluster {", f"  name: {_q(CLUSTER_NAME)}", f"  listen: {_q(_hostport(r.host, r.port))}",
            f"  routes: [{routes}]",
            "  tls {", f"    cert_file: {_q(r.cert)}", f"    key_file: {_q(r.key)}",
            f"    ca_file: {_q(r.ca)}", "    verify: true", "    timeout: 2", "  }", "}"]


def render_nats_conf(*, host: str, port: int, monitor_port: int, store_dir: Path,
                     server_name: str, bucket: str, users: Mapping[str, str],
                     tls: tuple[Path, Path] | None, routes: Routes | None = None,
                     sync: str = "default") -> str:
    """The nats-server config admitting exactly ``users`` (identity -> public nkey), each
    with its allow-lists on ``bucket`` (:func:`.buspolicy.permissions`); with ``routes``,
    one node of a JetStream cluster."""
    if not users:
        raise ValueError("a nats config needs at least one user: nobody could connect")
    if sync not in SYNC_INTERVALS:
        raise ValueError(f"nats sync {sync!r}: expected one of {', '.join(SYNC_INTERVALS)}")
    interval = SYNC_INTERVALS[sync]
    lines = [
        "# Written by kctl up (jetkube.cli.natsconf) from cli/buspolicy.py: edits are lost.",
        f"listen: {_q(_hostport(host, port))}",
        f"http: {_q(_hostport(host, monitor_port))}",
        f"server_name: {_q(server_name)}",
        "jetstream {",
        f"  store_dir: {_q(store_dir)}",
        *([f"  sync_interval: {_q(interval)}"] if interval else []),
        "}",
    ]
    if tls is not None:
        cert, key = tls
        lines += ["tls {", f"  cert_file: {_q(cert)}", f"  key_file: {_q(key)}",
                  "  verify: false", "  timeout: 2", "}"]
    if routes is not None:
        lines += _cluster_block(routes)
    links = account_links(bucket)
    lines.append("accounts {")
    for account in (STORE_ACCOUNT, BUS_ACCOUNT):
        lines += [f"  {account}: {{", "    jetstream: enabled", "    users = ["]
        for identity in sorted(i for i in users if account_of(i) == account):
            lines += [f"  {line}" for line in _user_block(identity, users[identity], bucket)]
        lines.append("    ]")
        if account == STORE_ACCOUNT:
            lines += ["    exports = ["]
            lines += [f"      {{service: {_q(store)}, accounts: [{_q(BUS_ACCOUNT)}]}}"
                      for store, _ in links.services]
            lines += [f"      {{stream: {_q(s)}, accounts: [{_q(BUS_ACCOUNT)}]}}"
                      for s in links.streams]
            lines.append("    ]")
        else:
            lines += ["    imports = ["]
            lines += [f"      {{service: {{account: {_q(STORE_ACCOUNT)}, subject: {_q(store)}}}, "
                      f"to: {_q(bus)}}}" for store, bus in links.services]
            lines += [f"      {{stream: {{account: {_q(STORE_ACCOUNT)}, subject: {_q(s)}}}}}"
                      for s in links.streams]
            lines.append("    ]")
        lines.append("  }")
    lines += ["}", ""]
    return "\n".join(lines)


def write_nats_conf(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, mode 0600 (it names the data paths)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, text.encode(), 0o600)


def reload_nats(pid: int) -> None:
    """Make the nats-server ``pid`` re-read its config (users and permissions included)."""
    os.kill(pid, signal.SIGHUP)
