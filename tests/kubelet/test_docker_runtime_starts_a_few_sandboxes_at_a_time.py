"""The Docker runtime creates and starts at most ``max_parallel_sandbox_starts`` pod
sandboxes at once on its daemon (the daemon is faster so: config.py's
MAX_PARALLEL_SANDBOX_STARTS); the others wait their turn and all start, in the order they
asked; a sandbox whose start fails gives its turn back; 0 means no bound.  The Engine
here is a fake that holds each sandbox's start until the test lets it go."""

from __future__ import annotations

import asyncio
from typing import Any

import docker.errors
import pytest
from polling import until

from jetkube.services.kubelet.config import MAX_PARALLEL_SANDBOX_STARTS, AgentConfig
from jetkube.services.kubelet.main import parse_args
from jetkube.services.kubelet.runtime import PodRef, RuntimeError_, SandboxSpec
from jetkube.services.kubelet.runtimes.docker import DockerRuntime


class HeldEngine:
    """The Engine API calls of a sandbox's start: each start waits for its release."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.starting: list[str] = []  # started and not yet released
        self.most = 0  # the most sandboxes between create and released start at once
        self._in_flight = 0
        self.release: dict[str, asyncio.Future[None]] = {}
        self.fail: set[str] = set()

    def create_host_config(self, **kw: Any) -> dict[str, Any]:
        return kw

    def create_container_config(self, **kw: Any) -> dict[str, Any]:
        return kw

    async def create_container(self, config: dict[str, Any], name: str | None) -> str:
        cid = f"id-{name}"
        self.created.append(cid)
        self._in_flight += 1
        self.most = max(self.most, self._in_flight)
        return cid

    async def start(self, cid: str) -> None:
        self.starting.append(cid)
        self.release[cid] = asyncio.get_running_loop().create_future()
        try:
            await self.release[cid]
            if cid in self.fail:
                raise docker.errors.APIError(f"{cid} did not start")
        finally:
            self._in_flight -= 1
            self.starting.remove(cid)

    async def remove_container(self, cid: str, force: bool = False) -> None:
        pass

    async def inspect_container(self, cid: str) -> dict[str, Any]:
        return {"Id": cid, "State": {"Status": "running", "Pid": 42},
                "Config": {"Labels": {"io.jetkube.pod.uid": cid}},
                "NetworkSettings": {"IPAddress": "172.17.0.9", "Networks": {}}}

    def let_go(self, cid: str) -> None:
        self.release[cid].set_result(None)


class FakeClient:
    def __init__(self, api: HeldEngine) -> None:
        self.api = api


def runtime(engine: HeldEngine, bound: int, tmp: Any) -> DockerRuntime:
    rt = DockerRuntime("n1", client=FakeClient(engine), engine=engine,  # type: ignore[arg-type]
                       scope="bounded", pod_network="none", root_dir=tmp,
                       max_parallel_sandbox_starts=bound)
    rt._pause_id = "pause"  # known: no image check
    return rt


def spec(i: int) -> SandboxSpec:
    return SandboxSpec(PodRef(f"u{i}", "default", f"p{i}"), hostname=f"p{i}")


async def test_no_more_than_the_bound_start_at_once_and_every_one_starts(tmp_path: Any) -> None:
    engine = HeldEngine()
    rt = runtime(engine, 2, tmp_path)
    tasks = [asyncio.create_task(rt.run_sandbox(spec(i))) for i in range(5)]
    await until(lambda: len(engine.starting) == 2, message="two sandboxes starting")
    await asyncio.sleep(0.05)  # the other three asked meanwhile, and wait
    assert len(engine.created) == 2 and engine.most == 2
    done: list[str] = []
    while len(done) < 5:  # each release lets the next one in, in the order they asked
        held = await until(lambda: [c for c in engine.starting if c not in done],
                           message="a sandbox starting")
        engine.let_go(held[0])
        done.append(held[0])
    sandboxes = await asyncio.gather(*tasks)
    assert engine.most == 2 and len(engine.created) == 5 and done == engine.created
    assert [s.id for s in sandboxes] == engine.created  # the order they asked in
    assert [s.id for s in sandboxes] == [f"id-k8s_POD_p{i}_default_u{i}_0" for i in range(5)]


async def test_a_failed_start_gives_its_turn_back(tmp_path: Any) -> None:
    engine = HeldEngine()
    rt = runtime(engine, 1, tmp_path)
    failing = asyncio.create_task(rt.run_sandbox(spec(0)))
    await until(lambda: engine.starting, message="the first sandbox starting")
    waiting = asyncio.create_task(rt.run_sandbox(spec(1)))
    await asyncio.sleep(0.05)
    assert len(engine.created) == 1  # the second waits its turn
    engine.fail.add(engine.starting[0])
    engine.let_go(engine.starting[0])
    with pytest.raises(RuntimeError_, match="did not start"):
        await failing
    second = await until(lambda: [c for c in engine.starting if "_p1_" in c],
                         message="the second sandbox starting")
    engine.let_go(second[0])
    assert (await waiting).id == second[0] and engine.most == 1


async def test_zero_means_no_bound(tmp_path: Any) -> None:
    engine = HeldEngine()
    rt = runtime(engine, 0, tmp_path)
    tasks = [asyncio.create_task(rt.run_sandbox(spec(i))) for i in range(6)]
    await until(lambda: len(engine.starting) == 6, message="all six starting at once")
    for cid in list(engine.starting):
        engine.let_go(cid)
    assert len(await asyncio.gather(*tasks)) == 6 and engine.most == 6


def test_the_agent_takes_the_bound_from_its_flag() -> None:
    cfg, *_ = parse_args(["--node-name", "n1", "--max-parallel-sandbox-starts", "2"])
    assert cfg.max_parallel_sandbox_starts == 2
    cfg, *_ = parse_args(["--node-name", "n1"])
    assert cfg.max_parallel_sandbox_starts == MAX_PARALLEL_SANDBOX_STARTS == AgentConfig(
        "n").max_parallel_sandbox_starts
    with pytest.raises(SystemExit):
        parse_args(["--node-name", "n1", "--max-parallel-sandbox-starts", "-1"])
