"""``kctl exec (POD | TYPE/NAME) [-c C] -- COMMAND [ARGS...]``: run a command in a container
(``TYPE/NAME`` of a workload or service: its first pod, as kubectl picks it).

``POST /api/v1/namespaces/{ns}/pods/{name}/exec?command=...`` runs the command
to completion on the pod's node and answers its output and exit code
kctl prints the output and exits with the command's exit code.  With ``-i`` (and ``-t``)
the command runs on kubectl's stream instead (a WebSocket, ``v5.channel.k8s.io``:
cli/remotecommand.py): stdin is forwarded, ``-t`` with a terminal on stdin gives the
command a terminal of the same size (kctl's in raw mode meanwhile), and kctl exits with
the command's code.  ``-t`` without ``-i``, or ``-t`` when stdin is not a terminal, is
dropped, as kubectl drops it.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..context import Ctx
from ..errors import CliError
from .logs import pod_and_container


def add_session_flags(p: argparse.ArgumentParser) -> None:
    """``-c``, ``-i``, ``-t`` and ``-q``, as kubectl's exec and attach take them."""
    p.add_argument("-c", "--container", help="the container (default: the only one, or the "
                   "kubectl.kubernetes.io/default-container annotation)")
    p.add_argument("-i", "--stdin", action="store_true", help="pass stdin to the container")
    p.add_argument("-t", "--tty", action="store_true", help="stdin is a TTY")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="only print output from the remote session")


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "exec", help="Execute a command in a container")
    p.add_argument("args", nargs="*", metavar="POD -- COMMAND [ARGS...]")
    add_session_flags(p)
    p.add_argument("--timeout", type=int, default=0,
                   help="seconds the command may run (0: the server's default, 300)")
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    a = ctx.args
    pod, container, command = pod_and_container(ctx, "exec")
    if not command:
        raise CliError("you must specify at least one command for the container: "
                       "kctl exec POD -- COMMAND [ARGS...]")
    if a.stdin:
        return interactive(ctx, pod, container, command)
    params: dict[str, str | list[str]] = {"command": command}  # repeated: one per argv item
    if container:
        params["container"] = container
    if a.timeout > 0:
        params["timeoutSeconds"] = str(a.timeout)
    client = ctx.client
    timeout = (a.timeout or 300) + 30.0
    resp = client.request("POST", f"/api/v1/namespaces/{ctx.namespace}/pods/{pod}/exec",
                          params=params, timeout=timeout)
    result = resp.json()
    output = str(result.get("output") or "")
    sys.stdout.write(output)
    sys.stdout.flush()
    code = result.get("exitCode")
    return int(code) if isinstance(code, int) else 1


def interactive(ctx: Ctx, pod: str, container: str | None, command: list[str]) -> int:
    """``exec -i [-t]``: the command on a stream, stdin forwarded (cli/remotecommand.py)."""
    from ..remotecommand import CHANNEL_PROTOCOLS, Streams, open_pod_stream, run_session, stream_params

    a = ctx.args
    streams = Streams(stdin=sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None)
    tty = bool(a.tty) and tty_ok(streams, quiet=a.quiet)
    conn = open_pod_stream(ctx, pod, "exec", stream_params(
        command=command, container=container, stdin=True, tty=tty), CHANNEL_PROTOCOLS)
    return run_session(conn, streams, tty=tty, quiet=a.quiet)


def tty_ok(streams: Any, *, quiet: bool) -> bool:
    """Whether ``-t`` can be honoured: stdin is a terminal (else kubectl's warning)."""
    import os

    try:
        ok = streams.stdin is not None and os.isatty(streams.stdin.fileno())
    except (OSError, ValueError, AttributeError):
        ok = False
    if not ok and not quiet:
        sys.stderr.write("Unable to use a TTY - input is not a terminal or the right kind of "
                         "file\n")
        sys.stderr.flush()
    return ok
