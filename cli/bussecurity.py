"""The secured bus of a ``kctl up`` cluster: CA, NATS TLS, identities, ``nats.conf``.

``kctl up`` calls :func:`ensure_bus_security` before it starts anything: the cluster CA
and NATS's serving certificate (:mod:`.pki`), one nkey seed per bus identity in
``DIR/creds`` (the control plane's, ``admin`` for kctl, ``node:<name>`` for each node
agent; :mod:`.natsconf`), and ``DIR/nats.conf`` rendered from the allow-lists of
:mod:`.buspolicy`.  Every component gets its own seed file and the CA in its
environment (``JETKUBE_NATS_CREDS_FILE``, ``JETKUBE_NATS_CA_FILE``).  There is no flag
that turns this off.

A node agent on another machine needs three things from this one: the NATS URL, the CA
(``DIR/pki/ca.crt``) and its own seed, minted by ``kctl node-credentials <name>``, which
adds the identity to ``nats.conf`` and reloads the running nats-server (SIGHUP: no
restart, no dropped connection).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

from jetkube.services.machinery.apimachinery import node_identity

from . import natsconf, pki
from .buspolicy import BUS_ACCOUNT, CONTROL_PLANE_IDENTITIES, STORE_ACCOUNT
from .plan import Plan


def node_names(plan: Plan) -> list[str]:
    """The node agents ``kctl up`` runs (node-1 … node-N)."""
    return [f"node-{i + 1}" for i in range(plan.nodes)]


def _identities(plan: Plan) -> list[str]:
    """Every identity the config admits: the fixed ones, this plan's nodes, and nodes minted
    earlier with ``kctl node-credentials`` (whose seed files are in ``DIR/creds``)."""
    want = [*CONTROL_PLANE_IDENTITIES, *(node_identity(n) for n in node_names(plan))]
    if plan.creds_dir.is_dir():
        want += sorted(p.stem for p in plan.creds_dir.glob("*.nk"))
    return list(dict.fromkeys(want))


def ensure_bus_security(plan: Plan, *, nats_pids: Sequence[int] = (),
                        extra: tuple[str, ...] = ()) -> bool:
    """Write what is missing (CA, certificates, seeds) and re-render each NATS node's
    config (one, or three with ``plan.ha``); reload the running nats-servers
    (``nats_pids``) when a config changed.  Returns whether one changed."""
    pki.ensure_ca(plan.pki_dir)
    cert, key = pki.ensure_serving_cert(plan.pki_dir, "nats", [plan.host])
    route_cert = pki.ensure_serving_cert(plan.pki_dir, "nats-route", [plan.host], peer=True) \
        if plan.ha else None
    users: dict[str, str] = {}
    for identity in [*_identities(plan), *extra]:
        seed = natsconf.ensure_identity(plan.creds_dir, identity)
        users[identity] = natsconf.public_key(seed)
    changed = False
    for i in range(plan.nats_nodes):
        routes = None
        if route_cert is not None:
            routes = natsconf.Routes(
                host=plan.host, port=plan.nats_cluster_port + i,
                peers=[(plan.host, plan.nats_cluster_port + j)
                       for j in range(plan.nats_nodes) if j != i],
                cert=route_cert[0], key=route_cert[1], ca=plan.ca_file)
        text = natsconf.render_nats_conf(
            host=plan.host, port=plan.nats_port + i, monitor_port=plan.nats_monitor_port + i,
            store_dir=plan.nats_node_dir(i), server_name=plan.nats_node_name(i),
            bucket=plan.bucket, users=users, tls=(cert, key), routes=routes,
            sync=plan.nats_sync)
        path = plan.nats_node_conf(i)
        try:
            same = path.read_text() == text
        except FileNotFoundError:
            same = False
        if not same:
            natsconf.write_nats_conf(path, text)
            changed = True
    if changed:
        for pid in nats_pids:
            natsconf.reload_nats(pid)
    return changed


def mint_node_credentials(plan: Plan, node: str, *, nats_pids: Sequence[int]) -> Path:
    """The seed file of ``node``'s agent, created and admitted (nats.conf, reload)."""
    identity = node_identity(node)
    ensure_bus_security(plan, nats_pids=nats_pids, extra=(identity,))
    return plan.creds_file(identity)


GLOBAL_ACCOUNT = "$G"
"""The account of a nats-server without accounts (data dirs from before the split, and the
private server ``kctl store snapshot restore`` runs)."""


def _accounts_dir(plan: Plan) -> Path:
    return plan.data_dir / "nats" / "jetstream"


def adopt_open_store(plan: Plan) -> bool:
    """A data dir written by an open (single-account) nats-server keeps its store in the
    global account; move it into the store account, once, with nats-server stopped.
    Returns whether it moved."""
    accounts = _accounts_dir(plan)
    old, new = accounts / GLOBAL_ACCOUNT, accounts / STORE_ACCOUNT
    if not (old / "streams" / f"KV_{plan.bucket}").is_dir() or new.exists():
        return False
    os.rename(old, new)
    return True


@contextlib.contextmanager
def store_as_global_account(plan: Plan) -> Iterator[None]:
    """For a private, account-less nats-server on this data dir (snapshot restore, with
    the cluster stopped): the store account's data is the global account's meanwhile.
    The bus's mirrors of the store are dropped afterwards: nats-server rebuilds them from
    the restored streams when the API server recreates them."""
    accounts = _accounts_dir(plan)
    store, glob = accounts / STORE_ACCOUNT, accounts / GLOBAL_ACCOUNT
    secured = store.is_dir() and not glob.exists()
    if secured:
        os.rename(store, glob)
    try:
        yield
    finally:
        if secured:
            os.rename(glob, store)
            for name in (f"KV_{plan.bucket}", "JETKUBE_NODE_PODS"):
                shutil.rmtree(accounts / BUS_ACCOUNT / "streams" / name, ignore_errors=True)

