"""``kctl attach``, ``kctl cp`` and ``kctl port-forward``: kubectl's streaming verbs.

Each is a WebSocket to the pod (cli/streamclient.py), as kubectl 1.30+ opens them:

* ``attach (POD | TYPE/NAME) [-c C] [-i] [-t]``: ``pods/attach`` on ``v5.channel.k8s.io``,
  stdin forwarded with ``-i``, a raw terminal with ``-t`` (cli/remotecommand.py).
* ``cp SRC DEST`` (one of them ``[NAMESPACE/]POD:PATH``): tar over ``pods/exec``, as
  kubectl does it (cli/podcopy.py).
* ``port-forward (POD | TYPE/NAME) [LOCAL:]REMOTE...``: ``pods/portforward``, SPDY/3.1
  tunnelled in the WebSocket (cli/portforward.py); listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ..context import Ctx
from ..errors import CliError
from .exec import add_session_flags

STREAMED = (("attach", "Attach to a running container"),
            ("cp", "Copy files and directories to and from containers"),
            ("port-forward", "Forward one or more local ports to a pod"))

__all__ = ["STREAMED", "register"]


def register(sub: Any) -> None:
    helps = dict(STREAMED)
    p: argparse.ArgumentParser = sub.add_parser("attach", help=helps["attach"])
    p.add_argument("args", nargs="*", metavar="POD | TYPE/NAME")
    add_session_flags(p)
    p.set_defaults(func=attach)

    p = sub.add_parser("cp", help=helps["cp"])
    p.add_argument("args", nargs="*", metavar="SRC DEST")
    p.add_argument("-c", "--container", help="the container")
    p.add_argument("--no-preserve", action="store_true",
                   help="do not keep ownership and permissions of the copied files")
    p.set_defaults(func=copy)

    p = sub.add_parser("port-forward", help=helps["port-forward"])
    p.add_argument("args", nargs="*", metavar="POD | TYPE/NAME [LOCAL:]REMOTE")
    p.add_argument("--address", default="localhost",
                   help="addresses to listen on: localhost or 127.0.0.1 (kctl listens on "
                   "the loopback only)")
    p.add_argument("--pod-running-timeout", default="1m",
                   help="how long to wait for a running pod (accepted; kctl does not wait)")
    p.set_defaults(func=port_forward)


def attach(ctx: Ctx) -> int:
    from ..remotecommand import CHANNEL_PROTOCOLS, Streams, open_pod_stream, run_session, stream_params
    from .exec import tty_ok
    from .logs import pod_and_container

    a = ctx.args
    pod, container, rest = pod_and_container(ctx, "attach")
    if rest:
        raise CliError(f"expected POD, TYPE/NAME, or TYPE NAME, (at most 2 arguments) saw "
                       f"{len([a.args[0], *rest])}: {[a.args[0], *rest]}")
    stdin = sys.stdin.buffer if a.stdin and hasattr(sys.stdin, "buffer") else None
    streams = Streams(stdin=stdin)
    tty = bool(a.tty) and a.stdin and tty_ok(streams, quiet=a.quiet)
    conn = open_pod_stream(ctx, pod, "attach", stream_params(
        command=None, container=container, stdin=bool(a.stdin), tty=tty), CHANNEL_PROTOCOLS)
    if tty and not a.quiet:
        sys.stderr.write("If you don't see a command prompt, try pressing enter.\n")
        sys.stderr.flush()
    return run_session(conn, streams, tty=tty, quiet=a.quiet)


def copy(ctx: Ctx) -> int:
    from ..podcopy import copy_from_pod, copy_to_pod, parse_spec

    a = ctx.args
    if len(a.args) != 2:
        raise CliError("source and destination are required")
    src, dest = (parse_spec(x) for x in a.args)
    if src.pod and dest.pod:
        raise CliError("one of src or dest must be a local file specification")
    if not src.pod and not dest.pod:
        raise CliError("one of src or dest must be a remote file specification")
    if src.pod:
        return copy_from_pod(ctx, src, dest.path, a.container, preserve=not a.no_preserve)
    return copy_to_pod(ctx, src.path, dest, a.container, preserve=not a.no_preserve)


def port_forward(ctx: Ctx) -> int:
    from ..portforward import forward, parse_ports, pod_and_ports

    a = ctx.args
    if len(a.args) < 2:
        raise CliError("TYPE/NAME and list of ports are required for port-forward")
    if a.address not in ("localhost", "127.0.0.1"):
        raise CliError(f"--address {a.address}: kctl listens on the loopback only "
                       "(localhost or 127.0.0.1)")
    pod, ports = pod_and_ports(ctx, a.args[0], parse_ports(a.args[1:]))
    return forward(ctx, pod, ports)
