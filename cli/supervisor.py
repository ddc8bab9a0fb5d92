"""The supervisor of a ``kctl up`` cluster: a process that died is started again.

Like systemd's ``Restart=on-failure``: ``kctl up`` starts this as one more detached
process (``python -m jetkube.cli.supervisor DIR``, recorded in ``DIR/cluster.json`` as
``supervisor``).  It watches every recorded process through a pidfd (readable when the
process exits: a watch, no polling), and when one dies it waits out a backoff and
starts the same command again (same argv, log file and own environment, over the
cluster's coordinates), recording the new PID, ``restarts`` + 1 and ``last_exit``, which
``kctl cluster-info`` shows.

Backoff: :attr:`RestartPolicy.first_delay` after the first death, doubling per death
up to :attr:`RestartPolicy.max_delay`; a process that ran :attr:`RestartPolicy.stable_after`
seconds before dying starts the count again.  It restarts only what it recorded; it
never signals anything.  ``DIR/cluster.json`` is shared with ``kctl up`` and ``kctl
down`` through a lock (:func:`.up.state_lock`): a restart never races an ``up``, and
``kctl down`` stops the supervisor first.  SIGHUP (sent by ``kctl up``) makes it read
the table again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .procs import ProcRecord, alive, is_ours, now_iso
from .up import SUPERVISOR, launch, load_state, save_state, state_lock

log = logging.getLogger("jetkube.supervisor")


@dataclass(frozen=True)
class RestartPolicy:
    first_delay: float = 1.0
    """Seconds before the first restart of a process that died."""
    max_delay: float = 30.0
    """The longest wait between restarts (the delay doubles per quick death)."""
    stable_after: float = 60.0
    """A process that ran this long before dying is restarted after ``first_delay`` again."""

    def delay(self, quick_deaths: int) -> float:
        """The wait before a restart, after ``quick_deaths`` deaths in a row (1, 2, …)."""
        return float(min(self.max_delay, self.first_delay * 2 ** max(quick_deaths - 1, 0)))


@dataclass
class _Watched:
    pid: int
    since: float
    fd: int | None = None


@dataclass
class Supervisor:
    data_dir: Path
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    _watched: dict[str, _Watched] = field(default_factory=dict)
    _quick: dict[str, int] = field(default_factory=dict)
    _pending: set[str] = field(default_factory=set)
    _rescan: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self._rescan.set)
        self._rescan.set()
        while True:
            await self._rescan.wait()
            self._rescan.clear()
            await self.scan()

    async def scan(self) -> None:
        """Watch every recorded process; restart the ones already gone."""
        records = await asyncio.to_thread(self._load)
        for rec in records:
            w = self._watched.get(rec.name)
            if w is not None and w.pid == rec.pid:
                continue
            self._unwatch(rec.name)
            if alive(rec.pid) and is_ours(rec):
                self._watch(rec)
            else:
                self._died(rec.name, rec.pid, ran=0.0)

    def _load(self) -> list[ProcRecord]:
        with state_lock(self.data_dir):
            state = load_state(self.data_dir)
        return [r for r in (state.processes if state else []) if r.component != SUPERVISOR]

    def _watch(self, rec: ProcRecord) -> None:
        w = _Watched(rec.pid, time.monotonic())
        self._watched[rec.name] = w
        try:
            w.fd = os.pidfd_open(rec.pid)
        except ProcessLookupError:  # gone between the check and now
            self._died(rec.name, rec.pid, ran=0.0)
            return
        asyncio.get_running_loop().add_reader(w.fd, self._exited, rec.name, w)

    def _unwatch(self, name: str) -> None:
        w = self._watched.pop(name, None)
        if w is not None and w.fd is not None:
            asyncio.get_running_loop().remove_reader(w.fd)
            os.close(w.fd)

    def _exited(self, name: str, w: _Watched) -> None:
        ran = time.monotonic() - w.since
        self._unwatch(name)
        self._died(name, w.pid, ran=ran)

    def _died(self, name: str, pid: int, *, ran: float) -> None:
        if name in self._pending:
            return
        quick = 1 if ran >= self.policy.stable_after else self._quick.get(name, 0) + 1
        self._quick[name] = quick
        delay = self.policy.delay(quick)
        log.warning("%s (pid %d) exited after %.1fs; starting it again in %.1fs", name, pid,
                    ran, delay)
        self._pending.add(name)
        asyncio.get_running_loop().create_task(self._restart(name, pid, delay))

    async def _restart(self, name: str, pid: int, delay: float) -> None:
        try:
            await asyncio.sleep(delay)
            rec = await asyncio.to_thread(self._relaunch, name, pid)
        finally:
            self._pending.discard(name)
        if rec is not None:
            log.warning("%s started again: pid %d (restart %d)", name, rec.pid, rec.restarts)
        self._rescan.set()  # watch the new process (or whatever the table now holds)

    def _relaunch(self, name: str, pid: int) -> ProcRecord | None:
        """Start ``name`` again unless the table moved on (another PID, or it is gone)."""
        with state_lock(self.data_dir):
            state = load_state(self.data_dir)
            if state is None:
                return None
            i, rec = next(((i, r) for i, r in enumerate(state.processes) if r.name == name),
                          (-1, None))
            if rec is None or rec.pid != pid or (alive(rec.pid) and is_ours(rec)):
                return None
            new = launch(rec, state.plan)
            new.restarts = rec.restarts + 1
            new.last_exit = f"pid {pid} exited before {now_iso()}"
            state.processes[i] = new
            save_state(state)
            return new


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m jetkube.cli.supervisor DATA_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(Supervisor(Path(args[0])).run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
