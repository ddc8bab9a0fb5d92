"""Durability on one node (R1, nats-server's default sync): every write the store
acknowledged is there after nats-server is killed with SIGKILL and started again on the
same store dir.  (The acknowledgement means the message is in nats-server's file, in the
kernel's page cache: a process crash loses nothing; a power loss may lose what was not
yet fsynced, unless --nats-sync always; R3 is tested by the chaos e2e.)"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import pytest

from jetkube.services.machinery.store import NatsStore, connect, free_port, start_nats_server

pytestmark = pytest.mark.integration


async def test_every_acknowledged_write_survives_sigkill_and_restart(tmp_path: Path) -> None:
    port = free_port()
    proc, url = start_nats_server(tmp_path / "js", port)
    try:
        nc = await connect(url, max_reconnect_attempts=0)
        store = await NatsStore.open(nc, "durable")
        sem = asyncio.Semaphore(64)
        acked: dict[str, int] = {}

        async def write(i: int) -> None:
            async with sem:
                acked[f"cm.k{i}"] = await store.create(f"cm.k{i}", f"v{i}".encode())

        await asyncio.gather(*(write(i) for i in range(2000)))
        assert len(acked) == 2000  # the target exists: 2,000 acknowledged writes
        proc.send_signal(signal.SIGKILL)  # no shutdown, no flush
        proc.wait(10)
        await nc.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    proc, url = start_nats_server(tmp_path / "js", port)
    try:
        nc = await connect(url, max_reconnect_attempts=0)
        store = await NatsStore.open(nc, "durable")
        entries, _ = await store.list("cm.")
        found = {e.key: e.revision for e in entries}
        assert found == acked  # every key, at the revision its write was acknowledged with
        await nc.close()
    finally:
        proc.kill()
        proc.wait(10)
