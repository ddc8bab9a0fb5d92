"""Test helper for pods/log and pods/exec (not a test module), shared by
kubelet/test_pod_logs_exec_through_the_api.py and kctl/test_kctl_logs_exec_against_a_node_agent.py:
a scripted in-memory runtime (``FakeRuntime``), the container finder the node agent's
face (``serve_node_requests``) is given, an HTTP client of the API server, and ``make_pod``.

The ``node`` fixture (a FakeRuntime behind a node agent's NATS face) is in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx

from jetkube.services.kubelet.runtime import ContainerInfo, PodRef, RuntimeError_
from jetkube.services.kubelet.runtimes.sim_session import SimSession

NODE = "node-a.example"


class FakeRuntime:
    """Containers that are lists of lines; ``add`` appends one while someone follows."""

    name = "fake"

    def __init__(self) -> None:
        self.lines: dict[str, list[bytes]] = {}
        self.infos: dict[str, ContainerInfo] = {}
        self.waiters: dict[str, asyncio.Event] = {}
        self.ended: set[str] = set()
        self.open_streams = 0
        self.log_calls: list[dict[str, Any]] = []
        self.sessions: list[tuple[str, list[str] | None, bool, bool, SimSession]] = []

    def add_container(self, cid: str, pod: str, name: str, attempt: int = 0,
                      state: str = "running") -> None:
        self.lines[cid] = []
        self.waiters[cid] = asyncio.Event()
        self.infos[cid] = ContainerInfo(cid, PodRef("uid-" + pod, "default", pod), name, attempt,
                                        "img", "sha256:x", state)  # type: ignore[arg-type]

    def add(self, cid: str, line: bytes) -> None:
        self.lines[cid].append(line)
        self.waiters[cid].set()

    def end(self, cid: str) -> None:
        self.ended.add(cid)
        self.waiters[cid].set()

    async def inspect(self, cid: str) -> ContainerInfo:
        if cid not in self.infos:
            raise RuntimeError_("NotFound", cid)
        return self.infos[cid]

    async def list_containers(self) -> list[ContainerInfo]:
        return list(self.infos.values())

    async def logs(self, cid: str, *, follow: bool = False, tail: int | None = None,
                   timestamps: bool = False) -> AsyncIterator[bytes]:
        self.log_calls.append({"cid": cid, "follow": follow, "tail": tail,
                               "timestamps": timestamps})
        if cid not in self.lines:
            raise RuntimeError_("NotFound", f"no container {cid}")
        self.open_streams += 1
        try:
            sent = len(self.lines[cid]) - tail if tail is not None else 0
            sent = max(sent, 0)
            while True:
                while sent < len(self.lines[cid]):
                    line = self.lines[cid][sent]
                    sent += 1
                    yield (b"2024-01-01T00:00:00Z " + line) if timestamps else line
                if not follow or cid in self.ended:
                    return
                self.waiters[cid].clear()
                await self.waiters[cid].wait()
        finally:
            self.open_streams -= 1

    async def exec(self, cid: str, command: list[str],
                   limit_s: float | None = None) -> tuple[int, bytes]:
        if command[0] == "sleep":
            async with asyncio.timeout(limit_s):
                await asyncio.sleep(float(command[1]))
        if command[0] == "boom":
            raise ValueError("the runtime broke")
        if command[0] == "exit":
            return int(command[1]), b"bye\n"
        return 0, (" ".join(command) + "\n").encode()


    async def open_stream(self, cid: str, command: list[str] | None, *, stdin: bool,
                          tty: bool) -> SimSession:
        """The sim runtime's echo session; ``exit N`` sets its exit code."""
        if cid not in self.infos:
            raise RuntimeError_("NotFound", f"no container {cid}")
        code = (int(command[1]) if command and command[0] == "exit" else
                0 if command is not None else None)
        session = SimSession(stdin=stdin, code=code)
        self.sessions.append((cid, command, stdin, tty, session))
        return session


def find_running(rt: FakeRuntime) -> Any:
    def find(ns: str, pod: str, container: str | None) -> str | None:
        live = [i for i in rt.infos.values() if i.pod.name == pod and i.name == container
                and i.state == "running"]
        return max(live, key=lambda i: i.attempt).id if live else None
    return find


def http(apiserver: dict[str, Any], token: str = "admin-token") -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=str(apiserver["url"]), timeout=20,
                             headers={"Authorization": f"Bearer {token}"})


async def make_pod(c: httpx.AsyncClient, name: str, containers: tuple[str, ...] = ("app",),
                   node: str | None = NODE) -> None:
    spec: dict[str, Any] = {"containers": [{"name": n, "image": "img"} for n in containers]}
    if node:
        spec["nodeName"] = node
    r = await c.post("/api/v1/namespaces/default/pods", json={
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
    assert r.status_code == 201, r.text
