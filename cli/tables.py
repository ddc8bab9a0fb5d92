"""kubectl's plain column layout for kctl's tables (``get``, ``describe``, ``config``…).

The columns and cells of ``kctl get`` per kind live with the API server's Tables in
:mod:`jetkube.services.machinery.printers` (one table for both); :func:`render` lays
rows out in kubectl's plain columns (no borders), so output stays parseable.
"""

from __future__ import annotations


def column_widths(headers: list[str], rows: list[list[str]],
                  at_least: list[int] | None = None, *, pad: int = 3,
                  min_width: int = 6) -> list[int]:
    """Each column's cell width: longest cell + 3 spaces, at least 6 (kubectl's tabwriter)."""
    n = max([len(headers)] + [len(r) for r in rows])
    w = [len(h) for h in headers] + [0] * (n - len(headers))
    for r in rows:
        for i, cell in enumerate(r):
            w[i] = max(w[i], len(cell))
    w = [max(x + pad, min_width) for x in w]
    if at_least:
        w = [max(x, at_least[i]) if i < len(at_least) else x for i, x in enumerate(w)]
    return w


def render(headers: list[str], rows: list[list[str]], *, show_headers: bool = True,
           widths: list[int] | None = None, pad: int = 3, min_width: int = 6) -> list[str]:
    """kubectl's plain column layout: left-aligned, at least three spaces between columns."""
    shown = ([headers] if show_headers and headers else []) + rows
    w = widths or column_widths(headers if show_headers else [], rows, pad=pad,
                                min_width=min_width)
    lines = []
    for r in shown:
        cells = [c.ljust(w[i]) if i < len(r) - 1 and i < len(w) else c for i, c in enumerate(r)]
        lines.append("".join(cells))
    return lines
