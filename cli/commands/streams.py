"""``kctl attach``, ``kctl cp`` and ``kctl port-forward``: listed, and refused with a clear
reason, rather than unknown commands.

Each needs a bidirectional stream to the pod (WebSocket: attach and cp through
``pods/attach`` and ``pods/exec`` with stdin, port-forward through
``pods/portforward``).  The API server serves those streams and the real kubectl uses
them against jetkube; kctl has no WebSocket client yet, so these say so and point at
kubectl.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..context import Ctx
from ..errors import CliError

STREAMED = (("attach", "Attach to a running container"),
            ("cp", "Copy files and directories to and from containers"),
            ("port-forward", "Forward one or more local ports to a pod"))


def register(sub: Any) -> None:
    for name, help_text in STREAMED:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
        p.add_argument("args", nargs="*")
        p.set_defaults(func=run)


def run(ctx: Ctx) -> int:
    name = ctx.args.command
    raise CliError(f"kctl {name} is not supported yet: it needs a WebSocket stream to the pod, "
                   "and kctl has no WebSocket client. The API server serves the stream: use "
                   f"kubectl {name} with the same kubeconfig.")
