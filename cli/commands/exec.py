"""``kctl exec (POD | TYPE/NAME) [-c C] -- COMMAND [ARGS...]``: run a command in a container
(``TYPE/NAME`` of a workload or service: its first pod, as kubectl picks it).

As kubectl, the command runs on a stream (a WebSocket, ``v5.channel.k8s.io`` then
``v4``: cli/remotecommand.py) with stdout and stderr requested: each is written to kctl's
own stdout and stderr as it arrives, and kctl exits with the command's code ("command
terminated with exit code N" on stderr).  ``-i`` also forwards stdin (closed at its end);
``-t`` with a terminal on stdin gives the command a terminal of the same size (kctl's in
raw mode meanwhile, one output: stderr joins stdout).  ``-t`` without ``-i`` is dropped
silently, ``-t`` when stdin is not a terminal with a warning, as kubectl drops them.
Before the stream, kubectl's checks with its words: the pod is read (a missing namespace
is named as such), a completed pod is refused, and without ``-c`` the container is the
``kubectl.kubernetes.io/default-container`` annotation's or the first ("Defaulted
container ..." on stderr when there were others, unless ``-q``).  ``--timeout`` (kctl's
own) ends the stream, and so the command, after N seconds.
"""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from jetkube.services.machinery.apimachinery.apierrors import ApiError

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
                   help="seconds the command may run before kctl ends it (0: no limit, as "
                   "kubectl)")
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    if not ctx.args.args:  # kubectl's Complete and Validate, before any request
        raise CliError("pod, type/name or --filename must be specified")
    if len(ctx.args.args) == 1:
        raise CliError("you must specify at least one command for the container")
    pod, container, command = pod_and_container(ctx, "exec")
    container = exec_container(ctx, pod, container, quiet=ctx.args.quiet)
    return stream_exec(ctx, pod, container, command)


def exec_container(ctx: Ctx, name: str, wanted: str | None, *, quiet: bool) -> str:
    """kubectl's checks before the stream: the pod (its GET's errors; a missing namespace
    named as such), not completed, and
    the container: ``-c`` must name one, else the default-container annotation's, else the
    first, saying so when there were others (``podcmd.FindOrDefaultContainerByName``)."""
    try:
        pod = ctx.client.get(f"/api/v1/namespaces/{ctx.namespace}/pods/{name}")
    except ApiError as e:
        if e.code == 404:  # kubectl 1.37 then says if the namespace is the missing one
            try:
                ctx.client.get(f"/api/v1/namespaces/{ctx.namespace}")
            except ApiError as missing:
                if missing.code == 404:
                    raise missing from None
        raise
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise CliError(f"cannot exec into a container in a completed pod; current phase is "
                       f"{phase}")
    spec = pod.get("spec") or {}
    kinds = (("containers", ""), ("ephemeralContainers", " (ephem)"),
             ("initContainers", " (init)"))
    every = [(str(c.get("name")), k, suffix) for k, suffix in kinds
             for c in spec.get(k) or []]
    listing = ", ".join(n + suffix for n, _, suffix in every)
    if wanted:
        if wanted not in (n for n, _, _ in every):
            raise CliError(f"container {wanted} is not valid for pod {name} out of: {listing}")
        return wanted
    mains = [n for n, k, _ in every if k == "containers"]
    if not mains:
        raise CliError(f"pod {ctx.namespace}/{name} does not have any containers")
    default = ((pod.get("metadata") or {}).get("annotations") or {}).get(
        "kubectl.kubernetes.io/default-container")
    if default and default in (n for n, _, _ in every):
        return str(default)
    if not quiet and len(every) > 1:
        sys.stderr.write(f'Defaulted container "{mains[0]}" out of: {listing}\n')
        sys.stderr.flush()
    return mains[0]


def stream_exec(ctx: Ctx, pod: str, container: str, command: list[str]) -> int:
    """The command on kubectl's stream: stdout and stderr as they come, stdin with ``-i``."""
    from ..remotecommand import CHANNEL_PROTOCOLS, Streams, open_pod_stream, run_session, stream_params

    a = ctx.args
    stdin = (sys.stdin.buffer if hasattr(sys.stdin, "buffer") else None) if a.stdin else None
    streams = Streams(stdin=stdin)
    tty = bool(a.stdin and a.tty) and tty_ok(streams, quiet=a.quiet)
    conn = open_pod_stream(ctx, pod, "exec", stream_params(
        command=command, container=container, stdin=bool(a.stdin), tty=tty), CHANNEL_PROTOCOLS)
    if a.timeout <= 0:
        return run_session(conn, streams, tty=tty, quiet=a.quiet)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        conn.close()  # the server ends the session when its client leaves

    timer = threading.Timer(a.timeout, expire)
    timer.daemon = True
    timer.start()
    try:
        code = run_session(conn, streams, tty=tty, quiet=a.quiet)
    finally:
        timer.cancel()
    if expired.is_set():
        raise CliError(f"timed out after {a.timeout}s: the command was ended (--timeout)")
    return code


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
