"""Who is talking on the bus: NATS identities and the Kubernetes users they stand for.

Every process connects to NATS as one identity (a nats-server user with its own nkey
and allow-lists, written by ``kctl up``).  The identity is also one subject token: the
process's inbox prefix is ``_INBOX.<identity>`` and its API requests go to
``jetkube.api.<identity>.<verb>…``, which nats-server lets only that identity publish.
So the API server knows the sender from the subject alone (no token travels on the
bus) and maps it to the Kubernetes user below, which RBAC (and, for nodes, the Node
authorizer) then authorizes, as kube-apiserver authorizes client certificates.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._keys import encode_token

APISERVER = "kube-apiserver"
APISERVER_STORE = "kube-apiserver-store"
"""The API server's second identity, the only user of the store's own NATS account (it
writes the bucket and the node pod streams; it never sends API requests)."""
CONTROLLER_MANAGER = "kube-controller-manager"
SCHEDULER = "kube-scheduler"
PROXY = "kube-proxy"
DNS = "kube-dns"
ADMIN = "admin"
NODE_PREFIX = "node:"

STORE_API_PREFIX = "$JS.store.API"
"""Where the bus's account reaches the store account's JetStream API (mirrors only)."""
MIRROR_DELIVER_PREFIX = "jetkube.mirror"
"""Deliver subjects of the mirrors' consumers on the store's streams."""

NODES_GROUP = "system:nodes"
MASTERS_GROUP = "system:masters"

COMPONENT_USERS: dict[str, str] = {
    CONTROLLER_MANAGER: "system:kube-controller-manager",
    SCHEDULER: "system:kube-scheduler",
    PROXY: "system:kube-proxy",
    DNS: "system:kube-dns",
}
"""The Kubernetes user of each control-plane identity (kube-apiserver's names; the DNS
has no user of its own there: ``system:kube-dns`` is bound to the ``system:kube-dns``
ClusterRole as Kubernetes binds that role to the kube-dns ServiceAccount)."""


def node_identity(node: str) -> str:
    """The bus identity of the node agent of ``node`` (``node:<name>``, dots encoded)."""
    return NODE_PREFIX + encode_token(node)


def inbox_prefix(identity: str) -> str:
    """Where replies to ``identity`` arrive: ``_INBOX.<identity>`` (only it may subscribe)."""
    return f"_INBOX.{identity}"


@dataclass(frozen=True, slots=True)
class BusUser:
    """The Kubernetes user an identity stands for."""

    name: str
    groups: tuple[str, ...]


def bus_user(identity: str) -> BusUser | None:
    """The Kubernetes user of a bus identity, or None for a token that names nobody."""
    if identity == ADMIN:
        return BusUser(ADMIN, (MASTERS_GROUP,))
    if identity in COMPONENT_USERS:
        return BusUser(COMPONENT_USERS[identity], ())
    if identity.startswith(NODE_PREFIX) and len(identity) > len(NODE_PREFIX):
        node = identity[len(NODE_PREFIX):].replace("_", ".")
        return BusUser(f"system:node:{node}", (NODES_GROUP,))
    return None
