"""``kctl exec (POD | TYPE/NAME) [-c C] -- COMMAND [ARGS...]``: run a command in a container
(``TYPE/NAME`` of a workload or service: its first pod, as kubectl picks it).

``POST /api/v1/namespaces/{ns}/pods/{name}/exec?command=...`` runs the command
to completion on the pod's node and answers its output and exit code
kctl prints the output and exits with the command's exit code.  ``-i``/``-t`` are
refused: the API server serves exec's streams (WebSocket, as kubectl uses them), but kctl
has no WebSocket client yet; the real kubectl's ``exec -it`` works against jetkube.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from ..context import Ctx
from ..errors import CliError
from .logs import pod_and_container


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "exec", help="Execute a command in a container")
    p.add_argument("args", nargs="*", metavar="POD -- COMMAND [ARGS...]")
    p.add_argument("-c", "--container", help="the container (default: the only one, or the "
                   "kubectl.kubernetes.io/default-container annotation)")
    p.add_argument("-i", "--stdin", action="store_true", help="not supported (no streams)")
    p.add_argument("-t", "--tty", action="store_true", help="not supported (no streams)")
    p.add_argument("--timeout", type=int, default=0,
                   help="seconds the command may run (0: the server's default, 300)")
    p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    a = ctx.args
    pod, container, command = pod_and_container(ctx, "exec")
    if a.stdin or a.tty:
        raise CliError("interactive exec (-i/-t) is not supported by kctl yet: it needs a "
                       "WebSocket client kctl does not have (the API server serves the "
                       "streams: use kubectl exec -it); without -i/-t kctl runs the command "
                       "to completion and prints its output")
    if not command:
        raise CliError("you must specify at least one command for the container: "
                       "kctl exec POD -- COMMAND [ARGS...]")
    params: dict[str, str | list[str]] = {"command": command}  # repeated: one per argv item
    if container:
        params["container"] = container
    if a.timeout > 0:
        params["timeoutSeconds"] = str(a.timeout)
    client = ctx.client
    timeout = (a.timeout or 300) + 30.0
    try:
        resp = client._http.post(f"/api/v1/namespaces/{ctx.namespace}/pods/{pod}/exec",
                                 params=params, timeout=timeout)
    except httpx.TransportError as e:
        raise client._refused(e) from None
    client._raise_for(resp)
    result = resp.json()
    output = str(result.get("output") or "")
    sys.stdout.write(output)
    sys.stdout.flush()
    code = result.get("exitCode")
    return int(code) if isinstance(code, int) else 1
