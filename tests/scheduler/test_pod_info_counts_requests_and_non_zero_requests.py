"""PodInfo's requests (``resourcehelper.PodRequests``) and non-zero requests (a container
asking for no cpu or memory counts as 100m / 200Mi): the one walk over app containers
that most pods take gives exactly what the full computation gives."""

from __future__ import annotations

import random

from jetkube.schemas.objects import Obj
from jetkube.services.scheduler.podinfo import Requests, pod_info, pod_requests
from jetkube.services.scheduler.testing import make_pod

MI = 1024 * 1024


def test_containers_without_requests_count_as_the_defaults_when_scoring() -> None:
    pi = pod_info(make_pod("p", containers=2))
    assert pi.requests == Requests() and (pi.non_zero_cpu, pi.non_zero_memory) == (200, 400 * MI)
    pi = pod_info(make_pod("q", cpu="250m", containers=2))
    assert pi.requests.cpu == 500 and pi.requests.memory == 0
    assert (pi.non_zero_cpu, pi.non_zero_memory) == (500, 400 * MI)


def test_an_init_container_still_sets_the_pods_requests_as_a_maximum() -> None:
    pi = pod_info(make_pod("p", cpu="100m", init_containers=[
        {"name": "init", "image": "busybox", "resources": {"requests": {"cpu": "1"}}}]))
    assert pi.requests.cpu == 1000 and pi.non_zero_cpu == 1000


def _random_spec(rng: random.Random) -> Obj:
    containers = []
    for j in range(rng.randint(0, 3)):
        req: Obj = {}
        for name, values in (("cpu", ["0", "10m", "1"]), ("memory", ["0", "16Mi", "1Gi"]),
                             ("ephemeral-storage", ["1Gi"]), ("example.com/gpu", ["1"])):
            if rng.random() < 0.5:
                req[name] = rng.choice(values)
        c: Obj = {"name": f"c{j}", "image": "busybox"}
        if req or rng.random() < 0.5:
            c["resources"] = {"requests": req}
        containers.append(c)
    return {"containers": containers}


def test_the_one_walk_gives_what_the_full_computation_gives() -> None:
    rng = random.Random(7)
    for _ in range(500):
        spec = _random_spec(rng)
        pi = pod_info({"metadata": {"name": "p", "namespace": "d"}, "spec": spec})
        full = pod_requests(spec, non_zero=True)
        assert pi.requests == pod_requests(spec), spec
        assert (pi.non_zero_cpu, pi.non_zero_memory) == (full.cpu, full.memory), spec
