"""Fuzz benchmark: random hostile input against the HTTP API server, on loopback (issue 12).

N requests (``--requests``) of random hostile input, drawn from a seed (``--seed``), go to
a private API server that this script starts and stops (bench/_cluster.py: one nats-server
and one API server on 127.0.0.1, no controllers, no scheduler, no node agent), with the
admin token unless the case is about the token, into a namespace of their own (``fuzz``).
At most ``--concurrency`` requests are in flight, each on a fresh connection sent byte for
byte as generated (a small HTTP/1.1 client over asyncio streams: an HTTP library would
normalise ``..``, quote NUL and refuse non-ASCII header bytes), and the run stops at
``--seconds`` whatever is left.  Categories:

- nesting: flow and block YAML and JSON thousands of levels deep, YAML aliases, deep patches;
- size: bodies just under, at and over the size limit (``MAX_BODY``, 1.5 MiB), sent with a
  length, chunked, or with a length over the limit and a short body;
- keys: objects with huge key counts, arrays past the element bound, 10,000-operation JSON
  patches, a ``copy`` patch that doubles the object each operation;
- query: bad parameters (``limit=abc``, ``limit=1e9``, ``watch=1&timeoutSeconds=abc``,
  ``gracePeriodSeconds=abc``, ``dryRun=bogus``, ``fieldValidation=bogus``, selectors ...)
  and bounded watches (``timeoutSeconds`` of 1-2 s, some closed by the client first);
- patch: patches of the wrong type (``{"metadata": 5}``, a JSON patch that is no list,
  strategic merge directives of the wrong type) against existing objects;
- content-type: text/plain, XML, forms, protobuf, charsets, garbage;
- names: names and namespaces holding ``*``, ``>``, NUL, ``%``, blanks, ``%2f``, ``//``,
  ``..``, long or non-ASCII, escaped and raw, in the path and in the body;
- auth: missing, empty, non-ASCII, Basic or oversized Authorization headers;
- ranges: replicas of 2**31, 2**63, -1, 1e400; terminationGracePeriodSeconds of 2**63;
  quantities ``1e1000``, ``9999999999999999999999Ei``; ports past 16 and 32 bits;
- identity: null, non-string or mismatched kind and apiVersion; duplicate JSON and YAML keys;
- random: random JSON values (a small recursive generator: big numbers, lone surrogates,
  invalid UTF-8, hostile strings) or valid objects with one random field changed, sent
  with random verbs to configmaps, deployments, services, pods and secrets.

No request reaches pods/log, pods/exec or a proxy (they would leave loopback or need a node
agent).  Nothing makes unbounded work: watches end within seconds, bodies near the size
limit reuse three names, and a Deployment the server accepted with out-of-range replicas is
counted as a failure and deleted (no controller runs here anyway: the run checks that no
ReplicaSet and no Endpoints appeared for the objects it made).

Figures:

- the status-code histogram, over all requests and per category;
- 5xx answers (goal 0); tracebacks in a body or in the server's log, hangs (no answer within
  ``--timeout``), connection errors, and hostile values the server accepted where it must
  refuse them (goal 0 each); the first failing requests are listed;
- p50/p99 of the fuzz requests (connect to last byte);
- p99 of /healthz probed at 20 Hz during the fuzz, each probe a fresh TCP connection made
  by a process of its own, so the fuzz client's work never delays it (goal <= 50 ms;
  anchor: the same probe on the idle server just before the fuzz);
- the API server's resident memory before, half-way through and after the fuzz, and its
  peak; its CPU seconds per 1,000 requests (the fuzz's, with the probes it answered
  meanwhile);
- the slowest kinds of request, ranked by the median of their sends (a request that stalls
  the server delays every other one in flight, but only its own kind is slow every time).

The exit status is 1 when any 5xx, traceback (in a body or the server's log), hang,
connection error, accepted hostile value or failed /healthz probe is seen, or when the
namespaces ``fuzz``, ``default`` or ``kube-system`` are gone afterwards.  The cases are
made in bench/_fuzz_{bulk,syntax,fields,random}.py (on bench/_fuzz_case.py), sent by
bench/_fuzz_http.py and judged by bench/_fuzz_checks.py.
Usage: python bench/fuzz.py [--quick] [--requests N] [--seed S] [--concurrency C]
                            [--only CATEGORY,...] [--slowest K]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _cluster import cluster, cpu_seconds, percentile, rss_mib
from _fuzz_bulk import gen_keys, gen_nesting, gen_size
from _fuzz_case import NS, Case, Outcome
from _fuzz_checks import checks, count, failure_of, setup
from _fuzz_fields import gen_auth, gen_identity, gen_names, gen_ranges
from _fuzz_http import probe_loop, send
from _fuzz_random import gen_random
from _fuzz_syntax import gen_content_type, gen_patch, gen_query

CATEGORIES: dict[str, tuple[Callable[[random.Random, int], Case], float]] = {
    "nesting": (gen_nesting, 1.0), "size": (gen_size, 0.5), "keys": (gen_keys, 0.6),
    "query": (gen_query, 1.5), "patch": (gen_patch, 1.5), "content-type": (gen_content_type, 1.0),
    "names": (gen_names, 1.5), "auth": (gen_auth, 1.0), "ranges": (gen_ranges, 1.5),
    "identity": (gen_identity, 1.0), "random": (gen_random, 3.0),
}


def make_case(seed: int, i: int, only: tuple[str, ...] = ()) -> Case:
    """Request ``i`` of the run seeded ``seed`` (the same whatever order they are sent in),
    of one of the categories ``only`` (all when empty)."""
    rng = random.Random(f"{seed}:{i}")
    names = list(only or CATEGORIES)
    category = rng.choices(names, [CATEGORIES[n][1] for n in names])[0]
    return CATEGORIES[category][0](rng, i)


# --- the run ----------------------------------------------------------------------------------


def rss_now_mib(pid: int) -> float:
    """Current resident memory (VmRSS) of a process, MiB (``rss_mib`` is the peak)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def histogram_key(out: Outcome) -> str:
    return str(out.status) if not out.error else ("hang" if out.error == "hang" else "conn-error")


def fmt_histogram(counts: Counter[str]) -> str:
    keys = sorted(counts, key=lambda k: (not k.isdigit(), k))
    return "  ".join(f"{k}: {counts[k]}" for k in keys)


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


async def run(args: argparse.Namespace) -> int:
    n = args.requests
    with cluster() as c:
        port = int(c.api_url.rsplit(":", 1)[1])
        pid = c.api_pids[0]
        await setup(port)

        ctx = multiprocessing.get_context("spawn")
        parent, child = ctx.Pipe()
        prober = ctx.Process(target=probe_loop, args=(port, args.probe_hz, child), daemon=True)
        prober.start()
        stopped = False
        try:
            await asyncio.to_thread(parent.poll, 30)
            parent.recv()  # "ready"
            await asyncio.sleep(args.idle)  # the anchor: /healthz on the idle server

            rss_before = rss_now_mib(pid)
            rss_mid: list[float] = []  # half-way: growth that goes on is a leak
            cpu_before = cpu_seconds(pid)
            outcomes: list[Outcome] = []
            next_i = 0
            t_start = time.monotonic()
            deadline = t_start + args.seconds

            async def worker() -> None:
                nonlocal next_i
                while next_i < n and time.monotonic() < deadline:
                    i = next_i
                    next_i += 1
                    outcomes.append(await send(port, make_case(args.seed, i, args.only), args.timeout))
                    if len(outcomes) == n // 2:
                        rss_mid.append(rss_now_mib(pid))

            await asyncio.gather(*(worker() for _ in range(args.concurrency)))
            t_end = time.monotonic()
            cpu_after = cpu_seconds(pid)
            rss_after = rss_now_mib(pid)
            parent.send("stop")
            stopped = True
            await asyncio.to_thread(parent.poll, 30)
            samples: list[tuple[float, float, int]] = parent.recv()
        finally:
            if not stopped:
                with suppress(OSError):
                    parent.send("stop")
            prober.join(10)
            if prober.is_alive():
                prober.kill()
                prober.join(5)
        rss_peak = rss_mib(pid)

        after_checks = await checks(port)
        # nothing here writes ReplicaSets or Endpoints: a controller would have, for "target"
        made = [await count(port, f"/apis/apps/v1/namespaces/{NS}/replicasets"),
                await count(port, f"/api/v1/namespaces/{NS}/endpoints")]
        controllers = f"{made[0]} ReplicaSets for the Deployments, {made[1]} Endpoints for the Services"
        if made != [0, 0]:
            after_checks.append(f"a controller ran: {controllers}")
        log_path = c.workdir / "apiserver-0.log"
        log = log_path.read_text(errors="replace") if log_path.exists() else ""

    # --- figures
    failures = [(why, o) for o in outcomes if (why := failure_of(o))]
    why_counts = Counter(why for why, _ in failures)
    hist = Counter(histogram_key(o) for o in outcomes)
    per_cat: dict[str, Counter[str]] = {}
    for o in outcomes:
        per_cat.setdefault(o.case.category, Counter())[histogram_key(o)] += 1
    fives = sum(1 for o in outcomes if o.status >= 500)
    lat = [o.seconds for o in outcomes if not o.error]
    idle = [s for t, s, _ in samples if t < t_start]
    during = [s for t, s, _ in samples if t_start <= t <= t_end]
    probe_fail = sum(1 for t, _, st in samples if st != 200 and t >= t_start)
    log_tracebacks = log.count("Traceback")
    elapsed = t_end - t_start
    sent = len(outcomes)
    cpu = cpu_after - cpu_before

    print(f"jetkube fuzz benchmark ({'quick' if args.quick else 'full'}), 1 API server, "
          f"{os.cpu_count()} cores, loopback, seed {args.seed}")
    bound_note = "" if sent == n else f"; stopped at the {args.seconds:.0f} s bound"
    print(f"  requests                       {sent:8d} of {n} in {elapsed:.1f} s"
          f"  ({args.concurrency} in flight, one connection each{bound_note})")
    print(f"  status codes                   {fmt_histogram(hist)}")
    for cat in CATEGORIES:
        if cat in per_cat:
            print(f"    {cat:13} {sum(per_cat[cat].values()):5d}    {fmt_histogram(per_cat[cat])}")
    print(f"  5xx responses                  {fives:8d}          goal 0")
    print(f"  tracebacks, hangs, conn errors {why_counts['traceback in the body']:4d}, "
          f"{why_counts['hang']}, {why_counts['connection error']}"
          f"  goal 0 (hang: no answer in {args.timeout:.0f} s); server log tracebacks {log_tracebacks}")
    print(f"  hostile values accepted        {why_counts['hostile value accepted']:8d}          goal 0"
          " (out-of-range ints and quantities, non-string kind, bad tokens)")
    print(f"  fuzz request latency           p50 {ms(percentile(lat, 50))}  p99 {ms(percentile(lat, 99))}"
          f"  max {ms(max(lat, default=float('nan')))}  (connect to last byte)")
    print(f"  /healthz p99 during the fuzz   {ms(percentile(during, 99)):>11}   goal <= 50 ms"
          f" (anchor: the idle server's p99 {ms(percentile(idle, 99))}, {len(idle)} probes)")
    print(f"{'':47}p50 {ms(percentile(during, 50))}, max {ms(max(during, default=float('nan')))};"
          f" {len(during)} probes at {args.probe_hz:.0f} Hz, {probe_fail} failed (each a fresh TCP"
          " connection, from a process of its own)")
    mid = f"{rss_mid[0]:.0f} MiB half-way -> " if rss_mid else ""
    created = [o for o in outcomes if o.status == 201]
    big = sum(1 for o in created if len(o.case.body or b"") > 100_000)
    print(f"  API server RSS                 {rss_before:8.0f} MiB before -> {mid}{rss_after:.0f} MiB"
          f" after  (peak {rss_peak:.0f} MiB; the fuzz created {len(created)} objects, {big} of"
          " them from bodies over 100 kB, kept in the watch cache)")
    print(f"  API server CPU per 1,000 requests {cpu / max(sent, 1) * 1e3:5.2f} s"
          f"     ({cpu:.1f} s for {sent} requests and {len(during)} probes)")
    print(f"  controllers                    none ran ({controllers})")
    # a request that stalls the server delays all in flight with it: ranked by the median
    # of each kind's sends, the kinds that are slow by themselves come first
    kinds: dict[tuple[str, str], list[Outcome]] = {}
    for o in outcomes:
        kinds.setdefault((o.case.category, o.case.label), []).append(o)
    ranked = sorted(kinds.items(), key=lambda kv: -percentile([o.seconds for o in kv[1]], 50))
    print("  slowest kinds of request (median of their sends, how many, status codes):")
    for (cat, label), outs in ranked[:args.slowest]:
        first = outs[0].case
        codes = ",".join(sorted({histogram_key(o) for o in outs}))
        print(f"    {ms(percentile([o.seconds for o in outs], 50)):>10}  x{len(outs):<3} {codes:>7}  "
              f"{first.method} {first.target[:60]!r}  [{cat}: {label[:60]}]")

    problems = [f"{why}: {o.case.method} {o.case.target[:120]!r} [{o.case.category}: "
                f"{o.case.label[:80]}] -> {o.status or o.error} {o.body[:300]!r}"
                for why, o in failures]
    problems += after_checks
    if probe_fail:
        problems.append(f"{probe_fail} /healthz probes failed during the fuzz")
    if log_tracebacks:
        at = log.index("Traceback")
        problems.append("server log: " + log[max(0, at - 300):at + 1500])
    if problems:
        print(f"  FAILURES ({len(problems)}), the first {min(len(problems), 10)}:")
        for p in problems[:10]:
            print(f"    - {p}")
    return 1 if problems else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else "")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 300 requests, 40 s at most")
    ap.add_argument("--requests", type=int, help="requests in all (default 2,000; --quick 300)")
    ap.add_argument("--seed", type=int, default=12, help="the random seed (default 12)")
    ap.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    ap.add_argument("--seconds", type=float, help="stop sending after this (default 600; --quick 40)")
    ap.add_argument("--timeout", type=float, help="a request unanswered this long is a hang "
                                                  "(default 20 s; --quick 10 s)")
    ap.add_argument("--probe-hz", type=float, default=20.0, help="/healthz probes a second")
    ap.add_argument("--only", type=lambda s: tuple(s.split(",")), default=(),
                    help=f"these categories only, comma-separated (of {', '.join(CATEGORIES)})")
    ap.add_argument("--slowest", type=int, default=5, help="slowest kinds of request listed (default 5)")
    args = ap.parse_args()
    if unknown := set(args.only) - set(CATEGORIES):
        ap.error(f"unknown categories: {', '.join(sorted(unknown))}")
    if args.requests is None:
        args.requests = 300 if args.quick else 2_000
    if args.seconds is None:
        args.seconds = 40.0 if args.quick else 600.0
    if args.timeout is None:
        args.timeout = 10.0 if args.quick else 20.0
    args.idle = 1.0 if args.quick else 2.0
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
