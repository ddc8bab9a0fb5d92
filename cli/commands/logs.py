"""``kctl logs POD [-c C] [-f] [-p] [--tail N] [--timestamps]``: a container's output.

Reads ``GET /api/v1/namespaces/{ns}/pods/{name}/log``; the API server fetches
the output from the node agent running the pod.  With ``-f`` the response is
streamed and printed as it arrives until the container ends or Ctrl-C.
"""

from __future__ import annotations

import argparse
import codecs
import sys
from typing import Any

import httpx

from ..context import Ctx
from ..errors import CliError


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "logs", help="Print the logs of a container in a pod")
    p.add_argument("args", nargs="*", metavar="POD [CONTAINER]")
    p.add_argument("-c", "--container", help="the container (default: the only one, or the "
                   "kubectl.kubernetes.io/default-container annotation)")
    p.add_argument("-f", "--follow", action="store_true", help="stream the logs")
    p.add_argument("-p", "--previous", action="store_true",
                   help="the previous, terminated instance of the container")
    p.add_argument("--tail", type=int, default=-1,
                   help="lines of recent output to show (-1: all)")
    p.add_argument("--timestamps", action="store_true", help="prefix each line with its time")
    p.add_argument("--limit-bytes", type=int, default=0, help="at most this many bytes")
    p.set_defaults(func=run)


def pod_name(arg: str) -> str:
    """``NAME`` or ``pod/NAME`` (``po/``, ``pods/``)."""
    if "/" not in arg:
        return arg
    kind, _, name = arg.partition("/")
    if kind.lower() not in ("pod", "pods", "po") or not name:
        raise CliError(f"kctl logs takes a pod (NAME or pod/NAME), not {arg!r}")
    return name


def pod_and_container(ctx: Ctx, verb: str) -> tuple[str, str | None, list[str]]:
    a = ctx.args
    if not a.args:
        raise CliError(f"expected POD: kctl {verb} POD [-c CONTAINER]")
    return pod_name(a.args[0]), a.container, list(a.args[1:])


def run(ctx: Ctx) -> int:
    a = ctx.args
    pod, container, rest = pod_and_container(ctx, "logs")
    if rest and not container and len(rest) == 1:
        container = rest[0]  # kubectl's legacy `logs POD CONTAINER`
    elif rest:
        raise CliError(f"unexpected arguments: {' '.join(rest)}")
    params = {"follow": "true" if a.follow else "false"}
    if container:
        params["container"] = container
    if a.previous:
        params["previous"] = "true"
    if a.tail >= 0:
        params["tailLines"] = str(a.tail)
    if a.timestamps:
        params["timestamps"] = "true"
    if a.limit_bytes > 0:
        params["limitBytes"] = str(a.limit_bytes)
    path = f"/api/v1/namespaces/{ctx.namespace}/pods/{pod}/log"
    write_stream(ctx, path, params)
    return 0


def write_stream(ctx: Ctx, path: str, params: dict[str, str]) -> None:
    """GET ``path`` and copy the body to stdout as it arrives."""
    client = ctx.client
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    try:
        with client._http.stream("GET", path, params=params,
                                 timeout=httpx.Timeout(30.0, read=None)) as resp:
            if resp.status_code >= 400:
                resp.read()
                client._raise_for(resp)
            for chunk in resp.iter_raw():
                sys.stdout.write(decoder.decode(chunk))
                sys.stdout.flush()
    except (httpx.ConnectError, httpx.ConnectTimeout) as e:
        raise client._refused(e) from None
    except httpx.RemoteProtocolError:
        pass  # the server ended the stream (it is stopping)
    sys.stdout.write(decoder.decode(b"", final=True))
    sys.stdout.flush()
