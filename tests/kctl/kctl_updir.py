"""Test helper for the ``kctl up`` tests that run real processes (not a test module):
free ports for a cluster, and killing whatever a data dir recorded, so no test leaves a
process behind whatever it did."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from jetkube.cli import up as upmod
from jetkube.cli.procs import alive
from jetkube.services.machinery.store import free_port


def up_ports() -> list[str]:
    """``--port``, ``--nats-port`` and ``--nats-monitor-port`` flags, each a free port."""
    return ["--port", str(free_port()), "--nats-port", str(free_port()),
            "--nats-monitor-port", str(free_port())]


def kill_recorded(data_dir: Path) -> None:
    """SIGKILL every live process ``data_dir`` records, the supervisor first (it would
    start the others again)."""
    state = upmod.load_state(data_dir)
    for rec in sorted(state.processes if state else [], key=lambda r: r.name != "supervisor"):
        if alive(rec.pid):
            os.kill(rec.pid, signal.SIGKILL)
