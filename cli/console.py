"""Where kctl writes: rich consoles for stdout and stderr.

Tables and machine formats go to stdout unstyled and unwrapped so they stay
parseable when piped; errors and progress go to stderr.  Consoles are created
per call so they pick up the current ``sys.stdout`` (tests capture it).
"""

from __future__ import annotations

import sys

from rich.console import Console


def out() -> Console:
    return Console(file=sys.stdout, soft_wrap=True, highlight=False, markup=False,
                   emoji=False)


def err() -> Console:
    return Console(file=sys.stderr, soft_wrap=True, highlight=False, markup=False,
                   emoji=False)


def echo(text: str = "") -> None:
    """One line (or block) of plain output on stdout."""
    out().print(text)


def echo_err(text: str) -> None:
    err().print(text)


def styled(text: str, style: str) -> None:
    """Styled text on stdout (colour only on terminals)."""
    out().print(text, style=style)
