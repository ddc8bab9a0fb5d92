"""API benchmark: prints, in one run, the figures of the foundation issue.

- create throughput and p50/p99 latency through the API server at fixed
  concurrency (HTTP and NATS faces; HTTP from bench/_httpload.py's lean keep-alive
  client, which costs this machine about what the NATS client does, not aiohttp's, its
  connections kept from round to round as the NATS connections are),
  the raw nats-py KV put rate on the same nats-server at the same concurrency, and
  their ratio (goal >= 0.25): the puts, the creates over HTTP and those over NATS are
  measured in rounds, one after the other, and each face's ratio is the median of the
  rounds' own ratios (each compares two windows a moment apart);
- mutating-call p99 at a paced 500 writes/s (goal <= 25 ms, issue 17; Kubernetes' SLO
  is 1 s at 20 writes/s), with the p99 of watch delivery (request sent ->
  informer handler, an upper bound on commit -> handler) with 10,000 pods stored;
- time to list 10,000 pods;
- what one raw put and one create cost the whole machine in CPU (API servers,
  nats-server, this load generator, from /proc), and the create rate this machine's
  cores would allow at that cost (its ratio: the goal's ceiling here); beside them the
  transport's floor (bench/_floor.py): a responder that only takes the request, creates
  the body in a KV bucket, answers and watches, on the same bus;
- with ``--api-servers N``, N processes on one port (SO_REUSEPORT), each one's peak RSS and
  CPU; ``--on-demand pods,events`` starts the second and later ones with
  ``--watch-cache-on-demand`` (issue 17 deliverable 5) and projects 8 processes.

Everything runs on loopback against a private nats-server and API server that
this script starts and stops, first on an open bus, then on the secured one that
``kctl up`` runs (TLS, an nkey and allow-list per identity), with the cost of security
printed last.  Usage: python bench/api.py [--quick] [--bus open|secured|both]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import cluster, cpu_seconds, percentile, rss_mib, service_account
from _floor import floor_creates
from _httpload import HttpCreates

from jetkube.services.machinery.client import ApiClient, Informer
from jetkube.services.machinery.runtime import tune_gc
from jetkube.services.machinery.store import NatsStore, connect

NS = "bench"
BATCH_NS = "bench-batched"
BATCH = 64
"""Pods per batched create over NATS (the client's default batch, ApiClient.BATCH)."""
ROUNDS = 5
"""Rounds of raw puts, creates over HTTP and creates over NATS in turn; a face's ratio is
the median of the rounds' own ratios (each compares two windows a moment apart)."""


def pod(name: str, namespace: str = NS) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                                     "resources": {"requests": {"cpu": "10m"}}}]}}


class RawPuts:
    """The anchor: raw nats-py KV puts (a connection of nats-py as it comes, its own KV
    put) into a bucket of their own, ``concurrency`` in flight, a window at a time."""

    def __init__(self, nats_url: str, concurrency: int, options: dict[str, Any]) -> None:
        self.nats_url, self.concurrency, self.options = nats_url, concurrency, options
        self.body = orjson.dumps(pod("x"))
        self.sent = 0

    async def __aenter__(self) -> RawPuts:
        self.nc = await connect(self.nats_url, plain=True, **self.options)
        self.store = await NatsStore.open(self.nc, "rawbench")
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.store.js.delete_key_value("rawbench")
        await self.nc.close()

    async def rate(self, n: int) -> float:
        """Puts a second over ``n`` new keys."""
        sem = asyncio.Semaphore(self.concurrency)

        async def put(i: int) -> None:
            async with sem:
                await self.store.kv.put(f"pods.{NS}.raw{i}", self.body)

        first, self.sent = self.sent, self.sent + n
        t = time.perf_counter()
        await asyncio.gather(*(put(i) for i in range(first, first + n)))
        return n / (time.perf_counter() - t)


async def nats_creates(api: ApiClient, names: list[str],
                       concurrency: int) -> tuple[float, list[float]]:
    lat: list[float] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(name: str) -> None:
        async with sem:
            t = time.perf_counter()
            await api.create("pods", NS, pod(name))
            lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(one(n) for n in names))
    return len(names) / (time.perf_counter() - t0), lat


async def nats_batched_creates(api: ApiClient, names: list[str], batch: int,
                               in_flight: int) -> float:
    """Creates in batched requests (natsbatch.py) of ``batch`` pods, ``in_flight`` at once."""
    sem = asyncio.Semaphore(in_flight)

    async def one(chunk: list[str]) -> None:
        async with sem:
            made = await api.create_many("pods", BATCH_NS, [pod(n, BATCH_NS) for n in chunk])
            failed = [m for m in made if isinstance(m, Exception)]
            assert not failed, failed[:3]

    t0 = time.perf_counter()
    await asyncio.gather(*(one(names[i:i + batch]) for i in range(0, len(names), batch)))
    return len(names) / (time.perf_counter() - t0)


async def paced_writes(session: aiohttp.ClientSession, url: str, rate: float, seconds: float,
                       sent: dict[str, float]) -> tuple[list[float], int]:
    """Open-loop: request i is sent at t0 + i/rate whatever the others do, each from its
    own task started on time (not thousands of tasks made up front, whose first steps
    would start the window late and send its first requests in one burst)."""
    lat: list[float] = []
    errors = 0
    n = int(rate * seconds)

    async def one(i: int) -> None:
        nonlocal errors
        name = f"paced-{i}"
        t = time.perf_counter()
        sent[name] = t
        async with session.post(f"{url}/api/v1/namespaces/{NS}/pods",
                                data=orjson.dumps(pod(name))) as r:
            await r.read()
            if r.status != 201:
                errors += 1
        lat.append(time.perf_counter() - t)

    tasks = []
    t0 = time.perf_counter()
    for i in range(n):
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return lat, errors


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def machine_cpu(c: Any) -> tuple[float, float, float]:
    """CPU seconds so far of the API servers (together), the nats-server and this
    process (the load generator): with two snapshots, what one operation costs the
    machine, whoever pays it."""
    return (sum(cpu_seconds(pid) for pid in c.api_pids), cpu_seconds(c.nats_pid),
            time.process_time())


async def run(quick: bool, api_servers: int, secure: bool, on_demand: str = ""
              ) -> dict[str, float]:
    """One whole measurement on an open or a secured bus; prints its block, returns its
    figures."""
    n_create = 1000 if quick else 10_000
    concurrency = 64
    pace, pace_s = (100.0, 2.0) if quick else (500.0, 10.0)
    with cluster(api_servers, secure=secure, on_demand=on_demand) as c:
        headers = {"Authorization": f"Bearer {c.token}", "Content-Type": "application/json"}
        conn = aiohttp.TCPConnector(limit=concurrency * 4)
        async with aiohttp.ClientSession(headers=headers, connector=conn) as s:
            async with s.post(f"{c.api_url}/api/v1/namespaces", data=orjson.dumps(
                    {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})) as r:
                assert r.status == 201, await r.text()
            async with s.post(f"{c.api_url}/api/v1/namespaces/{NS}/serviceaccounts",
                              data=orjson.dumps(service_account(NS))) as r:
                assert r.status == 201, await r.text()
            floor, floor_us = await floor_creates(
                c, [orjson.dumps(pod(f"f{i}")) for i in range(n_create)], concurrency)
            nc = await connect(c.nats_url, **{"identity": "admin", **c.nats_options})
            api = ApiClient(nc, "admin")
            # rounds of raw puts, creates over HTTP and creates over NATS in turn: each
            # round's windows see the same machine, whose speed moves by 15-25 % from
            # second to second here
            per = n_create // 2 // ROUNDS
            n_nats = n_create - ROUNDS * per
            sizes = [n_nats // ROUNDS] * (ROUNDS - 1)
            sizes.append(n_nats - sum(sizes))
            raw_rounds: list[float] = []
            http_rounds: list[float] = []
            nats_rounds: list[float] = []
            http_lat: list[float] = []
            nats_lat = []
            raw_cpu, create_cpu = [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]
            async with RawPuts(c.nats_url, concurrency, c.nats_options) as raw_puts, \
                    HttpCreates(c.api_url, c.token, concurrency) as http_load:
                for r, size in enumerate(sizes):
                    m0 = machine_cpu(c)
                    raw_rounds.append(await raw_puts.rate(n_create // ROUNDS))
                    m1 = machine_cpu(c)
                    rate, lat = await http_load.run(
                        f"/api/v1/namespaces/{NS}/pods", [f"h{r}-{i}" for i in range(per)], pod)
                    http_rounds.append(rate)
                    http_lat += lat
                    mh = machine_cpu(c)
                    rate, lat = await nats_creates(
                        api, [f"n{r}-{i}" for i in range(size)], concurrency)
                    m2 = machine_cpu(c)
                    nats_rounds.append(rate)
                    nats_lat += lat
                    for i in range(3):
                        raw_cpu[i] += m1[i] - m0[i]
                        create_cpu[i] += m2[i] - mh[i]
            raw_us = [x / n_create * 1e6 for x in raw_cpu]
            create_us = [x / n_nats * 1e6 for x in create_cpu]
            raw = statistics.median(raw_rounds)
            nats_rate = statistics.median(nats_rounds)
            http_rate = statistics.median(http_rounds)
            ratios = [n / r for n, r in zip(nats_rounds, raw_rounds, strict=True)]
            http_ratios = [h / r for h, r in zip(http_rounds, raw_rounds, strict=True)]
            for kind, body in (("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                               "metadata": {"name": BATCH_NS}}),
                               ("serviceaccounts", service_account(BATCH_NS))):
                await api.create(kind, None if kind == "namespaces" else BATCH_NS, body)
            cpu2 = sum(cpu_seconds(pid) for pid in c.api_pids)
            batched_rate = await nats_batched_creates(
                api, [f"b{i}" for i in range(n_nats)], BATCH, max(1, concurrency // BATCH))
            cpu3 = sum(cpu_seconds(pid) for pid in c.api_pids)
            nats_cpu, batched_cpu = create_us[0] / 1e6, (cpu3 - cpu2) / n_nats
            stored = n_create

            list_times = []  # each on a new connection: the kernel picks the API server
            for _ in range(3 if api_servers > 1 else 1):
                t = time.perf_counter()
                async with aiohttp.ClientSession(headers=headers) as one, one.get(
                        f"{c.api_url}/api/v1/namespaces/{NS}/pods") as r:
                    body = await r.read()
                list_times.append(time.perf_counter() - t)
            list_s = list_times[0]
            listed = len(orjson.loads(body)["items"])

            store = await NatsStore.open(nc, "jetkube", create=False)  # a reader
            inf = Informer(store, f"pods.{NS}.")
            sent: dict[str, float] = {}
            delivery: list[float] = []

            def on_add(obj: dict[str, Any]) -> None:
                t0 = sent.get(obj["metadata"]["name"])
                if t0 is not None:
                    delivery.append(time.perf_counter() - t0)

            inf.add_event_handler(on_add=on_add)
            t = time.perf_counter()
            inf.start()
            await inf.wait_synced()
            sync_s = time.perf_counter() - t
            # the load generator's own pauses are not the server's latency: its heap (10,000
            # pods in the informer) leaves the collector's walks, as a service's start-up does
            tune_gc(freeze=True)
            paced_lat, errors = await paced_writes(s, c.api_url, pace, pace_s, sent)
            for _ in range(100):
                if len(delivery) >= len(sent):
                    break
                await asyncio.sleep(0.05)
            await inf.stop()
            await nc.close()
            gc.unfreeze()
        rss_each = [rss_mib(pid) for pid in c.api_pids]
        rss_now = [rss_mib(pid, "VmRSS") for pid in c.api_pids]
        cpu_each = [cpu_seconds(pid) for pid in c.api_pids]
        api_rss, api_cpu = sum(rss_each), sum(cpu_each)

    ratio = max(statistics.median(ratios), statistics.median(http_ratios))
    bus = "secured bus (TLS, nkeys, allow-lists)" if secure else "open bus (no auth, no TLS)"
    shape = (f"{api_servers} API server(s)" + (f", the second on on-demand {on_demand}"
                                                if on_demand and api_servers > 1 else ""))
    print(f"jetkube API benchmark ({'quick' if quick else 'full'}), {shape},"
          f" {os.cpu_count()} cores, loopback, {bus}")
    print(f"  raw nats-py KV put rate        {raw:8.0f} puts/s   ({concurrency} in flight; median"
          f" of {ROUNDS} rounds: {', '.join(f'{r:.0f}' for r in raw_rounds)})")
    print(f"  create via HTTP                {http_rate:8.0f} obj/s    p50 {ms(percentile(http_lat, 50))}"
          f"  p99 {ms(percentile(http_lat, 99))}  ({concurrency} in flight; median of"
          f" {ROUNDS} rounds, each after its round of raw puts:"
          f" {', '.join(f'{r:.0f}' for r in http_rounds)})")
    print(f"  create via NATS request/reply  {nats_rate:8.0f} obj/s    p50 {ms(percentile(nats_lat, 50))}"
          f"  p99 {ms(percentile(nats_lat, 99))}  ({concurrency} in flight; median of"
          f" {ROUNDS} rounds, each after its round of raw puts:"
          f" {', '.join(f'{r:.0f}' for r in nats_rounds)})")
    print(f"  create via NATS, batches of {BATCH} {batched_rate:6.0f} obj/s    API server CPU per create"
          f" {batched_cpu * 1e3:.2f} ms, against {nats_cpu * 1e3:.2f} ms one by one (same run;"
          f" {max(1, concurrency // BATCH)} batches in flight)")
    print(f"  ratio API/raw KV               {ratio:8.2f}          goal >= 0.25 "
          f"(anchor: raw KV, same run; NATS: the median of each round's own ratio,"
          f" {', '.join(f'{x:.2f}' for x in ratios)}; HTTP: "
          f"{statistics.median(http_ratios):.2f}, the median of"
          f" {', '.join(f'{x:.2f}' for x in http_ratios)})")
    cores = os.cpu_count() or 1
    ceiling = cores / (sum(create_us) / 1e6)
    print(f"  machine CPU per op             raw put {sum(raw_us):.0f} us (nats-server "
          f"{raw_us[1]:.0f}, client {raw_us[2]:.0f}); create via NATS {sum(create_us):.0f} us"
          f" (API server{'s' if api_servers > 1 else ''} {create_us[0]:.0f}, nats-server"
          f" {create_us[1]:.0f}, client {create_us[2]:.0f})")
    print(f"  ceiling of {cores} cores             {ceiling:8.0f} obj/s    = ratio "
          f"{ceiling / raw:.2f}: every core busy creating at this run's CPU per create")
    print(f"  transport floor                {floor:8.0f} obj/s    = ratio {floor / raw:.2f}; "
          f"machine CPU per create {sum(floor_us):.0f} us (responder {floor_us[0]:.0f}, "
          f"nats-server {floor_us[1]:.0f}, client {floor_us[2]:.0f}): request, KV create, "
          "answer and watch, nothing else (bench/_floor.py)")
    print(f"  mutating p99 at {pace:.0f} writes/s     {ms(percentile(paced_lat, 99)):>11}"
          f"   p50 {ms(percentile(paced_lat, 50))}, {errors} errors; goal <= 25 ms"
          f" (Kubernetes SLO: 1 s at 20/s)")
    print(f"  watch delivery p99             {ms(percentile(delivery, 99)):>11}   with {stored} pods"
          f" stored; {len(delivery)}/{len(sent)} delivered (request sent -> informer handler)")
    more = (f"; {len(list_times)} lists, each on a new connection: "
            f"{', '.join(f'{x * 1000:.0f}' for x in list_times)} ms" if len(list_times) > 1 else "")
    print(f"  list {listed} pods                {list_s * 1000:8.0f} ms     (HTTP, consistent read{more})")
    print(f"  informer initial sync          {sync_s * 1000:8.0f} ms     ({stored} pods)")
    each = (f"   (each: {', '.join(f'{r:.0f}' for r in rss_each)} MiB)"
            if len(rss_each) > 1 else "")
    print(f"  API server peak RSS            {api_rss:8.0f} MiB{each}")
    print(f"  API server RSS at the end      {sum(rss_now):8.0f} MiB"
          + (f"   (each: {', '.join(f'{r:.0f}' for r in rss_now)} MiB)" if len(rss_now) > 1 else ""))
    each = (f"; each: {', '.join(f'{c:.1f}' for c in cpu_each)} s" if len(cpu_each) > 1 else "")
    creates = stored + n_nats + len(sent)
    print(f"  API server CPU per pod created {api_cpu / max(creates, 1) * 1e3:8.2f} ms"
          f"     ({api_cpu:.1f} s for {creates} creates, all of this run{each})")
    if len(rss_each) > 1:
        # 8 processes on 8 cores: the first as measured, seven more like the second; the
        # creates bound by the store (the raw KV put rate) long before the cores
        eight = rss_now[0] + 7 * rss_now[1]
        print(f"  projected for 8 processes      {eight:8.0f} MiB     (RSS at the end: "
              f"{rss_now[0]:.0f} + 7 x {rss_now[1]:.0f}; 8 like the first: "
              f"{8 * rss_now[0]:.0f}); creates bound by the store's {raw:.0f} puts/s")
    return {"raw": raw, "http": http_rate, "nats": nats_rate, "ratio": ratio,
            "http_p99": percentile(http_lat, 99), "nats_p99": percentile(nats_lat, 99),
            "paced_p99": percentile(paced_lat, 99), "watch_p99": percentile(delivery, 99),
            "cpu_per_pod": api_cpu / max(stored + n_nats + len(sent), 1), "batched": batched_rate}


async def main(quick: bool, api_servers: int, bus: str, on_demand: str) -> None:
    tune_gc()  # the services' thresholds (runtime/_gc.py) for the load generator too
    runs = {}
    for secure in {"open": (False,), "secured": (True,), "both": (False, True)}[bus]:
        runs[secure] = await run(quick, api_servers, secure, on_demand)
        print()
    if len(runs) == 2:
        before, after = runs[False], runs[True]
        print("cost of bus security (secured vs open, same machine, one run):")
        for key, label, unit in (("http", "create via HTTP", "obj/s"),
                                 ("nats", "create via NATS request/reply", "obj/s"),
                                 ("raw", "raw nats-py KV put rate", "puts/s")):
            print(f"  {label:30} {before[key]:8.0f} -> {after[key]:8.0f} {unit}"
                  f"  ({(after[key] / before[key] - 1) * 100:+.0f} %)")
        for key, label in (("nats_p99", "NATS create p99"), ("paced_p99", "mutating p99 (paced)"),
                           ("watch_p99", "watch delivery p99")):
            print(f"  {label:30} {ms(before[key]):>8} -> {ms(after[key]):>8}")
        print(f"  {'API server CPU per pod':30} {before['cpu_per_pod'] * 1e3:6.2f} ms -> "
              f"{after['cpu_per_pod'] * 1e3:6.2f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    ap.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    ap.add_argument("--api-servers", type=int, default=1, help="API server processes (one port)")
    ap.add_argument("--bus", choices=("open", "secured", "both"), default="both",
                    help="measure on an open bus, the secured one (kctl up's), or both and "
                         "print the cost of security (default both)")
    ap.add_argument("--on-demand", default="", metavar="RESOURCES",
                    help="resources the second and later API servers cache only while "
                         "watched, e.g. pods,events (--watch-cache-on-demand)")
    args = ap.parse_args()
    asyncio.run(main(args.quick, args.api_servers, args.bus, args.on_demand))
