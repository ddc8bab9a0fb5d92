"""``kctl run -i [-t] [--rm]``: create the pod, attach to it, then its exit code (kubectl's way).

The pod's container gets ``stdin: true``, ``stdinOnce: true`` (and ``tty`` with ``-t``); once
the pod runs, kctl attaches (cli/remotecommand.py) with stdin forwarded; a pod that already
ended has its log printed instead.  With ``--restart Never`` or ``OnFailure`` kctl then waits
for the pod to complete and exits with its container's code, as kubectl does ("pod NS/NAME
terminated (Error)" for a failure); with ``--rm`` the pod is deleted at the end (``pod
"NAME" deleted from NS namespace``, kubectl 1.37's words).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from .context import Ctx
from .errors import CliError

__all__ = ["run_attached"]

_POLL = 0.25
_ENDED = ("Succeeded", "Failed")


def _pod(ctx: Ctx, ns: str, name: str) -> dict[str, Any]:
    return ctx.client.get(f"/api/v1/namespaces/{ns}/pods/{name}")


def _wait(ctx: Ctx, ns: str, name: str, timeout: float, phases: tuple[str, ...]) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        pod = _pod(ctx, ns, name)
        if (pod.get("status") or {}).get("phase") in phases:
            return pod
        if time.monotonic() > deadline:
            raise CliError(f"timed out waiting for the condition on pods/{name}")
        time.sleep(_POLL)


def _exit_code(pod: dict[str, Any]) -> int:
    status = pod.get("status") or {}
    if status.get("phase") == "Succeeded":
        return 0
    ns, name = pod["metadata"].get("namespace", ""), pod["metadata"]["name"]
    statuses = status.get("containerStatuses") or []
    term = ((statuses[0].get("state") or {}).get("terminated") or {}) if statuses else {}
    code = int(term.get("exitCode") or 0)
    if not code:
        raise CliError(f"pod {ns}/{name} failed with unknown exit code")
    said = f"pod {ns}/{name} terminated ({term.get('reason') or 'Error'})\n{term.get('message') or ''}"
    sys.stderr.write(said if said.endswith("\n") else said + "\n")
    sys.stderr.flush()
    return code


def run_attached(ctx: Ctx, pod: dict[str, Any], *, stdin: bool, tty: bool, remove: bool,
                 quiet: bool, timeout: float) -> int:
    """Create ``pod``, attach to its container, and answer kubectl's exit code."""
    from .remotecommand import CHANNEL_PROTOCOLS, Streams, open_pod_stream, run_session, stream_params

    ns, name = ctx.namespace, str(pod["metadata"]["name"])
    container = pod["spec"]["containers"][0]
    if stdin:
        container.update({"stdin": True, "stdinOnce": True, "tty": tty})
    ctx.client.create(f"/api/v1/namespaces/{ns}/pods", pod)
    try:
        running = _wait(ctx, ns, name, timeout, ("Running", *_ENDED))
        if (running.get("status") or {}).get("phase") in _ENDED:
            _, text = ctx.client.text(f"/api/v1/namespaces/{ns}/pods/{name}/log")
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            streams = Streams(stdin=sys.stdin.buffer if stdin and hasattr(sys.stdin, "buffer")
                              else None)
            from .commands.exec import tty_ok

            tty = tty and stdin and tty_ok(streams, quiet=quiet)
            conn = open_pod_stream(ctx, name, "attach", stream_params(
                command=None, container=str(container["name"]), stdin=stdin, tty=tty),
                CHANNEL_PROTOCOLS)
            if tty and not quiet:
                sys.stderr.write("If you don't see a command prompt, try pressing enter.\n")
                sys.stderr.flush()
            run_session(conn, streams, tty=tty, quiet=True)  # the code: the pod's, below
        restart = pod["spec"].get("restartPolicy", "Always")
        if restart == "Always":
            return 0
        phases = _ENDED if restart == "Never" else ("Succeeded",)
        return _exit_code(_wait(ctx, ns, name, timeout, phases))
    finally:
        if remove:
            ctx.client.delete(f"/api/v1/namespaces/{ns}/pods/{name}")
            if not quiet:
                sys.stdout.write(f'pod "{name}" deleted from {ns} namespace\n')
                sys.stdout.flush()
