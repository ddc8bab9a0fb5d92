"""Where kctl writes: rich consoles for stdout and stderr.

Tables and machine formats go to stdout unstyled and unwrapped so they stay
parseable when piped; errors and progress go to stderr.  Consoles are created
per call so they pick up the current ``sys.stdout`` (tests capture it).

rich is imported only for styled output or unusual text: plain printable text
(the common case: tables, names, documents) is written as rich would write it,
which keeps ``kctl get`` from loading rich at all.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.console import Console


def _console(file: TextIO) -> Console:
    from rich.console import Console

    return Console(file=file, soft_wrap=True, highlight=False, markup=False, emoji=False)


def rich_terminal(file: TextIO | None = None) -> bool:
    """Whether ``file`` (stdout) is a terminal that may get live displays and colour: not
    piped, no ``NO_COLOR``, not ``TERM=dumb``.  Otherwise output is kubectl's plain text."""
    f = file or sys.stdout
    try:
        tty = f.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False
    return tty and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def out() -> Console:
    return _console(sys.stdout)


def err() -> Console:
    return _console(sys.stderr)


def _plain(text: str) -> bool:
    """Whether rich would print ``text`` unchanged (it expands tabs by cell width and strips
    the control codes BEL, BS, VT, FF and CR: such text goes through rich)."""
    return "\t" not in text and text.replace("\n", "").isprintable()


def _write(file: TextIO, text: str) -> None:
    if _plain(text):
        file.write(text + "\n")
        file.flush()  # as rich does after each print
    else:
        _console(file).print(text)


def echo(text: str = "") -> None:
    """One line (or block) of plain output on stdout."""
    _write(sys.stdout, text)


def echo_err(text: str) -> None:
    _write(sys.stderr, text)


def styled(text: str, style: str) -> None:
    """Styled text on stdout (colour only on terminals)."""
    out().print(text, style=style)
