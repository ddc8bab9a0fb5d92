"""A container's stop can block for its whole grace period (the daemon answers ``POST
/containers/{id}/stop`` only once the container is gone), so the Docker runtime runs it on
a daemon thread of its own: other pods' Engine API calls do not queue behind it in the
runtime's pool, and an agent told to stop exits without waiting for it (as a stopped
kubelet leaves its containers to the runtime).  Found with ``kctl down`` on pods whose
main process ignored SIGTERM: each node agent was killed after 10 s.  No daemon here: a
fake Engine API whose stop blocks until the test lets it go."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import docker.errors

from jetkube.services.kubelet.runtime import RuntimeError_
from jetkube.services.kubelet.runtimes.docker import DockerRuntime


class FakeApi:
    def __init__(self) -> None:
        self.release = threading.Event()
        self.stopping = threading.Event()
        self.missing: set[str] = set()

    def stop(self, cid: str, timeout: int) -> None:
        if cid in self.missing:
            raise docker.errors.NotFound(f"no container {cid}")
        if cid == "broken":
            raise docker.errors.APIError("the daemon failed")
        self.stopping.set()
        self.release.wait()

    def inspect_container(self, cid: str) -> dict[str, Any]:
        return {"Id": cid, "Image": "sha256:one", "Config": {"Image": "busybox", "Labels": {}},
                "State": {"Status": "running", "StartedAt": "2026-01-01T00:00:00Z"}}


class FakeClient:
    def __init__(self) -> None:
        self.api = FakeApi()

    def close(self) -> None:
        pass


async def test_a_stop_in_its_grace_period_does_not_hold_up_other_calls(tmp_path: Path) -> None:
    client = FakeClient()
    rt = DockerRuntime("n1", client=client, scope="stoptest", pod_network="none",
                       root_dir=tmp_path, workers=1)
    try:
        stop = asyncio.create_task(rt.stop_container("slow", 30))
        assert await asyncio.to_thread(client.api.stopping.wait, 5)
        # the pool's one worker is free: an inspect answers while the stop still waits
        info = await asyncio.wait_for(rt.inspect("other"), 5)
        assert info.id == "other" and not stop.done()
        client.api.release.set()
        await asyncio.wait_for(stop, 5)
    finally:
        client.api.release.set()
        await rt.close()


async def test_a_stop_reports_the_daemons_errors_and_a_gone_container_is_stopped(
        tmp_path: Path) -> None:
    client = FakeClient()
    client.api.missing.add("gone")
    rt = DockerRuntime("n1", client=client, scope="stoptest", pod_network="none",
                       root_dir=tmp_path, workers=1)
    try:
        await rt.stop_container("gone", 1)  # NotFound: nothing left to stop
        try:
            await rt.stop_container("broken", 1)
        except RuntimeError_ as err:
            assert err.reason == "StopContainerError"
        else:
            raise AssertionError("a failed stop must raise")
    finally:
        await rt.close()


def test_an_agent_exits_while_a_stop_still_waits_on_the_daemon(tmp_path: Path) -> None:
    script = textwrap.dedent(f"""
        import asyncio, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_docker_runtime_stop_holds_no_pool_worker import FakeClient
        from jetkube.services.kubelet.runtimes.docker import DockerRuntime

        async def main():
            client = FakeClient()  # its stop never returns
            rt = DockerRuntime("n1", client=client, scope="stoptest", pod_network="none",
                               root_dir={str(tmp_path)!r}, workers=1)
            task = asyncio.create_task(rt.stop_container("slow", 30))
            await asyncio.to_thread(client.api.stopping.wait, 5)
            task.cancel()  # the agent's shutdown cancels its pod workers
            await rt.close()
            print("closed", flush=True)

        asyncio.run(main())
    """)
    p = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and p.stdout.strip() == "closed", p
