"""Who may do what on the bus: two NATS accounts, and each identity's allow-lists.

**Two accounts.** The store (the KV bucket ``KV_<bucket>`` and the node pod stream) lives
in account ``STORE``, whose only user is the API server's store identity
(``kube-apiserver-store``).  Everyone else, the API server's face included, is in account
``BUS``, which reads the store through *mirrors* of those streams (same names, subjects
and sequences; a mirror stores nothing published to it) kept by nats-server across the
account boundary (the STORE exports below).  This is what makes "only the API server
writes the store" hold against every message nats-server itself sends: a JetStream API
answer, a publish ack or a no-responders status goes to whatever reply subject the client
named, and inside one account a reply naming ``$KV.<bucket>.<key>`` was stored as that
key (tests/security pins it); from ``BUS`` no subject reaches a ``STORE`` stream.

nats-server enforces these (its ``authorization { users = [...] }`` with per-user
``permissions``); anything not allowed is denied.  The design's rule, "only the API
server writes the store", is the first row: the API server alone may publish to the KV
bucket (``$KV.<bucket>.>``), use the JetStream API at large, publish node pod events,
answer ``jetkube.api.*.>`` and call the kubelets.  Everyone else reads the KV by
creating *named, filtered* consumers (``$JS.API.CONSUMER.CREATE.<stream>.<name>.<filter>``:
the filter is in the subject, so the allow-list names the resources a component may
watch) and writes by asking the API server on ``jetkube.api.<identity>.>``, the one
request subject its identity may publish, which is how the API server knows who asked.

The table is printed in docs/architecture.md (Bus security); ``kctl up`` renders it into
``DIR/nats.conf`` (:mod:`jetkube.cli.natsconf`).
"""

from __future__ import annotations

from dataclasses import dataclass

from jetkube.services.machinery.apimachinery import (
    ADMIN,
    APISERVER,
    APISERVER_STORE,
    CONTROLLER_MANAGER,
    DNS,
    MIRROR_DELIVER_PREFIX,
    NODE_PREFIX,
    PROXY,
    SCHEDULER,
    STORE_API_PREFIX,
    inbox_prefix,
)

STORE_ACCOUNT = "STORE"
BUS_ACCOUNT = "BUS"
STORE_API = STORE_API_PREFIX
MIRROR_DELIVER = MIRROR_DELIVER_PREFIX
API_PREFIX = "jetkube.api"
NODE_PODS_STREAM = "JETKUBE_NODE_PODS"
NODE_PODS_PREFIX = "jetkube.watch.nodes"
KUBELET_PREFIX = "jetkube.kubelet"
TRACES = "jetkube.traces.>"

KV_READS: dict[str, tuple[str, ...]] = {
    CONTROLLER_MANAGER: ("",),  # every resource: the garbage collector and namespace
    #                              controller watch them all (Secrets stay sealed)
    SCHEDULER: ("pods", "nodes", "namespaces",  # namespaces: affinity's namespaceSelector
                "persistentvolumeclaims", "persistentvolumes", "storageclasses"),  # VolumeBinding
    PROXY: ("services", "endpoints", "nodes"),
    DNS: ("services", "endpoints"),
    # routes to other nodes' pod CIDRs; Services for pods' environment variables (the Node
    # authorizer lets a kubelet watch both); pods come on its own stream
    NODE_PREFIX: ("nodes", "services"),
}
"""The resources each reading identity may watch in the KV bucket ("" = all of them)."""


@dataclass(frozen=True)
class Permissions:
    """One identity's allow-lists (nats-server ``permissions``)."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    allow_responses: bool = False
    """May publish one reply to the reply subject of each request it received."""


def _consumer_api(stream: str, filters: list[str]) -> list[str]:
    """What a reader needs to watch ``filters`` of ``stream`` with named ordered consumers
    (no CONSUMER.DELETE: a reader could delete another's by name; an unsubscribed consumer
    expires by itself after its inactivity threshold)."""
    api = "$JS.API"
    return [f"{api}.STREAM.INFO.{stream}",
            *(f"{api}.CONSUMER.CREATE.{stream}.*.{f}" for f in filters),
            f"{api}.CONSUMER.INFO.{stream}.*"]


def _kv_filters(bucket: str, resources: tuple[str, ...]) -> list[str]:
    return [f"$KV.{bucket}.>" if r == "" else f"$KV.{bucket}.{r}.>" for r in resources]


def permissions(identity: str, bucket: str = "jetkube") -> Permissions:
    """The allow-lists of ``identity`` (``node:<name>`` for a node agent) on ``bucket``."""
    kv_stream = f"KV_{bucket}"
    if identity == ADMIN:  # everything in BUS: the mirrors, the spans, any subject
        return Permissions(publish=(">",), subscribe=(">",), allow_responses=True)
    if identity == APISERVER_STORE:  # alone in STORE: it writes, nobody else is there
        return Permissions(
            publish=(f"$KV.{bucket}.>", "$JS.API.>", "$JS.FC.>", f"{NODE_PODS_PREFIX}.*.pods"),
            subscribe=(f"{inbox_prefix(identity)}.>",))
    if identity == APISERVER:  # its face in BUS: answers, calls kubelets, keeps the mirrors
        api = "$JS.API"
        streams = (kv_stream, NODE_PODS_STREAM, "JETKUBE_TRACES")
        return Permissions(
            publish=(*(f"{api}.STREAM.{op}.{s}" for s in streams
                       for op in ("CREATE", "INFO", "UPDATE")),
                     # a stalled mirror is asked to step down (store/_mirror.py MirrorDoctor)
                     *(f"{api}.STREAM.LEADER.STEPDOWN.{s}" for s in streams[:2]),
                     f"{KUBELET_PREFIX}.>", TRACES),
            subscribe=(f"{API_PREFIX}.*.>", f"{KUBELET_PREFIX}.*.stream.>",
                       f"{inbox_prefix(identity)}.>"),
            allow_responses=True)
    role = NODE_PREFIX if identity.startswith(NODE_PREFIX) else identity
    if role not in KV_READS:
        raise ValueError(f"no bus identity {identity!r}")
    publish = [*_consumer_api(kv_stream, _kv_filters(bucket, KV_READS[role])), "$JS.FC.>",
               f"{API_PREFIX}.{identity}.>", TRACES]
    subscribe = [f"{inbox_prefix(identity)}.>"]
    if role != NODE_PREFIX:
        return Permissions(tuple(publish), tuple(subscribe))
    node_token = identity[len(NODE_PREFIX):]
    publish += [*_consumer_api(NODE_PODS_STREAM, [f"{NODE_PODS_PREFIX}.{node_token}.pods"]),
                f"{KUBELET_PREFIX}.{node_token}.stream.>"]
    subscribe += [f"{KUBELET_PREFIX}.{node_token}.>"]
    return Permissions(tuple(publish), tuple(subscribe), allow_responses=True)


CONTROL_PLANE_IDENTITIES = (APISERVER_STORE, APISERVER, CONTROLLER_MANAGER, SCHEDULER, PROXY,
                            DNS, ADMIN)
"""The identities ``kctl up`` always creates (node agents get ``node:<name>`` each)."""


def account_of(identity: str) -> str:
    """The NATS account an identity's user belongs to."""
    return STORE_ACCOUNT if identity == APISERVER_STORE else BUS_ACCOUNT


@dataclass(frozen=True)
class AccountLinks:
    """What ``STORE`` exports and ``BUS`` imports so nats-server can keep the mirrors: the
    consumer-create API of the two origin streams (imported under :data:`STORE_API`), the
    mirrors' flow-control replies, and their deliver subjects.  Nothing else crosses."""

    services: tuple[tuple[str, str], ...]  # (subject in STORE, subject in BUS)
    streams: tuple[str, ...]


def account_links(bucket: str = "jetkube") -> AccountLinks:
    creates = [f"CONSUMER.CREATE.{s}{tail}" for s in (f"KV_{bucket}", NODE_PODS_STREAM)
               for tail in ("", ".>")]
    return AccountLinks(
        services=(*((f"$JS.API.{c}", f"{STORE_API}.{c}") for c in creates),
                  ("$JS.FC.>", "$JS.FC.>")),
        streams=(f"{MIRROR_DELIVER}.>",))
