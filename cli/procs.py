"""Processes ``kctl up`` starts and ``kctl down`` stops, identified safely.

A process is started detached (its own session, output to a log file, stdin
from /dev/null) so it outlives kctl.  It is recorded by PID together with
its command line and start time as read from ``/proc``; before signalling a
recorded PID we check both still match, so a recycled PID is never touched.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jetkube.schemas import format_time

_children: list[subprocess.Popen[bytes]] = []  # keep Popen objects alive (no GC warnings)


@dataclass
class ProcRecord:
    component: str
    name: str
    index: int
    pid: int
    argv: list[str]
    cmdline: list[str] = field(default_factory=list)
    start_ticks: int | None = None
    log: str = ""
    endpoint: str = ""
    started: str = ""
    env: dict[str, str] = field(default_factory=dict)
    """Its environment beyond the cluster's (its own credentials): what a restart needs."""
    restarts: int = 0
    """How many times the supervisor started it again after it died."""
    last_exit: str = ""
    """When it last died (the supervisor's note), empty if never."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ProcRecord:
        return cls(component=str(d["component"]), name=str(d.get("name", d["component"])),
                   index=int(d.get("index", 0)), pid=int(d["pid"]),
                   argv=[str(a) for a in d.get("argv", [])],
                   cmdline=[str(a) for a in d.get("cmdline", [])],
                   start_ticks=d.get("start_ticks"), log=str(d.get("log", "")),
                   endpoint=str(d.get("endpoint", "")), started=str(d.get("started", "")),
                   env={str(k): str(v) for k, v in (d.get("env") or {}).items()},
                   restarts=int(d.get("restarts", 0)), last_exit=str(d.get("last_exit", "")))


def read_cmdline(pid: int) -> list[str] | None:
    """The process's argv from /proc (None if it does not exist or is a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    if not raw:
        return None  # zombies and kernel threads have no command line
    return raw.rstrip(b"\0").decode(errors="replace").split("\0")


def read_start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat: when the process started (clock ticks since boot)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2:].split()
    if rest and rest[0] == "Z":
        return None
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


def is_ours(rec: ProcRecord) -> bool:
    """Is ``rec.pid`` still the process we started (same command line, same start time)?"""
    cmd = read_cmdline(rec.pid)
    if cmd is None:
        return False
    # a script runs through its interpreter: what we asked for is the tail
    same = cmd == rec.cmdline or (bool(rec.argv) and cmd[-len(rec.argv):] == rec.argv)
    if not same:
        return False
    if rec.start_ticks is not None:
        return read_start_ticks(rec.pid) == rec.start_ticks
    return True


def alive(pid: int) -> bool:
    _reap(pid)
    return read_cmdline(pid) is not None


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child (tests run kctl in-process)."""
    for p in _children:
        if p.pid == pid:
            p.poll()
            return
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def spawn(argv: list[str], *, log: Path, env: dict[str, str], cwd: Path) -> tuple[int, list[str],
                                                                                   int | None]:
    """Start ``argv`` detached; returns pid, its /proc command line and start time."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n--- {now_iso()} kctl up: {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True, close_fds=True)
    _children.append(proc)
    # exec has happened, but the new image's arguments may not be mapped yet: wait for them
    cmdline = None
    for _ in range(200):
        cmdline = read_cmdline(proc.pid)
        if cmdline or proc.poll() is not None:
            break
        time.sleep(0.005)
    return proc.pid, cmdline or list(argv), read_start_ticks(proc.pid)


def exit_code(pid: int) -> int | None:
    """The exit code of a child we started in this process, if it has exited."""
    for p in _children:
        if p.pid == pid:
            return p.poll()
    return None


def stop(rec: ProcRecord, timeout: float = 10.0) -> str:
    """SIGTERM, wait, SIGKILL after ``timeout``; only if ``rec`` is still ours."""
    if not alive(rec.pid):
        return "not running"
    if not is_ours(rec):
        return "left alone: the PID now belongs to another command"
    os.kill(rec.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(rec.pid):
            return "stopped"
        time.sleep(0.05)
    if is_ours(rec):
        os.kill(rec.pid, signal.SIGKILL)
        for _ in range(100):
            if not alive(rec.pid):
                break
            time.sleep(0.05)
        return f"killed (did not stop within {timeout:.0f}s of SIGTERM)"
    return "stopped"


def port_in_use(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def tail(path: Path, lines: int = 15) -> str:
    try:
        data = path.read_bytes()[-16384:]
    except OSError:
        return ""
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def now_iso() -> str:
    return format_time(datetime.now(UTC))
