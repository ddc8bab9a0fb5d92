"""``kctl get -w`` on a terminal: one table kept up to date in place.

Piped (or with ``NO_COLOR``), ``get -w`` appends a row per change as kubectl does; on a
terminal :class:`LiveTable` keeps one row per object instead (rich's ``Live``): a change
rewrites the object's row, a new object adds one, a deleted one disappears.  The rows are
kubectl's columns (the caller's ``lines`` function lays them out); the row changed last
is bold.  When the watch ends (or Ctrl-C) the last frame stays on the screen.

rich is imported only here, and this module only on a terminal.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from jetkube.schemas.objects import Obj

if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live

__all__ = ["Lines", "LiveTable"]

Lines = Callable[[list[Obj], bool], list[str]]
"""The table's lines for these objects (with the header row when the flag is set)."""


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class LiveTable:
    """The objects seen so far, one row each, redrawn on every change."""

    def __init__(self, lines: Lines, *, headers: bool) -> None:
        from rich.console import Console
        from rich.live import Live

        self._lines = lines
        self._headers = headers
        self._rows: dict[tuple[str, str], Obj] = {}
        self._last: tuple[str, str] | None = None
        console = Console(highlight=False, markup=False, emoji=False)
        self._live: Live = Live(get_renderable=self._render, console=console,
                                auto_refresh=False, transient=False)
        self._live.start()

    def put(self, event_type: str, obj: Obj) -> None:
        """Apply one watch event (``ADDED``, ``MODIFIED``, ``DELETED``)."""
        key = _key(obj)
        if event_type == "DELETED":
            self._rows.pop(key, None)
            self._last = None if self._last == key else self._last
        else:
            self._rows[key] = obj
            self._last = key
        self._live.refresh()

    def put_all(self, objs: list[Obj]) -> None:
        """The listed objects, before the watch."""
        for obj in objs:
            self._rows[_key(obj)] = obj
        self._live.refresh()

    def _render(self) -> RenderableType:
        from rich.text import Text

        objs = list(self._rows.values())
        if not objs:
            return Text("")
        lines = self._lines(objs, self._headers)
        text = Text(no_wrap=True, overflow="crop")
        first = len(lines) - len(objs)  # the header row, if any
        for i, line in enumerate(lines):
            if i:
                text.append("\n")
            changed = i >= first and _key(objs[i - first]) == self._last
            text.append(line, style="bold" if changed else "")
        return text

    def close(self) -> None:
        """Leave the last frame on the screen."""
        self._live.stop()
