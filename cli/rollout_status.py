"""What ``kctl rollout status`` shows while it follows a rollout.

:func:`status_view` picks one of two views; the watch loop in
:mod:`jetkube.cli.commands.rollout` hands each version of the object and kubectl's
status line for it to :meth:`show`, and calls :meth:`close` at the end (also on errors).

- :class:`PlainStatus` (piped, ``NO_COLOR``, ``TERM=dumb``): kubectl's lines, each
  printed once when it changes, the last one being kubectl's final line;
- :class:`LiveStatus` (a terminal): rich's ``Live`` with kubectl's current line behind a
  spinner and a progress bar per ReplicaSet of a Deployment (the new one: ready of
  desired, with how many are updated; each old one: how many of its replicas are left),
  or one bar for a DaemonSet or StatefulSet.  When the rollout is done the last frame
  stays and kubectl's final line follows it.

rich is imported only by the live view, so a piped ``rollout status`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from jetkube.schemas.objects import Obj

from .console import echo, rich_terminal
from .rollouts import Fetch, owned_replicasets, split_replicasets

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

__all__ = ["Bar", "LiveStatus", "PlainStatus", "StatusView", "bars", "status_view"]


class StatusView(Protocol):
    def show(self, obj: Obj, message: str, done: bool) -> None: ...

    def close(self) -> None: ...


class PlainStatus:
    """kubectl's progress lines; consecutive identical lines are printed once."""

    def __init__(self) -> None:
        self._last = ""

    def show(self, obj: Obj, message: str, done: bool) -> None:
        if message != self._last:
            echo(message)
            self._last = message

    def close(self) -> None:
        """Every line was printed when it came."""


@dataclass(frozen=True)
class Bar:
    """One progress bar: ``label`` at ``completed`` of ``total``, with ``detail`` after it."""

    label: str
    completed: int
    total: int
    detail: str


def _int(v: object, default: int = 0) -> int:
    try:
        return int(v) if v is not None else default  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return default


def _name(o: Obj) -> str:
    return str((o.get("metadata") or {}).get("name") or "")


def _desired(o: Obj) -> int:
    return _int((o.get("spec") or {}).get("replicas"), 1)


def _deployment_bars(d: Obj, rss: list[Obj], peak: dict[str, int]) -> list[Bar]:
    """The new ReplicaSet (ready and updated of the Deployment's desired replicas) and each
    old one still running pods (drained of the most it was seen with: ``peak``)."""
    new, _, old = split_replicasets(d, rss)
    want = _desired(d)
    out: list[Bar] = []
    if new is None:
        out.append(Bar("new ReplicaSet", 0, want, "not created yet"))
    else:
        st = new.get("status") or {}
        updated = _int((d.get("status") or {}).get("updatedReplicas"))
        ready = _int(st.get("readyReplicas"))
        out.append(Bar(_name(new), min(ready, want), want,
                       f"{updated}/{want} updated, {ready}/{want} ready"))
    for rs in old:
        left = max(_int((rs.get("status") or {}).get("replicas")),
                   _int((rs.get("spec") or {}).get("replicas"), 0))
        name = _name(rs)
        peak[name] = max(peak.get(name, 0), left)
        if peak[name] == 0:
            continue  # an old ReplicaSet that had no pods while we watched
        out.append(Bar(name, peak[name] - left, peak[name],
                       f"{left} replica{'s' if left != 1 else ''} left"))
    return out


def bars(kind: str, obj: Obj, rss: list[Obj], peak: dict[str, int]) -> list[Bar]:
    """The bars for this version of a Deployment (with its ReplicaSets), DaemonSet or
    StatefulSet."""
    st = obj.get("status") or {}
    if kind == "Deployment":
        return _deployment_bars(obj, rss, peak)
    if kind == "DaemonSet":
        want = _int(st.get("desiredNumberScheduled"))
        updated, avail = _int(st.get("updatedNumberScheduled")), _int(st.get("numberAvailable"))
        return [Bar(_name(obj), min(avail, want), want,
                    f"{updated}/{want} updated, {avail}/{want} available")]
    want = _desired(obj)
    updated, ready = _int(st.get("updatedReplicas")), _int(st.get("readyReplicas"))
    return [Bar(_name(obj), min(ready, want), want,
                f"{updated}/{want} updated, {ready}/{want} ready")]


class LiveStatus:
    """A live display on the terminal: spinner and kubectl's line, then a bar per
    ReplicaSet."""

    def __init__(self, fetch: Fetch, kind: str) -> None:
        from rich.console import Console
        from rich.live import Live

        self._fetch, self._kind = fetch, kind
        self._message = ""
        self._done = False
        self._final = ""
        self._bars: list[Bar] = []
        self._rss: list[Obj] = []
        self._peak: dict[str, int] = {}
        console = Console(highlight=False, markup=False, emoji=False)
        self._live: Live = Live(get_renderable=self._render, console=console,
                                refresh_per_second=8, transient=False)
        self._live.start()

    def show(self, obj: Obj, message: str, done: bool) -> None:
        if self._kind == "Deployment":
            try:
                self._rss = owned_replicasets(self._fetch, obj)
            except Exception:  # the bars are a nicety: keep the last ones on a failed list
                pass
        self._bars = bars(self._kind, obj, self._rss, self._peak)
        self._message, self._done = message, done
        if done:
            self._final = message
        self._live.refresh()

    def _render(self) -> RenderableType:
        from rich.progress_bar import ProgressBar
        from rich.spinner import Spinner
        from rich.table import Table

        rows = Table.grid(padding=(0, 2))
        for b in self._bars:
            total = max(b.total, 1)
            bar = ProgressBar(total=total, completed=b.completed if b.total else total, width=30,
                              complete_style="cyan", finished_style="green")
            rows.add_row(b.label, bar, b.detail)
        if self._done or not self._message:
            return rows
        grid = Table.grid(padding=(0, 2))
        grid.add_row(Spinner("dots", style="cyan"), self._message)
        if self._bars:
            grid.add_row("", rows)
        return grid

    def close(self) -> None:
        """Leave the last frame on the screen, then kubectl's final line (when done)."""
        self._live.stop()
        if self._final:
            echo(self._final)


def status_view(fetch: Fetch, kind: str) -> StatusView:
    """The live display of a ``kind`` rollout on a terminal (colour allowed), else kubectl's
    plain lines."""
    if rich_terminal():
        return LiveStatus(fetch, kind)
    return PlainStatus()
