"""The compose stack's one-shot ``init`` service: the secured bus and API of ``kctl up --ha``,
for containers.

It writes what ``kctl up`` writes into its data dir, with the same code (the cluster CA and
serving certificates of :mod:`jetkube.cli.pki`, one nkey seed per bus identity and the
rendered ``nats.conf`` of :mod:`jetkube.cli.natsconf` from :mod:`jetkube.cli.buspolicy`'s
allow-lists, the admin token and the Secrets' encryption key of
:mod:`jetkube.cli.clustersecrets`); only the addresses differ: NATS nodes and API servers
are reached by their service names on the stack's network (``nats-1``…, ``apiserver-1``…)
and, from the host, on 127.0.0.1.

The master copy (the CA's key, every seed) stays in the ``init`` service's own volume
(``STATE``).  Each component gets a volume of its own holding only what it needs (the CA
certificate, its own seed; the NATS nodes their configs and certificates; the API
servers theirs, the token file and the encryption key), mounted read-only at
``/etc/jetkube``: a controller-manager cannot read the API server's store seed.  The
host's kubeconfig (HTTPS to 127.0.0.1, the CA, the admin token) goes to ``--host-dir``,
owned by whoever owns that directory.  Running it again keeps the CA, seeds, token and
key, and rewrites the copies: it is what every ``up`` runs first.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from jetkube.cli import kubeconfig, natsconf, pki
from jetkube.cli.buspolicy import CONTROL_PLANE_IDENTITIES
from jetkube.cli.clustersecrets import ensure_encryption_config, ensure_token
from jetkube.cli.plan import Plan
from jetkube.services.machinery.apimachinery import (
    APISERVER,
    APISERVER_STORE,
    CONTROLLER_MANAGER,
    DNS,
    PROXY,
    SCHEDULER,
    node_identity,
)

STATE = Path("/var/lib/jetkube")
"""The init service's volume: the data dir ``kctl up`` would have."""
OUT = Path("/out")
"""Where the per-component volumes are mounted in the init service (``/out/<name>``)."""
CONF = Path("/etc/jetkube")
"""Where each component mounts its own volume."""
NATS_NODES = 3
NATS_CLIENT_PORT, NATS_MONITOR_PORT, NATS_ROUTE_PORT = 4222, 8222, 6222
NATS_STORE = Path("/data")
"""Each NATS node's JetStream store (its own volume)."""


def nats_host(i: int) -> str:
    return f"nats-{i + 1}"


@dataclass(frozen=True)
class Volume:
    """One component's volume: files copied from the state dir (name there -> name here)."""

    name: str
    files: dict[str, str]


def volumes(plan: Plan, nodes: list[str]) -> list[Volume]:
    """What each component's volume holds; every one has the CA certificate as ``ca.crt``,
    a bus client its seed as ``bus.nk``."""
    def seed(identity: str) -> str:
        return str(plan.creds_file(identity).relative_to(plan.data_dir))

    ca = {"pki/ca.crt": "ca.crt"}
    client = {name: ca | {seed(identity): "bus.nk"} for name, identity in (
        ("controller-manager", CONTROLLER_MANAGER), ("scheduler", SCHEDULER),
        ("proxy", PROXY), ("dns", DNS))}
    return [
        Volume("nats", ca | {f"pki/{n}.{ext}": f"{n}.{ext}" for n in ("nats", "nats-route")
                             for ext in ("crt", "key")}
               | {f"nats-{i + 1}.conf": f"nats-{i + 1}.conf" for i in range(NATS_NODES)}),
        Volume("apiserver", ca | {"pki/apiserver.crt": "apiserver.crt",
                                  "pki/apiserver.key": "apiserver.key",
                                  seed(APISERVER): "bus.nk", seed(APISERVER_STORE): "store.nk",
                                  "tokens.csv": "tokens.csv",
                                  "encryption-config.yaml": "encryption-config.yaml",
                                  str(plan.sa_key.relative_to(plan.data_dir)): "sa.key"}),
        *(Volume(name, files) for name, files in client.items()),
        *(Volume(n, ca | {seed(node_identity(n)): "bus.nk"}) for n in nodes),
    ]


def nats_configs(plan: Plan, nodes: list[str]) -> None:
    """The seeds, certificates and each NATS node's config, paths as the nodes see them."""
    cert, key = pki.ensure_serving_cert(plan.pki_dir, "nats",
                                        [nats_host(i) for i in range(NATS_NODES)])
    pki.ensure_serving_cert(plan.pki_dir, "nats-route", [nats_host(i) for i in range(NATS_NODES)],
                            peer=True)
    users = {}
    for identity in [*CONTROL_PLANE_IDENTITIES, *(node_identity(n) for n in nodes)]:
        users[identity] = natsconf.public_key(natsconf.ensure_identity(plan.creds_dir, identity))
    for i in range(NATS_NODES):
        routes = natsconf.Routes(
            host="0.0.0.0", port=NATS_ROUTE_PORT,
            peers=[(nats_host(j), NATS_ROUTE_PORT) for j in range(NATS_NODES) if j != i],
            cert=CONF / "nats-route.crt", key=CONF / "nats-route.key", ca=CONF / "ca.crt")
        text = natsconf.render_nats_conf(
            host="0.0.0.0", port=NATS_CLIENT_PORT, monitor_port=NATS_MONITOR_PORT,
            store_dir=NATS_STORE, server_name=plan.nats_node_name(i), bucket=plan.bucket,
            users=users, tls=(CONF / cert.name, CONF / key.name), routes=routes)
        # the nodes' container addresses are not in their certificate, and the host reaches
        # them through published ports: clients keep to the URLs they were given
        text = text.replace("cluster {\n", "cluster {\n  no_advertise: true\n", 1)
        natsconf.write_nats_conf(plan.nats_node_conf(i), text)


def copy_volumes(plan: Plan, nodes: list[str], out: Path) -> None:
    for vol in volumes(plan, nodes):
        target = out / vol.name
        target.mkdir(parents=True, exist_ok=True)
        for src, dst in vol.files.items():
            mode = 0o644 if dst.endswith(".crt") else 0o600
            pki.write_atomic(target / dst, (plan.data_dir / src).read_bytes(), mode)


def write_host_kubeconfig(plan: Plan, token: str, api_port: int, host_dir: Path) -> Path:
    """``host_dir/kubeconfig`` for kctl and kubectl on the host, owned by the directory's
    owner (the user who ran compose, not root)."""
    path = host_dir / "kubeconfig"
    kubeconfig.write_file(path, kubeconfig.new_config(
        server=f"https://127.0.0.1:{api_port}", token=token, cluster="jetkube-compose",
        ca_pem=plan.ca_file.read_bytes()))
    st = host_dir.stat()
    os.chown(path, st.st_uid, st.st_gid)
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="stack_init", description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", default="node-1,node-2", help="the node agents' names")
    p.add_argument("--api-servers", type=int, default=2)
    p.add_argument("--api-port", type=int, default=6443,
                   help="the host port of apiserver-1 (the kubeconfig's server)")
    p.add_argument("--host-dir", type=Path, default=None,
                   help="write the host's kubeconfig here (default: none)")
    p.add_argument("--state", type=Path, default=STATE)
    p.add_argument("--out", type=Path, default=OUT)
    a = p.parse_args(argv)
    nodes = [n.strip() for n in a.nodes.split(",") if n.strip()]
    plan = Plan(data_dir=a.state, ha=True)
    plan.data_dir.mkdir(parents=True, exist_ok=True)
    nats_configs(plan, nodes)
    api_hosts = [*plan.api_hosts, *(f"apiserver-{i + 1}" for i in range(a.api_servers))]
    pki.ensure_serving_cert(plan.pki_dir, "apiserver", api_hosts)
    token = ensure_token(plan)
    ensure_encryption_config(plan)
    pki.ensure_service_account_key(plan.sa_key)  # one key: each API server verifies the other's tokens
    copy_volumes(plan, nodes, a.out)
    print(f"init: CA, {len(nodes)} node identities, {NATS_NODES} NATS configs in {a.out}")
    if a.host_dir is not None:
        print(f"init: wrote {write_host_kubeconfig(plan, token, a.api_port, a.host_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
