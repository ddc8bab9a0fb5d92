"""Colour for ``kctl describe`` on a terminal: condition statuses and Warning events.

The describers write kubectl's plain text (byte for byte what is printed when piped or
with ``NO_COLOR``).  On a terminal :func:`spans` finds, in that text, the status of each
condition and each Warning event row, and :func:`print_coloured` prints the same text with
those spans coloured:

- a condition's status is green when it is the good value, red when it is the bad one,
  yellow when ``Unknown``.  For most conditions ``True`` is good (``Ready``,
  ``Available``, ``Progressing``); for the ones that name a problem (a Node's
  ``MemoryPressure``, ``DiskPressure``, ``PIDPressure``, ``NetworkUnavailable``, a
  Deployment's ``ReplicaFailure``, a Job's ``Failed``, a custom resource's
  ``Degraded``...) ``False`` is.  Conditions appear
  as tables (``Type  Status ...`` under ``Conditions:``) or, from the generic describer,
  as ``Type:``/``Status:`` lines;
- a ``Warning`` row of the Events table is yellow.

rich is imported only when printing to a terminal.
"""

from __future__ import annotations

import re

from .console import out

__all__ = ["BAD_WHEN_TRUE", "NEUTRAL", "Span", "condition_style", "print_coloured", "spans"]

Span = tuple[int, int, str]
"""(start, end, rich style) in the text."""

BAD_WHEN_TRUE = frozenset({
    "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable",  # Node
    "ReplicaFailure",  # Deployment, ReplicaSet
    "Failed", "FailureTarget",  # Job
    "DisruptionTarget",  # Pod
    "Terminating", "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionContentFailure",
    "NamespaceContentRemaining", "NamespaceFinalizersRemaining",  # Namespace
    "FileSystemResizePending", "Resizing",  # PersistentVolumeClaim
    "Degraded", "Stalled",  # common in operators' custom resources (kstatus)
})

NEUTRAL = frozenset({"Suspended"})


def condition_style(cond_type: str, status: str) -> str | None:
    """The colour of a condition's status, or None for a value that is not a status (or a
    condition that is neither good nor bad, such as a Job's ``Suspended``)."""
    if cond_type in NEUTRAL:
        return None
    if status == "Unknown":
        return "yellow"
    if status not in ("True", "False"):
        return None
    good = (status == "False") if cond_type in BAD_WHEN_TRUE else (status == "True")
    return "green" if good else "red"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


_KV = re.compile(r"^( *)([A-Za-z][A-Za-z ]*):( +)(\S.*)?$")


def _table_conditions(lines: list[tuple[int, str]], found: list[Span]) -> None:
    """``Type  Status  ...`` header, optional dashes, then a row per condition."""
    _, head = lines[0]
    col = head.find("Status")
    for start, line in lines[1:]:
        words = line.split()
        if not words or set(words[0]) == {"-"} or len(line) <= col:
            continue
        status = line[col:].split()[0] if line[col:].strip() else ""
        style = condition_style(words[0], status) if line[col - 1:col] == " " else None
        if style:
            found.append((start + col, start + col + len(status), style))


def _kv_conditions(lines: list[tuple[int, str]], found: list[Span]) -> None:
    """``Type: X`` / ``Status: Y`` lines, one group per condition (a group ends where a
    key repeats)."""
    group: dict[str, tuple[int, str]] = {}

    def flush() -> None:
        if "Type" in group and "Status" in group:
            start, status = group["Status"]
            style = condition_style(group["Type"][1], status)
            if style:
                found.append((start, start + len(status), style))
        group.clear()

    for start, line in lines:
        m = _KV.match(line)
        if not m or m.group(4) is None:
            continue
        key = m.group(2)
        if key in group:
            flush()
        offset = len(m.group(1)) + len(key) + 1 + len(m.group(3))
        group[key] = (start + offset, m.group(4).strip())
    flush()


def _events(lines: list[tuple[int, str]], found: list[Span]) -> None:
    for start, line in lines:
        if line.lstrip().startswith("Warning "):
            found.append((start + _indent(line), start + len(line), "yellow"))


def spans(text: str) -> list[Span]:
    """Where ``text`` (describe output) gets colour."""
    found: list[Span] = []
    rows: list[tuple[int, str]] = []
    pos = 0
    for line in text.split("\n"):
        rows.append((pos, line))
        pos += len(line) + 1
    i = 0
    while i < len(rows):
        _, line = rows[i]
        title = line.strip()
        if title not in ("Conditions:", "Events:"):
            i += 1
            continue
        level = _indent(line)
        j = i + 1
        while j < len(rows) and rows[j][1].strip() and _indent(rows[j][1]) > level:
            j += 1
        body = rows[i + 1:j]
        if body and title == "Events:":
            _events(body[1:], found)
        elif body and body[0][1].split()[:1] == ["Type"] and ":" not in body[0][1]:
            _table_conditions(body, found)
        elif body:
            _kv_conditions(body, found)
        i = j
    return found


def print_coloured(text: str) -> None:
    """``text`` on stdout (a terminal) with :func:`spans` coloured."""
    from rich.text import Text

    t = Text(text)
    for start, end, style in spans(text):
        t.stylize(style, start, end)
    out().print(t)
