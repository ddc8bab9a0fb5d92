"""What ``kctl up`` and ``kctl down`` are doing while they do it.

:mod:`jetkube.cli.up` reports a :class:`Step` each time a component starts, is still being
waited for (and why: the health check's own words), becomes healthy, or is stopped.  Two
renderers, both on stderr (stdout keeps the summary table, for scripts):

- :class:`LiveProgress` on a terminal: one row per component with a spinner while it starts
  or stops, then its outcome and how long it took (rich's ``Live``; the last frame stays on
  the screen);
- :class:`PlainProgress` when stderr is piped or ``NO_COLOR`` is set: one line when a
  component starts, when the reason it is not healthy yet changes, and when it is done.

:func:`for_terminal` picks one.  rich is imported only by the live renderer.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TextIO

from .console import rich_terminal

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.live import Live

__all__ = ["LiveProgress", "PlainProgress", "Report", "Step", "for_terminal"]

Phase = Literal["starting", "waiting", "healthy", "stopping", "stopped"]


@dataclass(frozen=True)
class Step:
    """One thing that happened to one component process."""

    name: str
    """The process name (``nats``, ``apiserver-2``, ``kubelet-node-1``)."""
    phase: Phase
    detail: str = ""
    """``waiting``: what its health check still says; ``stopped``: the outcome
    (``stopped``, ``killed (…)``, ``left alone: …``)."""
    seconds: float | None = None
    """``healthy``/``stopped``: since it was started or signalled."""


Report = Callable[[Step], None]


def _took(step: Step) -> str:
    return f" in {step.seconds:.1f}s" if step.seconds is not None else ""


class PlainProgress:
    """One line per change, for logs and pipes."""

    def __init__(self, file: TextIO | None = None) -> None:
        self._file = file
        self._waiting: dict[str, str] = {}

    def __call__(self, step: Step) -> None:
        if step.phase == "waiting":
            if self._waiting.get(step.name) == step.detail:
                return
            self._waiting[step.name] = step.detail
            line = f"{step.name}: waiting ({step.detail})"
        elif step.phase == "healthy":
            line = f"{step.name}: healthy{_took(step)}"
        elif step.phase == "stopped":
            line = f"{step.name}: {step.detail or 'stopped'}{_took(step)}"
        else:
            line = f"{step.name}: {step.phase}"
        file = self._file or sys.stderr
        file.write(line + "\n")
        file.flush()

    def close(self) -> None:
        """Nothing to end: every line is written when it happens."""


class LiveProgress:
    """A live table on a terminal: a spinner per component still starting or stopping."""

    def __init__(self, console: Console | None = None, file: TextIO | None = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self._rows: dict[str, Step] = {}
        self._since: dict[str, float] = {}
        self._console = console or Console(file=file or sys.stderr, highlight=False)
        self._live: Live = Live(get_renderable=self._render, console=self._console,
                                refresh_per_second=8, transient=False)
        self._live.start()

    def __call__(self, step: Step) -> None:
        if step.phase in ("starting", "stopping"):
            self._since[step.name] = time.monotonic()
        self._rows[step.name] = step
        self._live.refresh()

    def _render(self) -> RenderableType:
        from rich.spinner import Spinner
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        for name, step in self._rows.items():
            if step.phase in ("healthy", "stopped"):
                ok = step.phase == "healthy" or step.detail in ("", "stopped", "not running")
                mark = "[green]✓[/]" if ok else "[yellow]![/]"
                what = "healthy" if step.phase == "healthy" else (step.detail or "stopped")
                table.add_row(mark, name, f"{what}{_took(step)}")
            else:
                elapsed = time.monotonic() - self._since.get(name, time.monotonic())
                what = step.phase if step.phase != "waiting" else f"starting: {step.detail}"
                table.add_row(Spinner("dots", style="cyan"), name, f"{what} ({elapsed:.0f}s)")
        return table

    def close(self) -> None:
        """Leave the last frame on the screen."""
        self._live.stop()


def for_terminal(file: TextIO | None = None) -> LiveProgress | PlainProgress:
    """The live table when ``file`` (stderr) is a terminal and colour is allowed, else plain
    lines."""
    file = file or sys.stderr
    if rich_terminal(file):
        return LiveProgress(file=file)
    return PlainProgress(file)
