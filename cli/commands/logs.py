"""``kctl logs (POD | TYPE/NAME | -l SELECTOR) [-c C] [-f] [-p] [--tail N] [--since D]``.

Reads ``GET /api/v1/namespaces/{ns}/pods/{name}/log``; the API server fetches
the output from the node agent running the pod.  With ``-f`` the response is
streamed and printed as it arrives until the container ends or Ctrl-C.  ``TYPE/NAME``
of a workload or service reads its first pod (cli/workloads.py, as kubectl);
``-l`` reads every matching pod, one after the other (``-f``: all at once, at most
``--max-log-requests``), the last 10 lines of each unless ``--tail`` says otherwise,
each line prefixed ``[pod/NAME/CONTAINER]`` with ``--prefix``.
"""

from __future__ import annotations

import argparse
import codecs
import math
import sys
import threading
from typing import Any

from .._http import RemoteProtocolError
from ..console import echo_err
from ..context import Ctx
from ..errors import CliError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "logs", help="Print the logs of a container in a pod")
    p.add_argument("args", nargs="*", metavar="(POD | TYPE/NAME) [CONTAINER]")
    p.add_argument("-c", "--container", help="the container (default: the only one, or the "
                   "kubectl.kubernetes.io/default-container annotation)")
    p.add_argument("-f", "--follow", action="store_true", help="stream the logs")
    p.add_argument("-p", "--previous", action="store_true",
                   help="the previous, terminated instance of the container")
    p.add_argument("--tail", type=int, default=None,
                   help="lines of recent output to show (-1: all; with -l: 10 by default)")
    p.add_argument("-l", "--selector", help="the logs of every pod this selects")
    p.add_argument("--since", help="only output newer than this duration (5s, 2m, 3h)")
    p.add_argument("--since-time", help="only output after this time (RFC 3339)")
    p.add_argument("--prefix", action="store_true",
                   help="prefix each line with its source (pod/NAME/CONTAINER)")
    p.add_argument("--all-containers", action="store_true", help="every container's logs")
    p.add_argument("--max-log-requests", type=int, default=5,
                   help="at most this many concurrent streams with -l and -f")
    p.add_argument("--timestamps", action="store_true", help="prefix each line with its time")
    p.add_argument("--limit-bytes", type=int, default=0, help="at most this many bytes")
    p.set_defaults(func=run)


def pod_and_container(ctx: Ctx, verb: str) -> tuple[str, str | None, list[str]]:
    """The pod (``NAME``, ``pod/NAME``, or the first pod of ``TYPE/NAME``), the
    container flag and the other arguments."""
    from ..workloads import resolve_pod

    a = ctx.args
    if not a.args:
        raise CliError(f"expected POD: kctl {verb} (POD | TYPE/NAME) [-c CONTAINER]")
    return resolve_pod(ctx, a.args[0], for_exec=verb == "exec"), a.container, list(a.args[1:])


def log_params(a: argparse.Namespace, tail: int) -> dict[str, str]:
    from ..rollouts import parse_duration

    params = {"follow": "true" if a.follow else "false"}
    if a.previous:
        params["previous"] = "true"
    if tail >= 0:
        params["tailLines"] = str(tail)
    if a.timestamps:
        params["timestamps"] = "true"
    if a.limit_bytes > 0:
        params["limitBytes"] = str(a.limit_bytes)
    if a.since and a.since_time:
        raise CliError("at most one of --since-time / --since may be specified")
    if a.since:
        try:
            seconds = parse_duration(a.since)
        except CliError as e:  # its message names --timeout, the flag it is usually for
            raise CliError(e.message.replace('"--timeout"', '"--since"')) from None
        params["sinceSeconds"] = str(max(1, math.ceil(seconds)))
    if a.since_time:
        params["sinceTime"] = a.since_time
    return params


def run(ctx: Ctx) -> int:
    a = ctx.args
    if a.selector:
        if a.args:
            raise CliError("only one of a selector or a pod name may be given")
        return run_selected(ctx)
    pod, container, rest = pod_and_container(ctx, "logs")
    if rest and not container and len(rest) == 1:
        container = rest[0]  # kubectl's legacy `logs POD CONTAINER`
    elif rest:
        raise CliError(f"unexpected arguments: {' '.join(rest)}")
    params = log_params(a, -1 if a.tail is None else a.tail)
    if container:
        params["container"] = container
    if a.all_containers:
        return run_selected(ctx, [ctx.client.get(f"/api/v1/namespaces/{ctx.namespace}/pods/{pod}")])
    path = f"/api/v1/namespaces/{ctx.namespace}/pods/{pod}/log"
    write_stream(ctx, path, params)
    return 0


def run_selected(ctx: Ctx, pods: list[Any] | None = None) -> int:
    """``-l`` (or ``--all-containers``): each selected pod's (each container's) logs."""
    a = ctx.args
    if pods is None:
        pods = ctx.client.get(f"/api/v1/namespaces/{ctx.namespace}/pods",
                              {"labelSelector": a.selector}).get("items") or []
        if not pods:
            echo_err(f"No resources found in {ctx.namespace} namespace.")
            return 0
    params = log_params(a, 10 if a.tail is None and a.selector else
                        -1 if a.tail is None else a.tail)
    sources: list[tuple[str, str | None]] = []
    for pod in pods:
        name = str(pod["metadata"]["name"])
        if a.all_containers:
            spec = pod.get("spec") or {}
            sources.extend((name, str(c["name"])) for c in
                           [*(spec.get("initContainers") or []), *(spec.get("containers") or [])])
        else:
            sources.append((name, a.container))
    if a.follow and len(sources) > a.max_log_requests:
        raise CliError(f"you are attempting to follow {len(sources)} log streams, but maximum "
                       f"allowed concurrency is {a.max_log_requests}, use --max-log-requests "
                       "to increase the limit")
    lock = threading.Lock()

    def one(pod: str, container: str | None) -> None:
        q = dict(params, **({"container": container} if container else {}))
        shown = container or _default_container(pods, pod)
        prefix = f"[pod/{pod}/{shown}] " if a.prefix else ""
        write_stream(ctx, f"/api/v1/namespaces/{ctx.namespace}/pods/{pod}/log", q,
                     prefix=prefix, lock=lock)

    if not a.follow:
        for pod, container in sources:
            one(pod, container)
        return 0
    failed: list[BaseException] = []

    def follow(pod: str, container: str | None) -> None:
        try:
            one(pod, container)
        except Exception as e:  # raised in the main thread, after the others ended
            failed.append(e)

    threads = [threading.Thread(target=follow, args=s, daemon=True) for s in sources]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return 0


def _default_container(pods: list[Any], name: str) -> str:
    for p in pods:
        if p["metadata"]["name"] == name:
            anns = p["metadata"].get("annotations") or {}
            cs = (p.get("spec") or {}).get("containers") or [{}]
            return str(anns.get("kubectl.kubernetes.io/default-container") or
                       cs[0].get("name", ""))
    return ""


def write_stream(ctx: Ctx, path: str, params: dict[str, str], *, prefix: str = "",
                 lock: threading.Lock | None = None) -> None:
    """GET ``path`` and copy the body to stdout as it arrives (whole lines, each with
    ``prefix``, when a prefix or a lock shared with other streams is given)."""
    client = ctx.client
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    if prefix or lock is not None:
        _write_lines(ctx, path, params, prefix, lock or threading.Lock())
        return
    try:
        with client.stream("GET", path, params) as resp:
            if resp.status_code >= 400:
                resp.read()
                client._raise_for(resp)
            for chunk in resp.iter_raw():
                sys.stdout.write(decoder.decode(chunk))
                sys.stdout.flush()
    except RemoteProtocolError:
        pass  # the server ended the stream (it is stopping)
    sys.stdout.write(decoder.decode(b"", final=True))
    sys.stdout.flush()


def _write_lines(ctx: Ctx, path: str, params: dict[str, str], prefix: str,
                 lock: threading.Lock) -> None:
    client = ctx.client
    try:
        with client.stream("GET", path, params) as resp:
            if resp.status_code >= 400:
                resp.read()
                client._raise_for(resp)
            for line in resp.iter_lines():
                with lock:
                    sys.stdout.write(f"{prefix}{line}\n")
                    sys.stdout.flush()
    except RemoteProtocolError:
        pass
