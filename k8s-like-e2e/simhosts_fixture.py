"""Test helper (not a test module): simulated hosts for a test module's fixture.

    @pytest.fixture(scope="module")
    def hosts() -> Iterator[SimHosts]:
        yield from sim_hosts_or_skip(2)

Skips without root or the commands the hosts need (fails instead when CI is set) and
removes the hosts on teardown; hosts left by a test process that died are removed by the
next one (``reap_orphans``).  The layout is in simhosts.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from simhosts import SimHosts
from simhosts_plan import STATE_FILE, parse_state, state_owner

__all__ = ["missing_for_sim_hosts", "new_sim_scope", "reap_orphans", "short_dir", "sim_hosts_or_skip",
           "skip_unless_sim_hosts"]

COMMANDS = ("ip", "dockerd", "unshare", "nsenter", "umount")


def missing_for_sim_hosts() -> str | None:
    """None when this process can make sim hosts, else why not."""
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        return "simulated hosts need root (network namespaces, dockerd)"
    missing = [c for c in COMMANDS if shutil.which(c) is None]
    if missing:
        return f"simulated hosts need {', '.join(missing)} (Debian: iproute2, docker.io, util-linux)"
    return None


def skip_unless_sim_hosts() -> None:
    why = missing_for_sim_hosts()
    if why is None:
        return
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{why}; CI is set, so the simulated-host tests must run")
    pytest.skip(why)


def new_sim_scope() -> str:
    """A scope of a test's own (names of namespaces and links; 7 characters)."""
    return "t" + uuid.uuid4().hex[:6]


def short_dir(scope: str) -> Path:
    """A directory for the hosts' files: short, as dockerd's sockets live under it (pytest's
    tmp_path is too long for the managed containerd's socket); ``down`` removes it."""
    return Path(tempfile.mkdtemp(prefix=f"jks-{scope}-"))


def reap_orphans(tmp: Path | None = None) -> list[Path]:
    """Remove the hosts of test processes that died without tearing theirs down (their
    state file names an owner PID that no longer runs); the directories reaped."""
    reaped = []
    for state in Path(tmp or tempfile.gettempdir()).glob(f"jks-*/{STATE_FILE}"):
        try:
            text = state.read_text()
            owner = state_owner(text)
            scope = parse_state(text, state.parent)[0]
        except (OSError, ValueError, KeyError):
            continue
        if owner is not None and not Path(f"/proc/{owner}").exists():
            SimHosts(0, scope, state.parent).down()
            reaped.append(state.parent)
    return reaped


def sim_hosts_or_skip(n: int) -> Iterator[SimHosts]:
    """``n`` sim hosts of a new scope, owned by this process (removed on teardown, or by
    a later run's ``reap_orphans`` when this process dies first)."""
    skip_unless_sim_hosts()
    reap_orphans()
    scope = new_sim_scope()
    with SimHosts(n, scope, short_dir(scope), owner=os.getpid()) as hosts:
        yield hosts
