"""The transport's floor, a second anchor for bench/api.py's creates.

A responder on nats-py that does only what any API server's create must do on this bus:
take the request, create its body under a key of a KV bucket (the store's CAS create,
``NatsStore.create``), answer, and watch the bucket (each event decoded once), served by
the same ``Server`` the NATS face uses.  None of jetkube's own work: no checks, defaults,
managedFields, admission or watch cache.  What a create costs beyond the floor is the API
server's; what the floor costs, no Python service on this bus can avoid.

Run as a script (``python bench/_floor.py NATS_URL CONNECT_JSON``) it is the responder,
and prints ``ready`` once it serves; :func:`floor_creates` starts it and drives it.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from _cluster import cpu_seconds, per_op

BUCKET = "floorbench"
SUBJECT = "floor.create"


async def _respond(url: str, options: dict[str, Any]) -> None:
    from jetkube.services.machinery.client import Server
    from jetkube.services.machinery.runtime import tune_gc
    from jetkube.services.machinery.store import NatsStore, WatchEvent, connect

    tune_gc()
    nc = await connect(url, **options)
    store = await NatsStore.open(nc, BUCKET)

    def on_event(ev: WatchEvent) -> None:
        if ev.value:
            orjson.loads(ev.value)

    await store.watch("", on_event)

    async def create(subject: str, headers: dict[str, str], body: bytes
                     ) -> tuple[bytes, dict[str, str]]:
        rev = await store.create(f"pods.bench.{subject.rpartition('.')[2]}", body)
        return body, {"Jetkube-Code": "201", "Revision": str(rev)}

    await Server(nc, f"{SUBJECT}.*", "floor", create).start()
    print("ready", flush=True)
    await asyncio.Event().wait()


async def floor_creates(c: Any, bodies: list[bytes], concurrency: int
                        ) -> tuple[float, list[float]]:
    """Creates of ``bodies`` through the floor responder on ``c``'s bus, ``concurrency``
    in flight: the rate, and the CPU microseconds per create of the responder, the
    nats-server and this process."""
    from jetkube.services.machinery.store import connect

    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__)), c.nats_url, orjson.dumps(c.nats_options).decode(),
        stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 30)).strip() == b"ready"
        nc = await connect(c.nats_url, **c.nats_options)
        sem = asyncio.Semaphore(concurrency)

        async def one(i: int) -> None:
            async with sem:
                await nc.request(f"{SUBJECT}.f{i}", bodies[i], timeout=30)

        def snap() -> tuple[float, float, float]:
            return cpu_seconds(proc.pid), cpu_seconds(c.nats_pid), time.process_time()

        warm = len(bodies) // 5
        await asyncio.gather(*(one(i) for i in range(warm)))
        before, t = snap(), time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(warm, len(bodies))))
        wall, after = time.perf_counter() - t, snap()
        await nc.close()
        n = len(bodies) - warm
        return n / wall, per_op(before, after, n)
    finally:
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


if __name__ == "__main__":
    try:
        import uvloop  # as the services run
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_respond(sys.argv[1], orjson.loads(sys.argv[2])))
