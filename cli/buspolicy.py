"""Who may do what on the bus: each NATS identity's publish/subscribe allow-lists.

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
    CONTROLLER_MANAGER,
    DNS,
    NODE_PREFIX,
    PROXY,
    SCHEDULER,
    inbox_prefix,
)

API_PREFIX = "jetkube.api"
NODE_PODS_STREAM = "JETKUBE_NODE_PODS"
NODE_PODS_PREFIX = "jetkube.watch.nodes"
KUBELET_PREFIX = "jetkube.kubelet"
TRACES = "jetkube.traces.>"

KV_READS: dict[str, tuple[str, ...]] = {
    CONTROLLER_MANAGER: ("",),  # every resource: the garbage collector and namespace
    #                              controller watch them all (Secrets stay sealed)
    SCHEDULER: ("pods", "nodes"),
    PROXY: ("services", "endpoints", "nodes"),
    DNS: ("services", "endpoints"),
    NODE_PREFIX: ("nodes",),  # routes to other nodes' pod CIDRs; pods come on its stream
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
    if identity == ADMIN:
        return Permissions(publish=(">",), subscribe=(">",), allow_responses=True)
    if identity == APISERVER:
        return Permissions(
            publish=(f"$KV.{bucket}.>", "$JS.API.>", "$JS.FC.>", f"{NODE_PODS_PREFIX}.*.pods",
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


CONTROL_PLANE_IDENTITIES = (APISERVER, CONTROLLER_MANAGER, SCHEDULER, PROXY, DNS, ADMIN)
"""The identities ``kctl up`` always creates (node agents get ``node:<name>`` each)."""
