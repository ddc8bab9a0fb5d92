"""Reading manifests for ``-f``: files, directories, or ``-`` (stdin).

Multi-document YAML, JSON, and ``kind: List`` / ``*List`` documents are
flattened into one object per entry.  Directories read their ``.yaml``,
``.yml`` and ``.json`` files (sorted; sub-directories with ``-R``, as kubectl
does).  A parse error names the file and the line.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .errors import CliError

EXTENSIONS = (".yaml", ".yml", ".json")


@dataclass
class Manifest:
    obj: dict[str, Any]
    source: str  # the file name, or "STDIN"

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "")

    @property
    def namespace(self) -> str:
        return str((self.obj.get("metadata") or {}).get("namespace") or "")


def _files(arg: str, recursive: bool) -> list[Path]:
    p = Path(arg).expanduser()
    if p.is_dir():
        pattern = "**/*" if recursive else "*"
        return sorted(f for f in p.glob(pattern) if f.is_file() and f.suffix in EXTENSIONS)
    if not p.exists():
        raise CliError(f'the path "{arg}" does not exist')
    return [p]


def parse(text: str, source: str) -> list[Manifest]:
    """Every object of one YAML/JSON stream, lists flattened."""
    out: list[Manifest] = []
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as e:
        raise CliError(f"error parsing {source}: {_yaml_message(e)}") from None
    for doc in docs:
        if doc is None:
            continue
        _collect(doc, source, out)
    return out


def _yaml_message(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    problem = getattr(e, "problem", None) or str(e)
    context = getattr(e, "context", None)
    where = f"line {mark.line + 1}: " if mark is not None else ""
    text = f"{context}, {problem}" if context else str(problem)
    return f"error converting YAML to JSON: yaml: {where}{text}"


def _collect(doc: Any, source: str, out: list[Manifest]) -> None:
    if not isinstance(doc, dict):
        raise CliError(f'error validating "{source}": error validating data: '
                       f"the document is a {type(doc).__name__}, not an object")
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        for item in doc["items"]:
            _collect(item, source, out)
        return
    missing = [f for f in ("apiVersion", "kind") if not doc.get(f)]
    if missing:
        raise CliError(f'error validating "{source}": error validating data: '
                       f"[{', '.join(m + ' not set' for m in missing)}]")
    out.append(Manifest(doc, source))


def load(filenames: Iterable[str], *, recursive: bool = False,
         verb: str = "apply") -> list[Manifest]:
    """Every object named by the ``-f`` arguments, in order."""
    out: list[Manifest] = []
    names = list(filenames)
    if not names:
        raise CliError("must specify one of -f and -k")
    for arg in names:
        if arg == "-":
            out.extend(parse(sys.stdin.read(), "STDIN"))
            continue
        for f in _files(arg, recursive):
            try:
                text = f.read_text()
            except OSError as e:
                raise CliError(f"error reading {f}: {e.strerror}") from None
            out.extend(parse(text, str(f)))
    if not out:
        raise CliError(f"no objects passed to {verb}")
    return out
