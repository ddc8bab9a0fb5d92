"""Informer handlers: each registered callback gets every event in registration order, and
one that raises is logged without keeping the event from the callbacks after it."""

from __future__ import annotations

from typing import Any

import orjson
from polling import until

from jetkube.services.machinery.client import Informer
from jetkube.services.machinery.store import MemoryStore


async def test_a_raising_handler_is_skipped_and_the_next_ones_still_run() -> None:
    store = MemoryStore()
    inf = Informer(store, "pods.")
    seen: list[tuple[str, str]] = []

    def boom(*_: Any) -> None:
        raise RuntimeError("handler bug")

    inf.add_event_handler(boom, boom, boom)
    inf.add_event_handler(on_update=lambda _o, n: seen.append(("update", n["metadata"]["name"])))
    inf.add_event_handler(lambda o: seen.append(("add", o["metadata"]["name"])), None,
                          lambda o: seen.append(("delete", o["metadata"]["name"])))
    inf.start()
    try:
        await inf.wait_synced()
        body = {"metadata": {"name": "a", "namespace": "default"}}
        rev = await store.create("pods.default.a", orjson.dumps(body))
        rev = await store.update("pods.default.a", orjson.dumps({**body, "spec": {}}), rev)
        await store.delete("pods.default.a", rev)
        await until(lambda: len(seen) >= 3, message="events not delivered")
        assert seen == [("add", "a"), ("update", "a"), ("delete", "a")]
    finally:
        await inf.stop()
