"""Go's ``text/tabwriter``, as kubectl's describers use it.

kubectl writes a whole description through one ``tabwriter.Writer`` initialised with
``(minwidth 0, tabwidth 8, padding 2, padchar ' ', flags 0)``.  Text is cut into cells,
each terminated by a tab; the text after a line's last tab is that line's trailing
cell and takes no part in alignment.  A *column block* is a run of consecutive lines
that all have a (tab-terminated) cell in that column: every cell of the block is
padded to the block's widest cell plus the padding.  Blocks nest from left to right,
exactly as Go's ``format`` recursion does.  A line with no tab flushes what is
buffered (it ends every block anyway).  Widths count characters (runes), as Go does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["TabWriter", "tabbed"]


@dataclass
class _Cell:
    text: str
    htab: bool = False


@dataclass
class TabWriter:
    """``tabwriter.NewWriter(out, minwidth, tabwidth, padding, padchar, 0)`` for a padchar
    other than a tab (the tabwidth then plays no part); ``write`` text, ``flush``, and read
    what was written with :meth:`getvalue`.  Go's flags (AlignRight, Debug, FilterHTML...)
    are not emulated: kubectl uses none."""

    minwidth: int = 0
    padding: int = 2
    padchar: str = " "
    _lines: list[list[_Cell]] = field(default_factory=lambda: [[]])
    _cell: list[str] = field(default_factory=list)
    _out: list[str] = field(default_factory=list)
    _widths: list[int] = field(default_factory=list)

    def write(self, text: str) -> None:
        start = 0
        for i, ch in enumerate(text):
            if ch not in "\t\v\n\f":
                continue
            self._cell.append(text[start:i])
            start = i + 1
            ncells = self._terminate_cell(ch == "\t")
            if ch in "\n\f":
                self._lines.append([])
                if ch == "\f" or ncells == 1:
                    # a line of one cell does not affect the following lines' format
                    self.flush()
        self._cell.append(text[start:])

    def _terminate_cell(self, htab: bool) -> int:
        line = self._lines[-1]
        line.append(_Cell("".join(self._cell), htab))
        self._cell = []
        return len(line)

    def flush(self) -> None:
        """Format and emit everything buffered (Go's ``Flush``)."""
        if "".join(self._cell):
            self._terminate_cell(False)
        self._format(0, len(self._lines))
        self._lines = [[]]
        self._cell = []

    def getvalue(self) -> str:
        return "".join(self._out)

    def _format(self, line0: int, line1: int) -> None:
        column = len(self._widths)
        this = line0
        while this < line1:
            if column >= len(self._lines[this]) - 1:
                this += 1
                continue
            # a cell in this column: the lines above, not part of the block, go out first
            self._write_lines(line0, this)
            line0 = this
            width = self.minwidth
            while this < line1:
                line = self._lines[this]
                if column >= len(line) - 1:
                    break
                width = max(width, len(line[column].text) + self.padding)
                this += 1
            self._widths.append(width)
            self._format(line0, this)
            self._widths.pop()
            line0 = this
        self._write_lines(line0, line1)

    def _write_lines(self, line0: int, line1: int) -> None:
        for i in range(line0, line1):
            line = self._lines[i]
            for j, c in enumerate(line):
                self._out.append(c.text)
                if j < len(self._widths):
                    self._out.append(self.padchar * (self._widths[j] - len(c.text)))
            if i + 1 < len(self._lines):
                self._out.append("\n")


def tabbed(text: str, *, padding: int = 2) -> str:
    """``text`` through a fresh writer, flushed (kubectl's ``tabbedString``)."""
    tw = TabWriter(padding=padding)
    tw.write(text)
    tw.flush()
    return tw.getvalue()
