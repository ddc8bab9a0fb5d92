"""Events expire on a running cluster (kube-apiserver's ``--event-ttl``, 3 s here through
``JETKUBE_APISERVER_ARGS``): with the official client an Event is created and listed,
then disappears from GET and list and a watch gets DELETED, with nobody deleting it; a
ConfigMap written with it stays.  Over the secured bus: a reader in account BUS
(the controller-manager's identity) watching the nats-server-kept mirror of the store
sees the expiry as a DELETE too, and the mirror then forgets the key."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from cluster_e2e import Cluster, running_cluster
from polling import wait_until

from jetkube.services.machinery.apimachinery import object_key
from jetkube.services.machinery.store import EventType, NatsStore, WatchEvent, connect

pytestmark = pytest.mark.e2e

TTL = 3.0
NS = "default"
NAME = "expiring"


class MirrorReader:
    """A watch of ``events.`` on the BUS mirror as kube-controller-manager, in a thread."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.events: list[tuple[EventType, str, int]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._watch())
        except BaseException as err:  # reported by the test
            self.error = err
            self.ready.set()

    async def _watch(self) -> None:
        nc = await connect(self.cluster.nats_url,
                           **self.cluster.nats_options("kube-controller-manager"))
        try:
            store = await NatsStore.open(nc, create=False)

            def on_event(ev: WatchEvent) -> None:
                self.events.append((ev.type, ev.key, ev.revision))
                if ev.type is EventType.SYNCED:
                    self.ready.set()

            w = await store.watch("events.", on_event)
            await asyncio.to_thread(self.stop.wait)
            await w.stop()
        finally:
            await nc.close()

    def of(self, key: str) -> list[EventType]:
        return [t for t, k, _ in self.events if k == key]


async def _mirror_holds(cluster: Cluster, key: str) -> bool:
    """Whether the BUS mirror still holds a message of ``key`` (asked as admin)."""
    from nats.js import errors as jserr

    nc = await connect(cluster.nats_url, **cluster.nats_options("admin"))
    try:
        await nc.jetstream().get_msg("KV_jetkube", subject=f"$KV.jetkube.{key}")
        return True
    except jserr.NotFoundError:
        return False
    finally:
        await nc.close()


def test_events_expire_after_the_event_ttl_and_readers_of_the_mirror_see_it(
        tmp_path: Path) -> None:
    from kubernetes import client, config, watch

    env = {"JETKUBE_APISERVER_ARGS": f"--event-ttl {TTL:g}s"}
    with running_cluster(tmp_path / "eventttl", env=env) as c:
        api_client = config.new_client_from_config(config_file=str(c.kubeconfig))
        v1 = client.CoreV1Api(api_client)
        key = object_key("events", NS, NAME)
        reader = MirrorReader(c)
        reader.thread.start()
        try:
            assert reader.ready.wait(30) and reader.error is None, reader.error
            v1.create_namespaced_config_map(NS, {"metadata": {"name": "stays"}})
            created = v1.create_namespaced_event(NS, {
                "metadata": {"name": NAME},
                "involvedObject": {"kind": "ConfigMap", "namespace": NS, "name": "stays"},
                "reason": "Tested", "message": f"gone after {TTL:g}s", "type": "Normal"})
            t0 = time.monotonic()
            listed = v1.list_namespaced_event(NS)
            assert NAME in [e.metadata.name for e in listed.items]

            seen: list[tuple[str, str]] = []

            def watch_events() -> None:
                for ev in watch.Watch().stream(
                        v1.list_namespaced_event, NS,
                        resource_version=str(int(created.metadata.resource_version) - 1),
                        timeout_seconds=30):
                    seen.append((ev["type"], ev["object"].metadata.name))
                    if seen[-1] == ("DELETED", NAME):
                        return

            watcher = threading.Thread(target=watch_events, daemon=True)
            watcher.start()

            def event_gone() -> bool:
                try:
                    v1.read_namespaced_event(NAME, NS)
                except client.ApiException as err:
                    return err.status == 404
                return False

            wait_until(event_gone, timeout=TTL + 20, interval=0.1,
                       message="the Event expired from GET")
            took = time.monotonic() - t0
            print(f"Event gone {took:.2f}s after its create (--event-ttl {TTL:g}s)")
            assert took >= TTL - 0.5
            assert NAME not in [e.metadata.name for e in v1.list_namespaced_event(NS).items]
            watcher.join(15)
            assert ("ADDED", NAME) in seen and seen[-1] == ("DELETED", NAME), seen
            assert v1.read_namespaced_config_map("stays", NS).metadata.name == "stays"

            wait_until(lambda: EventType.DELETE in reader.of(key), timeout=15,
                       message="the mirror's reader saw the expiry as a DELETE")
            assert reader.of(key) == [EventType.PUT, EventType.DELETE]
            # the mirror drops the expired Event and then the delete marker (kept a TTL)
            wait_until(lambda: not asyncio.run(_mirror_holds(c, key)), timeout=TTL + 20,
                       interval=0.5, message="the mirror forgot the expired Event")
        finally:
            reader.stop.set()
            reader.thread.join(15)
            api_client.close()
        assert reader.error is None, reader.error
