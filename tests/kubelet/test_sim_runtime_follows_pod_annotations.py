"""The sim runtime keeps the runtime protocol without containers: containers run until
stopped, or exit when the pod's annotations say (per container too); starts take the
configured delay; SIGTERM is honoured after sim-term-delay, else SIGKILL at the grace;
pulls of *.invalid registries fail; probes pass unless annotated (or set) to fail; each
sandbox gets an address from the node's podCIDR; everything is labelled for adoption."""

from __future__ import annotations

from typing import Any

import pytest

from jetkube.services.kubelet.runtime import (
    ANNOTATION_CONTAINER_TYPE,
    ContainerInfo,
    ContainerSpec,
    ImagePullError,
    PodRef,
    Runtime,
    SandboxSpec,
)
from jetkube.services.kubelet.runtimes.sim import SimRuntime
from jetkube.services.machinery.runtime import FakeClock

POD = PodRef("uid-1", "default", "web")


async def sandbox(rt: SimRuntime, **ann: str) -> Any:
    return await rt.run_sandbox(SandboxSpec(pod=POD, hostname="web", annotations=ann))


def spec(name: str = "c", init: bool = False, attempt: int = 0) -> ContainerSpec:
    return ContainerSpec(name=name, image="busybox:1.36", attempt=attempt,
                         annotations={ANNOTATION_CONTAINER_TYPE: "init" if init else "app"})


async def settle() -> None:
    import asyncio

    for _ in range(5):
        await asyncio.sleep(0)


async def test_it_satisfies_the_runtime_protocol() -> None:
    rt: Runtime = SimRuntime("n1")
    assert rt.name == "sim" and await rt.version() == "sim://0.1.0"


async def test_containers_run_until_stopped_or_their_exit_time() -> None:
    clock = FakeClock()
    rt = SimRuntime("n1", clock=clock)
    exits: list[ContainerInfo] = []
    rt.on_exit(exits.append)
    sb = await sandbox(rt, **{"jetkube.io/sim-exit-after.job": "5",
                              "jetkube.io/sim-exit-code.job": "7"})
    forever = await rt.create_and_start(sb, spec("c"))
    job = await rt.create_and_start(sb, spec("job"))
    init = await rt.create_and_start(sb, spec("setup", init=True))
    assert forever.state == job.state == init.state == "running"
    await settle()
    assert [(e.name, e.exit_code, e.reason) for e in exits] == [("setup", 0, "Completed")]
    await clock.advance(5)
    assert exits[-1].name == "job" and exits[-1].exit_code == 7 and exits[-1].reason == "Error"
    await clock.advance(1000)
    assert (await rt.inspect(forever.id)).state == "running"
    assert {c.name: c.state for c in await rt.list_containers()} == {
        "c": "running", "job": "exited", "setup": "exited"}
    assert all(c.pod == POD for c in await rt.list_containers())


async def test_start_delay_and_graceful_or_forced_stop() -> None:
    clock = FakeClock()
    rt = SimRuntime("n1", clock=clock, start_delay=2)
    sb = await sandbox(rt, **{"jetkube.io/sim-term-delay.slow": "50",
                              "jetkube.io/sim-start-delay.fast": "0"})
    import asyncio

    starting = asyncio.ensure_future(rt.create_and_start(sb, spec("slow")))
    await settle()
    assert not starting.done()
    await clock.advance(2)
    slow = await starting
    fast = await rt.create_and_start(sb, spec("fast"))  # its own delay: none
    assert fast.state == "running"
    await rt.stop_container(fast.id, 30)
    assert (await rt.inspect(fast.id)).exit_code == 143
    stopping = asyncio.ensure_future(rt.stop_container(slow.id, 30))
    await clock.advance(29)
    assert (await rt.inspect(slow.id)).state == "running"
    await clock.advance(1)
    await stopping
    assert (await rt.inspect(slow.id)).exit_code == 137


async def test_images_probes_addresses_exec_and_removal() -> None:
    rt = SimRuntime("n1", pod_cidr="10.244.3.0/24")
    assert (await rt.ensure_image("busybox:1.36", "IfNotPresent")).startswith("sha256:")
    with pytest.raises(ImagePullError) as err:
        await rt.ensure_image("registry.invalid/app:1", "IfNotPresent")
    assert err.value.reason == "ErrImagePull"
    with pytest.raises(ImagePullError) as err:
        await rt.ensure_image("registry.invalid/app:1", "Never")
    assert err.value.reason == "ErrImageNeverPull"
    sb = await sandbox(rt, **{"jetkube.io/sim-probe-fail": "c/liveness,readiness",
                              "jetkube.io/sim-exec-exit-code": "3"})
    assert sb.ip == "10.244.3.2"
    assert (await sandbox(rt)).ip == "10.244.3.3"
    c = await rt.create_and_start(sb, spec("c"))
    d = await rt.create_and_start(sb, spec("d"))
    assert (await rt.simulate_probe(c.id, "liveness", {}))[0] is False
    assert (await rt.simulate_probe(d.id, "liveness", {}))[0] is True
    assert (await rt.simulate_probe(d.id, "readiness", {}))[0] is False
    assert (await rt.simulate_probe(d.id, "startup", {}))[0] is True
    rt.set_probe("uid-1", "c", "liveness", True)
    assert (await rt.simulate_probe(c.id, "liveness", {}))[0] is True
    assert await rt.exec(c.id, ["true"]) == (3, b"")
    assert b"sim container c" in b"".join([x async for x in rt.logs(c.id)])
    await rt.remove_sandbox(sb.id)
    assert [x.pod for x in await rt.list_sandboxes()] == [POD]
    assert await rt.list_containers() == []
    await rt.close()


async def test_a_thousand_nodes_are_cheap() -> None:
    import tracemalloc

    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    nodes = [SimRuntime(f"hollow-{i}") for i in range(1000)]
    for rt in nodes[:100]:
        sb = await rt.run_sandbox(SandboxSpec(pod=POD, hostname="p"))
        await rt.create_and_start(sb, spec())
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    assert used < 8 * 2**20, used  # well under 8 MiB for a thousand runtimes
